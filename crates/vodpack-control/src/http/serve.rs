//! `vodpack serve`: the whole control plane over one packaged output directory, on hyper/axum.
//!
//! Routes (errors are JSON `{"error","reason","message"}`):
//! - `POST /v1/playback/start`, `POST /v1/licence/clearkey`, `POST /v1/playback/events`;
//! - `GET|HEAD /v/<asset_id>/tok=<token>/<path>`: the token-checking origin (also `?tok=` and the
//!   `tok` cookie), streaming files and ranges from disk (`crate::http::origin`), never the key
//!   manifest nor any non-media file;
//! - `GET /`: the player page (Shaka Player, dash.js or hls.js, embedded in the binary) that
//!   starts playback through the API, shows what plays and posts telemetry;
//!   `GET /player/lib/<file>`: its script, the players and their licences
//!   ([`super::player_assets`]), or a file of [`ServeConfig::player_dist_dir`].
//!
//! Safe to leave running (`docs/control-plane.md`, "Hardening"): requests whose `Host` is not the
//! server's own address or a configured public host are refused (DNS rebinding); the API, the
//! licence endpoint and the page answer cross-origin requests only for configured origins
//! (media and manifests answer any origin: they are encrypted and token-gated); the page's
//! identity token is minted only for a same-origin page load; connections have header, body,
//! idle and write-stall timeouts and a cap (`crate::http::listener`).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::{to_bytes, Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use crate::error::{Error, Result};
pub use crate::http::listener::Limits;
use crate::http::origin::{FileGate, MediaKinds};
use crate::http::response::{error_response, json_response};
use crate::playback::api::{
    unix_now, ApiError, ControlPlane, StaticCatalog, ASSET_PREFIX, CLEARKEY_LICENCE_PATH,
    EVENTS_PATH, MAX_REQUEST_BYTES, PLAYBACK_START_PATH, RAW_KEY_PATH_PREFIX,
};
use crate::playback::key_manifest::KeyManifest;
use crate::playback::policy::{FilePolicy, Policy, PolicyDoc, ReloadOptions};
use crate::telemetry::events::{Dedup, EventSink, RejectLimiter, MAX_BATCH_BYTES};
use crate::telemetry::ndjson::FileSink;
use crate::tokens::edge_token::EdgeAuth;
use crate::tokens::identity::IdentityVerifier;
use crate::tokens::signed::Keyring;

/// The key manifest's file name inside an output directory in versions before it moved beside
/// the directory ([`crate::playback::key_manifest::default_path`]); such a file is never served.
pub const KEY_MANIFEST_FILE: &str = "key-manifest.json";
/// The audience of identity tokens accepted by `vodpack serve`.
pub const SERVE_AUDIENCE: &str = "vodpack-serve";

/// Options of [`run`] / [`start`].
pub struct ServeConfig {
    /// The packaged output directory (the manifests and the renditions).
    pub out_dir: PathBuf,
    /// The key manifest; by default beside the output directory
    /// ([`crate::playback::key_manifest::default_path`], `<OUT>.keys.json`). Never served.
    pub key_manifest: PathBuf,
    /// A policy file (TOML if it ends in `.toml`, else JSON), reloaded when it changes; `None`
    /// uses the permissive default (every authenticated subject, everywhere).
    pub policy_path: Option<PathBuf>,
    /// How the policy file is watched.
    pub policy_reload: ReloadOptions,
    /// Address to bind; loopback by default.
    pub bind: IpAddr,
    /// Port; 0 picks a free one.
    pub port: u16,
    /// A folder whose `.js` files the player page loads instead of the embedded ones of the same
    /// name (e.g. another Shaka Player `dist/`); `None`: the embedded players only.
    pub player_dist_dir: Option<PathBuf>,
    /// The NDJSON telemetry file of the default sink; `None`: `vodpack-events.ndjson` in the
    /// output directory's parent.
    pub events_path: Option<PathBuf>,
    /// Another event sink (e.g. Kafka) instead of the NDJSON file.
    pub sink: Option<Arc<dyn EventSink>>,
    /// A request header trusted to carry the client's country (set by your edge), e.g.
    /// `X-Client-Country`; `None` takes the country from the request body.
    pub country_header: Option<String>,
    /// Subject of the identity token the player page is given (local use); `None` gives none.
    pub player_subject: Option<String>,
    /// Signing keys; `None` generates random ones for this run.
    pub keys: Option<ServeKeys>,
    /// Prefix of URLs in answers; empty for root-relative URLs.
    pub public_base_url: String,
    /// A CDN-native signer/verifier (`--cdn akamai|cloudfront|mediacdn`); `None`: vodpack tokens.
    pub cdn: Option<Arc<crate::tokens::cdn::playback::CdnEdge>>,
    /// Origins (`scheme://host[:port]`) whose pages may call the playback API, the licence
    /// endpoint and the page across origins; none by default.
    pub allow_origins: Vec<String>,
    /// Host names (`host` or `host:port`) the server answers to besides its own address (e.g.
    /// the name a reverse proxy or CDN forwards); requests for any other `Host` are refused.
    pub public_hosts: Vec<String>,
    /// Connection limits and timeouts.
    pub limits: Limits,
    /// Refused telemetry batches stored per second (after a burst of 20), for every sink.
    pub rejects_per_second: f64,
}

