//! The HTTP server behind `vodpack serve` (`server` feature), on hyper/axum: the routes
//! ([`serve`]), the token-checking origin's file serving ([`origin`]), the player page's
//! embedded files ([`player_assets`]), the JSON answers
//! (`response`) and the connection loop with its timeouts and cap (`listener`). The top room:
//! it uses all the others, none uses it.

mod listener;
pub mod origin;
pub mod player_assets;
mod response;
pub mod serve;
