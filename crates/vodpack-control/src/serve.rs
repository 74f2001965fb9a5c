//! `vodpack serve`: the whole control plane over one packaged output directory, on axum/tokio.
//!
//! Routes (all answer CORS preflights; errors are JSON `{"error","reason","message"}`):
//! - `POST /v1/playback/start`, `POST /v1/licence/clearkey`, `POST /v1/playback/events`;
//! - `GET|HEAD /v/<asset_id>/tok=<token>/<path>`: the token-checking origin (also `?tok=` and the
//!   `tok` cookie), with MIME types, Range, `Cache-Control` and never any `.json` file;
//! - `GET /`: a Shaka Player page that starts playback through the API and posts telemetry;
//!   `GET /player/lib/<file>.js`: the Shaka Player build from [`ServeConfig::player_dist_dir`].

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

use crate::api::{
    unix_now, ApiError, ControlPlane, StaticCatalog, ASSET_PREFIX, CLEARKEY_LICENCE_PATH,
    EVENTS_PATH, MAX_REQUEST_BYTES, PLAYBACK_START_PATH,
};
use crate::edge_token::EdgeAuth;
use crate::error::{Error, Result};
use crate::identity::IdentityVerifier;
use crate::key_manifest::KeyManifest;
use crate::policy::{FilePolicy, Policy, PolicyDoc};
use crate::signed::Keyring;
use crate::telemetry::{Dedup, EventSink, FileSink, MAX_BATCH_BYTES};

/// The key manifest's file name in a packaged output directory.
pub const KEY_MANIFEST_FILE: &str = "key-manifest.json";
/// The audience of identity tokens accepted by `vodpack serve`.
pub const SERVE_AUDIENCE: &str = "vodpack-serve";