/// Signing keys of a server.
#[derive(Debug, Clone)]
pub struct ServeKeys {
    /// Identity tokens.
    pub identity: Keyring,
    /// Edge tokens (shared with the CDN).
    pub edge: Keyring,
    /// Session and licence tokens.
    pub internal: Keyring,
}

impl ServeKeys {
    /// Fresh random keys from the OS CSPRNG.
    pub fn random() -> Self {
        ServeKeys {
            identity: Keyring::random("id1"),
            edge: Keyring::random("e1"),
            internal: Keyring::random("s1"),
        }
    }
}

impl ServeConfig {
    /// Defaults: 127.0.0.1:8080, the key manifest beside `out_dir`, no policy file, NDJSON
    /// sink, player subject `local-viewer`, no cross-origin callers, [`Limits::default`].
    pub fn new(out_dir: impl Into<PathBuf>) -> Self {
        let out_dir = out_dir.into();
        ServeConfig {
            key_manifest: crate::playback::key_manifest::default_path(&out_dir),
            out_dir,
            policy_path: None,
            policy_reload: ReloadOptions::default(),
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 8080,
            player_dist_dir: None,
            events_path: None,
            sink: None,
            country_header: None,
            player_subject: Some("local-viewer".into()),
            keys: None,
            public_base_url: String::new(),
            cdn: None,
            allow_origins: Vec::new(),
            public_hosts: Vec::new(),
            limits: Limits::default(),
            rejects_per_second: 2.0,
        }
    }
}

/// A running server (from [`start`]).
pub struct Server {
    /// The bound address.
    pub addr: SocketAddr,
    /// The control plane (to mint identity tokens in tests).
    pub control: Arc<ControlPlane>,
    /// The NDJSON events file when the default sink is used.
    pub events_path: Option<PathBuf>,
    shutdown: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Server {
    /// `http://<addr>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting, finishes in-flight requests (at most 10 s) and waits.
    pub async fn shutdown(self) -> Result<()> {
        let _ = self.shutdown.send(());
        self.task
            .await
            .map_err(|e| Error::Io(format!("server task: {e}")))?
            .map_err(|e| Error::Io(format!("server: {e}")))
    }
}

/// Who may call: the server's own host names and the origins allowed across.
struct Gate {
    hosts: Vec<String>,
    allow_origins: Vec<String>,
}

impl Gate {
    fn new(bind: IpAddr, port: u16, public_hosts: &[String], allow_origins: &[String]) -> Self {
        let mut names: Vec<String> = Vec::new();
        if bind.is_loopback() || bind.is_unspecified() {
            names.extend(["localhost".into(), "127.0.0.1".into(), "[::1]".into()]);
        }
        if !bind.is_unspecified() {
            names.push(match bind {
                IpAddr::V4(a) => a.to_string(),
                IpAddr::V6(a) => format!("[{a}]"),
            });
        }
        let mut hosts = Vec::new();
        for n in names {
            hosts.push(format!("{n}:{port}"));
            if port == 80 {
                hosts.push(n);
            }
        }
        for h in public_hosts {
            let h = h.trim().trim_end_matches('/').to_ascii_lowercase();
            if !h.contains(':') || h.ends_with(']') {
                hosts.push(format!("{h}:{port}"));
            }
            hosts.push(h);
        }
        Gate {
            hosts,
            allow_origins: allow_origins
                .iter()
                .map(|o| o.trim().trim_end_matches('/').to_ascii_lowercase())
                .collect(),
        }
    }

