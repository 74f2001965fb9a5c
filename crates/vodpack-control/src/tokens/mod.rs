//! What is signed and verified: HMAC claim tokens with key ids ([`signed`]), identity bearer
//! tokens ([`identity`]), vodpack's own edge tokens ([`edge_token`]) and the CDNs' native signed
//! URLs and cookies ([`cdn`]). This room imports nothing of the others.

pub mod cdn;
pub mod edge_token;
pub mod identity;
pub mod signed;