/// Options of [`run`] / [`start`].
pub struct ServeConfig {
    /// The packaged output directory (holds `key-manifest.json`, the manifests, the renditions).
    pub out_dir: PathBuf,
    /// A policy file (TOML if it ends in `.toml`, else JSON), re-read when it changes; `None`
    /// uses the permissive default (every authenticated subject, everywhere).
    pub policy_path: Option<PathBuf>,
    /// Address to bind; loopback by default.
    pub bind: IpAddr,
    /// Port; 0 picks a free one.
    pub port: u16,
    /// Shaka Player's `dist/` directory (holding `shaka-player.compiled.js`) for the player page.
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
    pub cdn: Option<Arc<crate::cdn::playback::CdnEdge>>,
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
    /// Defaults: 127.0.0.1:8080, no policy file, NDJSON sink, player subject `local-viewer`.
    pub fn new(out_dir: impl Into<PathBuf>) -> Self {
        ServeConfig {
            out_dir: out_dir.into(),
            policy_path: None,
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

    /// Stops accepting, finishes in-flight requests and waits.
    pub async fn shutdown(self) -> Result<()> {
        let _ = self.shutdown.send(());
        self.task
            .await
            .map_err(|e| Error::Io(format!("server task: {e}")))?
            .map_err(|e| Error::Io(format!("server: {e}")))
    }
}

struct AppState {
    control: Arc<ControlPlane>,
    asset: Arc<KeyManifest>,
    out_dir: PathBuf,
    sink: Arc<dyn EventSink>,
    dedup: Dedup,
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

/// Loads the output directory and policy, binds, and serves in a background task.
pub async fn start(config: ServeConfig) -> Result<Server> {
    let manifest_path = config.out_dir.join(KEY_MANIFEST_FILE);
    let asset = Arc::new(KeyManifest::load(&manifest_path)?);
    let out_dir = config
        .out_dir
        .canonicalize()
        .map_err(|e| Error::Io(format!("{}: {e}", config.out_dir.display())))?;
    let policy: Arc<dyn Policy> = match &config.policy_path {
        Some(p) => Arc::new(FilePolicy::load(p)?),
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
    let state = Arc::new(AppState {
        control: control.clone(),
        asset,
        out_dir,
        sink,
        dedup: Dedup::new(100_000),
        country_header: config.country_header,
        player_dist_dir: config.player_dist_dir,
        player_subject: config.player_subject,
    });
    let app = router(state);
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
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
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
        .route(EVENTS_PATH, post(playback_events))
        .route(&format!("{ASSET_PREFIX}/{{*rest}}"), get(origin))
        .fallback(|| async { error_response(&ApiError::not_found("no_route", "no such endpoint")) })
        .layer(middleware::from_fn(cors))
        .with_state(state)
}

/// CORS for every route: tokens, not cookies, authorise requests, so any origin may call.
async fn cors(req: Request, next: Next) -> Response {
    let mut res = if req.method() == Method::OPTIONS {
        let mut r = StatusCode::NO_CONTENT.into_response();
        let h = r.headers_mut();
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, HEAD, POST, OPTIONS"),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("Authorization, Content-Type, Range"),
        );
        h.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("600"),
        );
        r
    } else {
        next.run(req).await
    };
    let h = res.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    h.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("Content-Length, Content-Range, Accept-Ranges"),
    );
    res
}

fn error_response(e: &ApiError) -> Response {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut r = (status, e.to_json()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if e.status == 401 {
        r.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    r
}

fn json_response(status: StatusCode, body: String) -> Response {
    let mut r = (status, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

async fn read_body(body: Body, limit: usize) -> std::result::Result<Bytes, ApiError> {
    // Read one byte past the limit so an oversized body is told apart from a broken one.
    to_bytes(body, limit + 1)
        .await
        .map_err(|_| ApiError::too_large(limit))
        .and_then(|b| {
            if b.len() > limit {
                Err(ApiError::too_large(limit))
            } else {
                Ok(b)
            }
        })
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

async fn playback_start(State(st): State<Arc<AppState>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = match read_body(body, MAX_REQUEST_BYTES).await {
        Ok(b) => b,
        Err(e) => return error_response(&e),
    };
    let country = st
        .country_header
        .as_deref()
        .and_then(|h| header_str(&parts.headers, h));
    let auth = header_str(&parts.headers, "authorization");
    match st.control.start_playback(auth, &body, country, unix_now()) {
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
    let body = match read_body(body, MAX_REQUEST_BYTES).await {
        Ok(b) => b,
        Err(e) => return error_response(&e),
    };
    let from_query = parts.uri.query().and_then(|q| {
        q.split('&')
            .find_map(|kv| kv.strip_prefix("token="))
            .map(str::to_string)
    });
    let from_header = header_str(&parts.headers, "authorization")
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(str::to_string);
    let token = from_query.or(from_header);
    match st
        .control
        .clearkey_licence(token.as_deref(), &body, unix_now())
    {
        Ok(json) => json_response(StatusCode::OK, json),
        Err(e) => error_response(&e),
    }
}

async fn playback_events(State(st): State<Arc<AppState>>, req: Request) -> Response {
    let body = match read_body(req.into_body(), MAX_BATCH_BYTES).await {
        Ok(b) => b,
        Err(e) => return error_response(&e),
    };
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    match st.control.validate_events(&body, &st.dedup, now_ms) {
        Ok((events, duplicates)) => {
            if !events.is_empty() {
                if let Err(e) = st.sink.write(&events).await {
                    eprintln!("vodpack serve: event sink failed: {e}");
                    return error_response(&ApiError::internal(
                        "sink_failed",
                        "the events could not be stored; retry",
                    ));
                }
                for e in &events {
                    st.dedup.insert(&Dedup::key(e));
                }
            }
            json_response(
                StatusCode::ACCEPTED,
                serde_json::json!({"accepted": events.len(), "duplicates": duplicates}).to_string(),
            )
        }
        Err(e) => {
            if let Err(err) = st.sink.dead_letter(&body, &e.message).await {
                eprintln!("vodpack serve: dead-letter sink failed: {err}");
            }
            error_response(&e)
        }
    }
}

/// Media types by extension; anything else is not served (the key manifest, any `.json`, stray
/// files in the output directory).
fn media_type(path: &str, audio: bool) -> Option<(&'static str, bool)> {
    let ext = path.rsplit_once('.')?.1;
    // (MIME type, is a manifest)
    Some(match ext {
        "m3u8" => ("application/vnd.apple.mpegurl", true),
        "mpd" => ("application/dash+xml", true),
        "mp4" | "m4s" if audio => ("audio/mp4", false),
        "mp4" | "m4s" | "m4v" => ("video/mp4", false),
        "m4a" => ("audio/mp4", false),
        "vtt" => ("text/vtt", false),
        _ => return None,
    })
}

async fn origin(State(st): State<Arc<AppState>>, req: Request) -> Response {
    let path = req.uri().path();
    let query = req.uri().query();
    let cookie = header_str(req.headers(), "cookie");
    let cache_key = if let Some(cdn) = &st.control.cdn {
        // CDN mode: the CDN's own format, on a path without a token segment.
        let checked = crate::edge_token::split_path(path).and_then(|(key, tok)| match tok {
            None => Ok(key),
            Some(_) => Err(crate::edge_token::EdgeError::BadPath(
                "token segment in CDN mode",
            )),
        });
        let cache_key = match checked {
            Ok(k) => k,
            Err(e) => {
                return error_response(&ApiError::bad_request(e.reason(), e.to_string()));
            }
        };
        if let Err(r) = cdn.verify_request(&cache_key, query, cookie, None, unix_now()) {
            return error_response(&ApiError::forbidden(r.reason(), r.to_string()));
        }
        cache_key
    } else {
        match st
            .control
            .edge
            .verify_request(path, query, cookie, unix_now())
        {
            Ok(v) => v,
            Err(e) => {
                let api = ApiError {
                    status: e.http_status(),
                    error: if e.http_status() == 400 {
                        "bad_request"
                    } else {
                        "forbidden"
                    },
                    reason: e.reason().to_string(),
                    message: e.to_string(),
                };
                return error_response(&api);
            }
        }
        .cache_key
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
    let dir = rel.rsplit_once('/').map_or("", |(d, _)| d);
    let audio =
        st.asset.renditions.iter().any(|r| {
            r.kind == "audio" && r.init_path.rsplit_once('/').map_or("", |(d, _)| d) == dir
        });
    let Some((mime, is_manifest)) = media_type(rel, audio) else {
        return not_found();
    };
    let file = st.out_dir.join(rel);
    // Refuse symlinks that leave the output directory.
    match tokio::fs::canonicalize(&file).await {
        Ok(real) if real.starts_with(&st.out_dir) => {}
        _ => return not_found(),
    }
    let data = match tokio::fs::read(&file).await {
        Ok(d) => d,
        Err(_) => return not_found(),
    };
    let range = header_str(req.headers(), "range").map(str::to_string);
    let mut res = serve_bytes(data, range.as_deref());
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(if is_manifest {
            "public, max-age=5"
        } else {
            "public, max-age=31536000, immutable"
        }),
    );
    res
}

/// A single byte range (RFC 9110 §14.1.2); multiple ranges are answered with the whole file,
/// which the RFC allows.
fn serve_bytes(data: Vec<u8>, range: Option<&str>) -> Response {
    let len = data.len() as u64;
    let Some(spec) = range.and_then(|r| r.trim().strip_prefix("bytes=")) else {
        return (StatusCode::OK, data).into_response();
    };
    if spec.contains(',') {
        return (StatusCode::OK, data).into_response();
    }
    let unsatisfiable = || {
        let mut r = StatusCode::RANGE_NOT_SATISFIABLE.into_response();
        r.headers_mut().insert(
            header::CONTENT_RANGE,
            HeaderValue::from_str(&format!("bytes */{len}")).expect("ascii"),
        );
        r
    };
    let Some((a, b)) = spec.split_once('-') else {
        return unsatisfiable();
    };
    let (start, end) = match (a.trim(), b.trim()) {
        ("", suffix) => match suffix.parse::<u64>() {
            Ok(n) if n > 0 && len > 0 => (len.saturating_sub(n), len - 1),
            _ => return unsatisfiable(),
        },
        (s, e) => {
            let Ok(s) = s.parse::<u64>() else {
                return unsatisfiable();
            };
            let e = if e.is_empty() {
                len.saturating_sub(1)
            } else {
                match e.parse::<u64>() {
                    Ok(e) => e.min(len.saturating_sub(1)),
                    Err(_) => return unsatisfiable(),
                }
            };
            if s >= len || s > e {
                return unsatisfiable();
            }
            (s, e)
        }
    };
    let slice = data[start as usize..=end as usize].to_vec();
    let mut r = (StatusCode::PARTIAL_CONTENT, slice).into_response();
    r.headers_mut().insert(
        header::CONTENT_RANGE,
        HeaderValue::from_str(&format!("bytes {start}-{end}/{len}")).expect("ascii"),
    );
    r
}

async fn player_lib(
    State(st): State<Arc<AppState>>,
    axum::extract::Path(file): axum::extract::Path<String>,
) -> Response {
    let ok_name = file.ends_with(".js")
        && !file.starts_with('.')
        && file
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
    let Some(dir) = st.player_dist_dir.as_ref().filter(|_| ok_name) else {
        return error_response(&ApiError::not_found("no_such_file", "no such file"));
    };
    match tokio::fs::read(dir.join(&file)).await {
        Ok(data) => {
            let mut r = (StatusCode::OK, data).into_response();
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/javascript"),
            );
            r
        }
        Err(_) => error_response(&ApiError::not_found("no_such_file", "no such file")),
    }
}

async fn player_page(State(st): State<Arc<AppState>>) -> Response {
    let identity_token = st
        .player_subject
        .as_deref()
        .map(|s| st.control.identity.issue(s, &[], unix_now(), 3600));
    let config = serde_json::json!({
        "asset_id": st.asset.asset_id,
        "identity_token": identity_token,
        "shaka_available": st.player_dist_dir.is_some(),
    });
    // `</` cannot appear in JSON we build, but escape it anyway inside a <script>.
    let config = config.to_string().replace("</", "<\\/");
    let html = PLAYER_HTML.replace("/*CONFIG*/null", &config);
    let mut r = (StatusCode::OK, html).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

const PLAYER_HTML: &str = include_str!("player.html");