    fn host_allowed(&self, host: &str) -> bool {
        let host = host.to_ascii_lowercase();
        self.hosts.contains(&host)
    }

    fn origin_allowed(&self, origin: &str) -> bool {
        let origin = origin.to_ascii_lowercase();
        self.allow_origins.contains(&origin)
    }
}

struct AppState {
    control: Arc<ControlPlane>,
    asset: Arc<KeyManifest>,
    /// The rendition kind of each output file, from the key manifest.
    kinds: MediaKinds,
    files: Arc<FileGate>,
    gate: Gate,
    sink: Arc<dyn EventSink>,
    dedup: Dedup,
    rejects: RejectLimiter,
    limits: Limits,
    country_header: Option<String>,
    player_dist_dir: Option<PathBuf>,
    player_subject: Option<String>,
}

/// Runs the server until Ctrl-C, printing its URL. This is what `vodpack serve` calls.
pub async fn run(config: ServeConfig) -> Result<()> {
    let server = start(config).await?;
    eprintln!("vodpack serve: listening on {}", server.url());
    eprintln!("  player page:    {}/", server.url());
    if let Some(p) = &server.events_path {
        eprintln!("  telemetry file: {}", p.display());
    }
    tokio::signal::ctrl_c()
        .await
        .map_err(|e| Error::Io(format!("waiting for Ctrl-C: {e}")))?;
    server.shutdown().await
}

/// Loads the key manifest and policy, binds, and serves in a background task.
pub async fn start(config: ServeConfig) -> Result<Server> {
    let asset = Arc::new(KeyManifest::load(&config.key_manifest)?);
    let out_dir = config
        .out_dir
        .canonicalize()
        .map_err(|e| Error::Io(format!("{}: {e}", config.out_dir.display())))?;
    if let Ok(km) = config.key_manifest.canonicalize() {
        if km.starts_with(&out_dir) {
            eprintln!(
                "vodpack serve: warning: the key manifest {} is inside the served folder; it is \
                 never served, but keep it beside the folder (`<OUT>.keys.json`)",
                km.display()
            );
        }
    }
    let kinds = MediaKinds::new(&asset);
    for a in kinds.ambiguities() {
        eprintln!("vodpack serve: warning: {a}");
    }
    let policy: Arc<dyn Policy> = match &config.policy_path {
        Some(p) => Arc::new(FilePolicy::load_with(p, config.policy_reload)?),
        None => Arc::new(PolicyDoc::default()),
    };
    let keys = config.keys.clone().unwrap_or_else(ServeKeys::random);
    let control = Arc::new(ControlPlane {
        identity: IdentityVerifier::new(keys.identity, SERVE_AUDIENCE),
        edge: EdgeAuth::new(keys.edge),
        cdn: config.cdn.clone(),
        internal: keys.internal,
        policy,
        catalog: Arc::new(StaticCatalog::new([(*asset).clone()])),
        public_base_url: config.public_base_url.clone(),
    });
    let (sink, events_path): (Arc<dyn EventSink>, Option<PathBuf>) = match config.sink {
        Some(s) => (s, None),
        None => {
            let path = config.events_path.clone().unwrap_or_else(|| {
                out_dir
                    .parent()
                    .unwrap_or(Path::new("."))
                    .join("vodpack-events.ndjson")
            });
            (Arc::new(FileSink::new(&path)), Some(path))
        }
    };
    let listener = tokio::net::TcpListener::bind((config.bind, config.port))
        .await
        .map_err(|e| Error::Io(format!("bind {}:{}: {e}", config.bind, config.port)))?;
    let addr = listener
        .local_addr()
        .map_err(|e| Error::Io(format!("local address: {e}")))?;
    if let Some(cdn) = &control.cdn {
        // Without a configured base_url, this server is the CDN host.
        cdn.set_base_url(&format!("http://{addr}"))
            .map_err(|e| Error::Config(e.to_string()))?;
    }
    let state = Arc::new(AppState {
        control: control.clone(),
        kinds,
        asset,
        files: Arc::new(FileGate::new(out_dir, config.key_manifest.clone())),
        gate: Gate::new(
            config.bind,
            addr.port(),
            &config.public_hosts,
            &config.allow_origins,
        ),
        sink,
        dedup: Dedup::new(100_000),
        rejects: RejectLimiter::new(20, config.rejects_per_second),
        limits: config.limits,
        country_header: config.country_header,
        player_dist_dir: config.player_dist_dir,
        player_subject: config.player_subject,
    });
    let app = router(state);
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let limits = config.limits;
    let task = tokio::spawn(async move {
        crate::http::listener::serve(listener, app, limits, async move {
            let _ = rx.await;
        })
        .await
    });
    Ok(Server {
        addr,
        control,
        events_path,
        shutdown: tx,
        task,
    })
}

fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/", get(player_page))
        .route("/favicon.ico", get(|| async { StatusCode::NO_CONTENT }))
        .route("/player/lib/{file}", get(player_lib))
        .route(PLAYBACK_START_PATH, post(playback_start))
        .route(CLEARKEY_LICENCE_PATH, post(clearkey_licence))
        .route(&format!("{RAW_KEY_PATH_PREFIX}{{kid}}"), get(raw_key))
        .route(EVENTS_PATH, post(playback_events))
        .route(&format!("{ASSET_PREFIX}/{{*rest}}"), get(origin))
        .fallback(|| async { error_response(&ApiError::not_found("no_route", "no such endpoint")) })
        .layer(middleware::from_fn_with_state(state.clone(), guard))
        .with_state(state)
}

/// The request's host: the absolute-form authority, else the `Host` header.
fn request_host(req: &Request) -> Option<String> {
    match req.uri().authority() {
        Some(a) => Some(a.as_str().to_string()),
        None => header_str(req.headers(), "host").map(str::to_string),
    }
}

/// True when `origin` is this server's own origin for the (already accepted) `host`: `http://`
/// directly, or `https://` behind a TLS-terminating proxy forwarding that host.
fn is_own_origin(origin: &str, host: &str) -> bool {
    origin.eq_ignore_ascii_case(&format!("http://{host}"))
        || origin.eq_ignore_ascii_case(&format!("https://{host}"))
}

/// Host check (DNS rebinding) and CORS for every route. Media and manifests under `/v/` answer
/// any origin (`*`: encrypted, token-gated); the API, the licence endpoint and the page answer
/// only the server's own origin and [`ServeConfig::allow_origins`]; another `Origin` is refused
/// before the handler runs.
async fn guard(State(st): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let Some(host) = request_host(&req).filter(|h| st.gate.host_allowed(h)) else {
        return error_response(&ApiError::forbidden(
            "host_not_allowed",
            "this server does not answer for that Host (see --public-host)",
        ));
    };
    let media = req.uri().path().starts_with(&format!("{ASSET_PREFIX}/"));
    let origin = header_str(req.headers(), "origin").map(str::to_string);
    let allow: Option<HeaderValue> = if media {
        Some(HeaderValue::from_static("*"))
    } else {
        match origin.as_deref() {
            None => None,
            Some(o) if is_own_origin(o, &host) => None,
            Some(o) if st.gate.origin_allowed(o) => HeaderValue::from_str(o).ok(),
            Some(_) => {
                let mut r = error_response(&ApiError::forbidden(
                    "origin_not_allowed",
                    "cross-origin calls are answered only for origins given with --allow-origin",
                ));
                r.headers_mut()
                    .insert(header::VARY, HeaderValue::from_static("Origin"));
                return r;
            }
        }
    };
    let mut res = if req.method() == Method::OPTIONS {
        let mut r = StatusCode::NO_CONTENT.into_response();
        if allow.is_some() {
            let h = r.headers_mut();
            h.insert(
                header::ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static("GET, HEAD, POST, OPTIONS"),
            );
            h.insert(
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                HeaderValue::from_static(
                    "Authorization, Content-Type, Range, If-None-Match, If-Modified-Since, If-Range",
                ),
            );
            h.insert(
                header::ACCESS_CONTROL_MAX_AGE,
                HeaderValue::from_static("600"),
            );
        }
        r
    } else {
        next.run(req).await
    };
    let h = res.headers_mut();
    if let Some(a) = allow {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, a);
        h.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static(
                "Content-Length, Content-Range, Accept-Ranges, ETag, Last-Modified",
            ),
        );
    }
    if !media {
        h.insert(header::VARY, HeaderValue::from_static("Origin"));
    }
    res
}

/// Reads a request body of at most `limit` bytes within the body timeout.
async fn read_body(
    body: Body,
    limit: usize,
    limits: &Limits,
) -> std::result::Result<Bytes, ApiError> {
    // Read one byte past the limit so an oversized body is told apart from a broken one.
    match tokio::time::timeout(limits.body_timeout, to_bytes(body, limit + 1)).await {
        Err(_) => Err(ApiError {
            status: 408,
            error: "request_timeout",
            reason: "body_timeout".into(),
            message: format!(
                "the request body did not arrive within {} s",
                limits.body_timeout.as_secs_f64()
            ),
        }),
        Ok(Err(_)) => Err(ApiError::too_large(limit)),
        Ok(Ok(b)) if b.len() > limit => Err(ApiError::too_large(limit)),
        Ok(Ok(b)) => Ok(b),
    }
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The connection's remote address (set by `listener::serve`), IPv4-mapped IPv6 addresses
/// unmapped so that `::ffff:127.0.0.1` matches a token bound to `127.0.0.1`.
fn peer_ip(ext: &axum::http::Extensions) -> Option<IpAddr> {
    ext.get::<axum::extract::ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_canonical())
}

fn trusted_country<'a>(st: &AppState, headers: &'a HeaderMap) -> Option<&'a str> {
    st.country_header
        .as_deref()
        .and_then(|h| header_str(headers, h))
}

async fn playback_start(State(st): State<Arc<AppState>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = match read_body(body, MAX_REQUEST_BYTES, &st.limits).await {
        Ok(b) => b,
        Err(e) => return error_response(&e),
    };
    let auth = header_str(&parts.headers, "authorization");
    let country = trusted_country(&st, &parts.headers);
    let client_ip = peer_ip(&parts.extensions);
    match st
        .control
        .start_playback_from(auth, &body, country, client_ip, unix_now())
    {
        Ok(answer) => {
            let mut r = json_response(
                StatusCode::OK,
                serde_json::to_string(&answer).expect("answer serialises"),
            );
            // CDN modes: the signed cookies for the asset prefix, as a backend on the CDN's
            // domain sets them (docs/cdn/).
            for c in answer.edge.iter().flat_map(|e| &e.cookies) {
                let v = format!("{}={}; Path={}; SameSite=Lax", c.name, c.value, c.path);
                if let Ok(v) = HeaderValue::from_str(&v) {
                    r.headers_mut().append(header::SET_COOKIE, v);
                }
            }
            r
        }
        Err(e) => error_response(&e),
    }
}

async fn clearkey_licence(State(st): State<Arc<AppState>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    // Tokens in URLs end up in access logs and browser history: refused.
    let in_url = parts.uri.query().is_some_and(|q| {
        q.split('&')
            .any(|kv| kv.starts_with("token=") || kv.starts_with("access_token="))
    });
    if in_url {
        return error_response(&ApiError::bad_request(
            "token_in_url",
            "send the licence token as `Authorization: Bearer <token>`, not in the URL",
        ));
    }
    let body = match read_body(body, MAX_REQUEST_BYTES, &st.limits).await {
        Ok(b) => b,
        Err(e) => return error_response(&e),
    };
    let token = header_str(&parts.headers, "authorization")
        .and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("bearer "))
        })
        .map(str::trim);
    let country = trusted_country(&st, &parts.headers);
    match st
        .control
        .clearkey_licence(token, &body, country, unix_now())
    {
        Ok(json) => json_response(StatusCode::OK, json),
        Err(e) => error_response(&e),
    }
}

/// `GET /v1/licence/key/<kid>`: the raw key of an HLS-over-TS set (`#EXT-X-KEY` URI), with the
/// licence token as `Authorization: Bearer` and the same checks as the Clear Key licence.
async fn raw_key(
    State(st): State<Arc<AppState>>,
    axum::extract::Path(kid): axum::extract::Path<String>,
    req: Request,
) -> Response {
    let headers = req.headers();
    if req.uri().query().is_some_and(|q| {
        q.split('&')
            .any(|kv| kv.starts_with("token=") || kv.starts_with("access_token="))
    }) {
        return error_response(&ApiError::bad_request(
            "token_in_url",
            "send the licence token as `Authorization: Bearer <token>`, not in the URL",
        ));
    }
    let token = header_str(headers, "authorization")
        .and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("bearer "))
        })
        .map(str::trim);
    let country = trusted_country(&st, headers);
    match st.control.raw_key(token, &kid, country, unix_now()) {
        Ok(key) => {
            let mut r = Response::new(Body::from(key.to_vec()));
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            );
            // A key is never cached by a proxy or the browser.
            r.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        }
        Err(e) => error_response(&e),
    }
}

async fn playback_events(State(st): State<Arc<AppState>>, req: Request) -> Response {
    let body = match read_body(req.into_body(), MAX_BATCH_BYTES, &st.limits).await {
        Ok(b) => b,
        Err(e) => return error_response(&e),
    };
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    match st.control.validate_events(&body, &st.dedup, now_ms) {
        Ok(batch) => {
            let keys: Vec<String> = batch.events.iter().map(Dedup::key).collect();
            if !batch.events.is_empty() {
                if let Err(e) = st.sink.write(&batch.events).await {
                    st.dedup.release(keys.iter().map(String::as_str));
                    eprintln!("vodpack serve: event sink failed: {e}");
                    return error_response(&ApiError::internal(
                        "sink_failed",
                        "the events could not be stored; retry",
                    ));
                }
                st.dedup.commit(keys.iter().map(String::as_str));
            }
            json_response(
                StatusCode::ACCEPTED,
                serde_json::json!({"accepted": batch.events.len(), "duplicates": batch.duplicates})
                    .to_string(),
            )
        }
        Err(refused) => {
            // Only authenticated batches, redacted, and at a bounded rate reach the dead letters.
            if let Some(record) = &refused.record {
                if st.rejects.allow() {
                    if let Err(err) = st.sink.dead_letter(record).await {
                        eprintln!("vodpack serve: dead-letter sink: {err}");
                    }
                }
            }
            error_response(&refused.error)
        }
    }
}

/// The origin's authorisation of a request: verifies the edge token (path segment, `?tok=` or
/// cookie) and returns the path relative to the asset (`<asset_id>/<rel>` after the prefix).
/// The one place a different token scheme (e.g. a CDN's native signer) plugs in.
/// `client_ip` is the connection's remote address: a CDN token bound to an IP (Akamai `ip=`,
/// CloudFront `IpAddress`) is accepted only from that address, as the CDN's edge does.
fn authorize_origin(
    control: &ControlPlane,
    path: &str,
    query: Option<&str>,
    cookie: Option<&str>,
    client_ip: Option<IpAddr>,
) -> std::result::Result<String, ApiError> {
    if let Some(cdn) = &control.cdn {
        // CDN mode: that CDN's own format, on a path without a token segment.
        let (cache_key, token) = crate::tokens::edge_token::split_path(path)
            .map_err(|e| ApiError::bad_request(e.reason(), e.to_string()))?;
        if token.is_some() {
            return Err(ApiError::bad_request(
                "bad_path",
                "a tok= path segment in CDN mode",
            ));
        }
        cdn.verify_request(&cache_key, query, cookie, client_ip, unix_now())
            .map_err(|r| ApiError::forbidden(r.reason(), r.to_string()))?;
        return Ok(cache_key);
    }
    let verified = control
        .edge
        .verify_request(path, query, cookie, unix_now())
        .map_err(|e| ApiError {
            status: e.http_status(),
            error: if e.http_status() == 400 {
                "bad_request"
            } else {
                "forbidden"
            },
            reason: e.reason().to_string(),
            message: e.to_string(),
        })?;
    Ok(verified.cache_key)
}

async fn origin(State(st): State<Arc<AppState>>, req: Request) -> Response {
    let cache_key = match authorize_origin(
        &st.control,
        req.uri().path(),
        req.uri().query(),
        header_str(req.headers(), "cookie"),
        peer_ip(req.extensions()),
    ) {
        Ok(k) => k,
        Err(e) => return error_response(&e),
    };
    let not_found = || error_response(&ApiError::not_found("no_such_file", "no such file"));
    // cache_key = /v/<asset>/<rel>; split_path has refused dot segments, empty segments and
    // percent-encodings, so <rel> stays inside the output directory.
    let Some(rest) = cache_key
        .strip_prefix(ASSET_PREFIX)
        .and_then(|r| r.strip_prefix('/'))
    else {
        return not_found();
    };
    let Some((asset_id, rel)) = rest.split_once('/') else {
        return not_found();
    };
    if asset_id != st.asset.asset_id || rel.split('/').any(|s| s.starts_with('.')) {
        return not_found();
    }
    // The rendition kind (audio/mp4, video/mp4, application/mp4) from the file locations of
    // the key manifest, compiled at startup: one hash lookup of the directory.
    let Some((mime, is_manifest)) = st.kinds.media_type(rel) else {
        return not_found();
    };
    crate::http::origin::serve_file(&st.files, req, rel, mime, is_manifest).await
}

/// `/player/lib/<file>`: the page's script, the embedded players and their licences
/// ([`super::player_assets`]); a file of the same name in [`ServeConfig::player_dist_dir`] is
/// served instead (e.g. another Shaka Player build).
async fn player_lib(
    State(st): State<Arc<AppState>>,
    axum::extract::Path(file): axum::extract::Path<String>,
) -> Response {
    let ok_name = !file.starts_with('.')
        && file
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
    let not_found = || error_response(&ApiError::not_found("no_such_file", "no such file"));
    if !ok_name {
        return not_found();
    }
    let from_dir = match st
        .player_dist_dir
        .as_ref()
        .filter(|_| file.ends_with(".js") && file != super::player_assets::PAGE_SCRIPT)
    {
        Some(dir) => tokio::fs::read(dir.join(&file)).await.ok(),
        None => None,
    };
    let (body, content_type) = match (from_dir, super::player_assets::asset(&file)) {
        (Some(data), _) => (Body::from(data), "text/javascript; charset=utf-8"),
        (None, Some((data, ty))) => (Body::from(Bytes::from_static(data)), ty),
        (None, None) => return not_found(),
    };
    let mut r = (StatusCode::OK, body).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

/// True for a page load the browser says is same-origin (or a non-browser client, which sends
/// no `Sec-Fetch-Site`): a navigation typed or bookmarked (`none`) or from the server's own
/// pages (`same-origin`); never a cross-site or same-site frame, fetch or form.
fn same_origin_load(headers: &HeaderMap, host: Option<&str>) -> bool {
    let site_ok = match header_str(headers, "sec-fetch-site") {
        None => true,
        Some(s) => s.eq_ignore_ascii_case("none") || s.eq_ignore_ascii_case("same-origin"),
    };
    let origin_ok = match (header_str(headers, "origin"), host) {
        (None, _) => true,
        (Some(o), Some(h)) => is_own_origin(o, h),
        (Some(_), None) => false,
    };
    site_ok && origin_ok
}

async fn player_page(State(st): State<Arc<AppState>>, req: Request) -> Response {
    let host = request_host(&req);
    let identity_token = st
        .player_subject
        .as_deref()
        .filter(|_| same_origin_load(req.headers(), host.as_deref()))
        .map(|s| st.control.identity.issue(s, &[], unix_now(), 3600));
    let config = serde_json::json!({
        "asset_id": st.asset.asset_id,
        "identity_token": identity_token,
        "players": super::player_assets::PLAYERS.iter().map(|p| serde_json::json!({
            "id": p.id, "name": p.name, "package": p.package, "version": p.version,
            "script": p.script, "licence": p.licence, "protocols": p.protocols,
        })).collect::<Vec<_>>(),
    });
    // `</` cannot appear in JSON we build, but escape it anyway inside a <script>.
    let config = config.to_string().replace("</", "<\\/");
    let html = PLAYER_HTML.replace("/*CONFIG*/null", &config);
    let mut r = (StatusCode::OK, html).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("frame-ancestors 'none'"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    r
}

const PLAYER_HTML: &str = include_str!("player.html");
