//! The control plane's operations, independent of any HTTP stack: playback start and the Clear
//! Key licence. Each takes the request's parts and returns either the JSON answer or an
//! [`ApiError`] carrying the HTTP status and a machine-readable reason (`docs/control-plane.md`).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::playback::key_manifest::KeyManifest;
use crate::playback::policy::{Device, Policy, PolicyContext};
use crate::tokens::edge_token::EdgeAuth;
use crate::tokens::identity::IdentityVerifier;
use crate::tokens::signed::{Keyring, SignedTokenError};

/// Purpose prefix of playback session tokens.
pub const SESSION_PURPOSE: &str = "vps1";
/// Purpose prefix of licence tokens.
pub const LICENCE_PURPOSE: &str = "vplic1";
/// Largest playback start or licence request body.
pub const MAX_REQUEST_BYTES: usize = 16 * 1024;
/// Most KIDs in one licence request.
pub const MAX_LICENCE_KIDS: usize = 64;
/// URL path of playback start.
pub const PLAYBACK_START_PATH: &str = "/v1/playback/start";
/// URL path of the Clear Key licence endpoint.
pub const CLEARKEY_LICENCE_PATH: &str = "/v1/licence/clearkey";
/// URL path prefix of the raw-key endpoint (`/v1/licence/key/<kid hex>`): the HLS
/// `#EXT-X-KEY` URI of an encrypted MPEG-TS set (vodpack's default `--hls-key-uri`).
pub const RAW_KEY_PATH_PREFIX: &str = "/v1/licence/key/";
/// URL path of the telemetry endpoint.
pub const EVENTS_PATH: &str = "/v1/playback/events";
/// URL path prefix of assets at the origin: `/v/<asset_id>/…`.
pub const ASSET_PREFIX: &str = "/v";

/// An error answer: HTTP status, error class, machine-readable reason and a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiError {
    /// HTTP status code.
    #[serde(skip)]
    pub status: u16,
    /// `unauthenticated` (401), `forbidden` (403), `not_found` (404), `bad_request` (400),
    /// `payload_too_large` (413), `internal` (500).
    pub error: &'static str,
    /// Stable machine-readable reason, e.g. `expired`, `geo_blocked`.
    pub reason: String,
    /// Human-readable details.
    pub message: String,
}

impl ApiError {
    /// 400 Bad Request.
    pub fn bad_request(reason: &str, message: impl Into<String>) -> Self {
        Self::new(400, "bad_request", reason, message)
    }
    /// 401 Unauthorized.
    pub fn unauthenticated(reason: &str, message: impl Into<String>) -> Self {
        Self::new(401, "unauthenticated", reason, message)
    }
    /// 403 Forbidden.
    pub fn forbidden(reason: &str, message: impl Into<String>) -> Self {
        Self::new(403, "forbidden", reason, message)
    }
    /// 404 Not Found.
    pub fn not_found(reason: &str, message: impl Into<String>) -> Self {
        Self::new(404, "not_found", reason, message)
    }
    /// 413 Payload Too Large.
    pub fn too_large(limit: usize) -> Self {
        Self::new(
            413,
            "payload_too_large",
            "body_too_large",
            format!("the body is larger than {limit} bytes"),
        )
    }
    /// 500 Internal Server Error (e.g. the telemetry sink failed).
    pub fn internal(reason: &str, message: impl Into<String>) -> Self {
        Self::new(500, "internal", reason, message)
    }
    fn new(status: u16, error: &'static str, reason: &str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            error,
            reason: reason.to_string(),
            message: message.into(),
        }
    }
    /// The JSON body.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("error serialises")
    }
}

/// Assets known to the control plane.
pub trait Catalog: Send + Sync {
    /// The key manifest of `asset_id`, if the asset exists.
    fn asset(&self, asset_id: &str) -> Option<Arc<KeyManifest>>;
}

/// A fixed set of assets held in memory.
#[derive(Debug, Default, Clone)]
pub struct StaticCatalog {
    assets: HashMap<String, Arc<KeyManifest>>,
}

impl StaticCatalog {
    /// A catalog of these key manifests, by asset id.
    pub fn new(manifests: impl IntoIterator<Item = KeyManifest>) -> Self {
        StaticCatalog {
            assets: manifests
                .into_iter()
                .map(|m| (m.asset_id.clone(), Arc::new(m)))
                .collect(),
        }
    }
}

impl Catalog for StaticCatalog {
    fn asset(&self, asset_id: &str) -> Option<Arc<KeyManifest>> {
        self.assets.get(asset_id).cloned()
    }
}

/// Body of `POST /v1/playback/start`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlaybackStartRequest {
    /// The asset to play.
    pub asset_id: String,
    /// The device.
    pub device: Device,
    /// The client's country, used only when no trusted country header is configured.
    #[serde(default)]
    pub country: Option<String>,
}

/// Answer of `POST /v1/playback/start`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlaybackStartResponse {
    /// The asset id.
    pub asset_id: String,
    /// The playback session id (`ps_` + 32 hex digits), also the edge token's `id`.
    pub session_id: String,
    /// `hls` or `dash`.
    pub protocol: String,
    /// The signed manifest URL of the chosen protocol.
    pub manifest_url: String,
    /// DRM details; absent for clear assets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drm: Option<DrmInfo>,
    /// When the URLs and the licence token expire (Unix seconds).
    pub expires_at: u64,
    /// Where and how to send telemetry.
    pub telemetry: TelemetryInfo,
    /// In a CDN mode (`akamai`, `cloudfront`, `mediacdn`): the query string or cookies that
    /// authorise the asset's segment requests in that CDN's format (`docs/cdn/`); absent in
    /// `vodpack` mode, whose token rides in the manifest URL's path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edge: Option<crate::tokens::cdn::playback::PlaybackAuth>,
}

/// DRM part of the playback answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DrmInfo {
    /// The chosen EME key system, e.g. `org.w3.clearkey`.
    pub key_system: String,
    /// `cenc` or `cbcs`.
    pub scheme: String,
    /// Licence URL of the chosen key system. The Clear Key endpoint wants the licence token as
    /// `Authorization: Bearer <licence_token>` (never in the URL, which ends up in logs).
    pub licence_url: String,
    /// The licence token, bound to session, asset, expiry and the policy inputs (subject, plans,
    /// device, country), which are checked again on every licence request.
    pub licence_token: String,
    /// Licence URL of every key system the device and asset share (EME name → URL).
    pub licence_urls: BTreeMap<String, String>,
    /// The asset's key ids (32 lowercase hex digits, in rendition order, no repeats): public
    /// values (they are in the manifests) that let a client ask for a Clear Key licence before
    /// loading, e.g. for Shaka Player's HLS parser, which knows no `org.w3.clearkey` KEYFORMAT.
    #[serde(default)]
    pub key_ids: Vec<String>,
}

/// Telemetry part of the playback answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TelemetryInfo {
    /// The events endpoint.
    pub url: String,
    /// The signed session id every event must carry as `session_token`.
    pub session_token: String,
    /// Most events per batch.
    pub max_batch: usize,
}

/// Claims of a session token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionClaims {
    /// Session id.
    pub sid: String,
    /// Asset id.
    pub asset: String,
    /// Subject.
    pub sub: String,
    /// Issued at (Unix seconds).
    pub iat: u64,
    /// Expiry of the playback session (Unix seconds).
    pub exp: u64,
}

/// Claims of a licence token. Besides session, asset and expiry it carries what the policy
/// decided on (subject, plans, device, country), so that every licence request is decided again
/// against the policy in force: removing an entitlement or a country revokes licences at once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LicenceClaims {
    /// Session id.
    pub sid: String,
    /// Asset id: only this asset's keys are released.
    pub asset: String,
    /// Expiry (Unix seconds).
    pub exp: u64,
    /// Subject of the identity the session was started with.
    #[serde(default)]
    pub sub: String,
    /// Plans of that identity.
    #[serde(default)]
    pub plans: Vec<String>,
    /// The device of the playback start request.
    #[serde(default)]
    pub device: Device,
    /// The country decided on at playback start (upper case), if known.
    #[serde(default)]
    pub country: Option<String>,
}

/// The control plane: verifiers, signers, policy and catalog.
pub struct ControlPlane {
    /// Identity token verifier (and issuer, for tests and the local player page).
    pub identity: IdentityVerifier,
    /// Edge token signer/verifier (`vodpack` mode).
    pub edge: EdgeAuth,
    /// A CDN-native signer/verifier; when set, it replaces `edge` for playback URLs.
    pub cdn: Option<Arc<crate::tokens::cdn::playback::CdnEdge>>,
    /// Signs session and licence tokens (never leaves the backend).
    pub internal: Keyring,
    /// The policy.
    pub policy: Arc<dyn Policy>,
    /// The assets.
    pub catalog: Arc<dyn Catalog>,
    /// Prefix of the URLs in answers (e.g. `https://play.example.com`); empty for root-relative.
    pub public_base_url: String,
}

/// The current time in Unix seconds.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn identity_error(e: SignedTokenError) -> ApiError {
    ApiError::unauthenticated(e.reason(), format!("identity token refused: {e}"))
}

impl ControlPlane {
    /// `POST /v1/playback/start`: `authorization` is the `Authorization` header, `body` the raw
    /// JSON body, `trusted_country` the country from a trusted edge header (if configured).
    pub fn start_playback(
        &self,
        authorization: Option<&str>,
        body: &[u8],
        trusted_country: Option<&str>,
        now: u64,
    ) -> Result<PlaybackStartResponse, ApiError> {
        self.start_playback_from(authorization, body, trusted_country, None, now)
    }

    /// [`ControlPlane::start_playback`] for a client at `client_ip` (the connection's remote
    /// address): with the CDN config's `bind_client_ip`, the CDN tokens are bound to it.
    pub fn start_playback_from(
        &self,
        authorization: Option<&str>,
        body: &[u8],
        trusted_country: Option<&str>,
        client_ip: Option<std::net::IpAddr>,
        now: u64,
    ) -> Result<PlaybackStartResponse, ApiError> {
        let identity = self
            .identity
            .verify_header(authorization, now)
            .map_err(identity_error)?;
        if body.len() > MAX_REQUEST_BYTES {
            return Err(ApiError::too_large(MAX_REQUEST_BYTES));
        }
        let req: PlaybackStartRequest = serde_json::from_slice(body)
            .map_err(|e| ApiError::bad_request("malformed_body", format!("playback start: {e}")))?;
        check_request(&req)?;
        let country = match trusted_country {
            Some(c) => Some(c.trim().to_ascii_uppercase()),
            None => req.country.as_ref().map(|c| c.to_ascii_uppercase()),
        };
        if let Some(c) = &country {
            if c.len() != 2 || !c.bytes().all(|b| b.is_ascii_uppercase()) {
                return Err(ApiError::bad_request(
                    "bad_country",
                    "country must be an ISO 3166-1 alpha-2 code",
                ));
            }
        }
        let asset = self.catalog.asset(&req.asset_id).ok_or_else(|| {
            ApiError::not_found("unknown_asset", format!("no asset {:?}", req.asset_id))
        })?;
        let decision = self
            .policy
            .decide(&PolicyContext {
                identity: &identity,
                asset: &asset,
                device: &req.device,
                country: country.as_deref(),
            })
            .map_err(|d| ApiError::forbidden(d.reason.as_str(), d.message))?;

        let sid = format!("ps_{}", hex::encode(rand::random::<[u8; 16]>()));
        let exp = now.saturating_add(decision.session_ttl_secs);
        let prefix = format!("{ASSET_PREFIX}/{}/", asset.asset_id);
        let edge_token = self
            .edge
            .sign(now, exp, &[&format!("{prefix}*")], Some(&sid), None)
            .map_err(|e| ApiError::internal("edge_token", e.to_string()))?;
        // Two-scheme assets: the manifest of the chosen protocol references the segment set of
        // a scheme the device plays (the policy checked it), and `drm.scheme` says which.
        let (manifest_path, manifest_scheme) = asset
            .manifest_for(&decision.protocol)
            .map(|(p, s)| (p, s.map(str::to_string)))
            .ok_or_else(|| {
                ApiError::internal("no_manifest", "the policy chose a missing manifest")
            })?;
        let base = &self.public_base_url;
        let mut manifest_url = format!("{base}{prefix}tok={edge_token}/{manifest_path}");
        let edge = match &self.cdn {
            Some(cdn) => {
                let auth = cdn
                    .sign_playback(&prefix, manifest_path, &sid, exp, client_ip)
                    .map_err(|e| ApiError::internal("edge_token", e.to_string()))?;
                manifest_url = auth.manifest_url.clone();
                Some(auth)
            }
            None => None,
        };

        let drm = match (&manifest_scheme, decision.key_system) {
            (Some(scheme), Some(key_system)) => {
                let licence_token = self.internal.sign(
                    LICENCE_PURPOSE,
                    &LicenceClaims {
                        sid: sid.clone(),
                        asset: asset.asset_id.clone(),
                        exp,
                        sub: identity.sub.clone(),
                        plans: identity.plans.clone(),
                        device: req.device.clone(),
                        country: country.clone(),
                    },
                );
                let mut licence_urls = decision.vendor_licence_urls.clone();
                let clearkey_url = format!("{base}{CLEARKEY_LICENCE_PATH}");
                if key_system == "org.w3.clearkey" {
                    licence_urls.insert(key_system.clone(), clearkey_url.clone());
                }
                let mut key_ids: Vec<String> = Vec::new();
                // A rendition names its key by label; its own `kid` is optional.
                let kids = asset.renditions.iter().filter_map(|r| {
                    r.kid.as_deref().or_else(|| {
                        let label = r.key_label.as_deref()?;
                        asset
                            .keys
                            .iter()
                            .find(|k| k.label == label)
                            .map(|k| k.kid.as_str())
                    })
                });
                for kid in kids {
                    let kid = kid.to_ascii_lowercase();
                    if !key_ids.contains(&kid) {
                        key_ids.push(kid);
                    }
                }
                Some(DrmInfo {
                    key_ids,
                    licence_url: licence_urls
                        .get(&key_system)
                        .cloned()
                        .unwrap_or(clearkey_url),
                    key_system,
                    scheme: scheme.clone(),
                    licence_token,
                    licence_urls,
                })
            }
            _ => None,
        };
        let session_token = self.internal.sign(
            SESSION_PURPOSE,
            &SessionClaims {
                sid: sid.clone(),
                asset: asset.asset_id.clone(),
                sub: identity.sub.clone(),
                iat: now,
                exp,
            },
        );
        Ok(PlaybackStartResponse {
            asset_id: asset.asset_id.clone(),
            session_id: sid,
            protocol: decision.protocol,
            manifest_url,
            drm,
            expires_at: exp,
            telemetry: TelemetryInfo {
                url: format!("{base}{EVENTS_PATH}"),
                session_token,
                max_batch: crate::telemetry::events::MAX_BATCH_EVENTS,
            },
            edge,
        })
    }

    /// W3C Clear Key licence (EME §9.1.4): `token` is the licence token (from
    /// `Authorization: Bearer`), `body` the raw request `{"kids":[…],"type":…}` whatever its
    /// content type, `trusted_country` the country from a trusted edge header (if configured;
    /// else the country decided at playback start is used). The policy in force decides again
    /// (entitlement, geo) before any key is released. Answers the JWK set for exactly the
    /// requested KIDs, all of which must belong to the token's asset.
    pub fn clearkey_licence(
        &self,
        token: Option<&str>,
        body: &[u8],
        trusted_country: Option<&str>,
        now: u64,
    ) -> Result<String, ApiError> {
        let asset = self.licensed_asset(token, trusted_country, now)?;
        if body.len() > MAX_REQUEST_BYTES {
            return Err(ApiError::too_large(MAX_REQUEST_BYTES));
        }
        #[derive(Deserialize)]
        struct LicenceRequest {
            kids: Vec<String>,
            #[serde(rename = "type", default)]
            kind: Option<String>,
        }
        let req: LicenceRequest = serde_json::from_slice(body).map_err(|e| {
            ApiError::bad_request("malformed_body", format!("licence request: {e}"))
        })?;
        if let Some(kind) = &req.kind {
            if kind != "temporary" {
                return Err(ApiError::bad_request(
                    "unsupported_session_type",
                    format!("session type {kind:?}: only \"temporary\" is issued"),
                ));
            }
        }
        if req.kids.is_empty() || req.kids.len() > MAX_LICENCE_KIDS {
            return Err(ApiError::bad_request(
                "bad_kids",
                format!("kids must list 1 to {MAX_LICENCE_KIDS} key ids"),
            ));
        }
        #[derive(Serialize)]
        struct Jwk {
            kty: &'static str,
            kid: String,
            k: String,
        }
        let mut keys = Vec::with_capacity(req.kids.len());
        for kid_b64 in &req.kids {
            // Chromium sends base64url without padding; tolerate padding from other clients.
            let kid: [u8; 16] = B64URL
                .decode(kid_b64.trim_end_matches('='))
                .ok()
                .and_then(|v| v.try_into().ok())
                .ok_or_else(|| {
                    ApiError::bad_request(
                        "bad_kids",
                        format!("kid {kid_b64:?} is not 16 bytes of base64url"),
                    )
                })?;
            let key = key_of_asset(&asset, &kid)?;
            keys.push(Jwk {
                kty: "oct",
                kid: B64URL.encode(kid),
                k: B64URL.encode(key),
            });
        }
        Ok(serde_json::json!({ "keys": keys, "type": "temporary" }).to_string())
    }

    /// The checks every key release makes (the Clear Key licence and the raw key): `token` is
    /// a valid licence token, not expired, its asset exists, and the policy in force still
    /// allows it (entitlement, geo: removing one revokes keys at once). Returns the asset.
    fn licensed_asset(
        &self,
        token: Option<&str>,
        trusted_country: Option<&str>,
        now: u64,
    ) -> Result<Arc<KeyManifest>, ApiError> {
        let token = token.filter(|t| !t.is_empty()).ok_or_else(|| {
            ApiError::unauthenticated("missing_token", "a licence token is required")
        })?;
        let claims: LicenceClaims = self
            .internal
            .verify(LICENCE_PURPOSE, token)
            .map_err(|e| ApiError::unauthenticated(e.reason(), format!("licence token: {e}")))?;
        if now > claims.exp {
            return Err(ApiError::unauthenticated(
                "expired",
                "the licence token has expired",
            ));
        }
        let asset = self.catalog.asset(&claims.asset).ok_or_else(|| {
            ApiError::not_found("unknown_asset", "the token's asset no longer exists")
        })?;
        // Revocation: decide again with the policy in force, from the inputs of the start.
        let country = match trusted_country {
            Some(c) => Some(c.trim().to_ascii_uppercase()),
            None => claims.country.clone(),
        };
        let identity = crate::tokens::identity::IdentityClaims {
            sub: claims.sub.clone(),
            aud: self.identity.audience().to_string(),
            exp: claims.exp,
            iat: now,
            plans: claims.plans.clone(),
        };
        self.policy
            .decide(&PolicyContext {
                identity: &identity,
                asset: &asset,
                device: &claims.device,
                country: country.as_deref(),
            })
            .map_err(|d| ApiError::forbidden(d.reason.as_str(), d.message))?;
        Ok(asset)
    }

    /// The raw 16-byte key of `kid_hex` (32 hex digits), for an HLS `#EXT-X-KEY` URI of an
    /// MPEG-TS set (`METHOD=AES-128` or `SAMPLE-AES`, KEYFORMAT identity): the licence token
    /// (`Authorization: Bearer`) is checked as for the Clear Key licence, and the key must be
    /// one of the token's asset.
    pub fn raw_key(
        &self,
        token: Option<&str>,
        kid_hex: &str,
        trusted_country: Option<&str>,
        now: u64,
    ) -> Result<[u8; 16], ApiError> {
        let asset = self.licensed_asset(token, trusted_country, now)?;
        let kid: [u8; 16] = hex::decode(kid_hex)
            .ok()
            .and_then(|v| v.try_into().ok())
            .ok_or_else(|| {
                ApiError::bad_request("bad_kid", format!("kid {kid_hex:?} is not 32 hex digits"))
            })?;
        key_of_asset(&asset, &kid)
    }

    /// Verifies a session token (telemetry) and returns its claims. Sessions are accepted for a
    /// day past their playback expiry, since players report after playing.
    pub fn verify_session(&self, token: &str, now: u64) -> Result<SessionClaims, SignedTokenError> {
        let claims: SessionClaims = self.internal.verify(SESSION_PURPOSE, token)?;
        if now > claims.exp.saturating_add(24 * 3600) {
            return Err(SignedTokenError::Expired);
        }
        Ok(claims)
    }
}

/// The key of `kid` in the licensed `asset`, for every key release (the Clear Key licence and
/// the raw HLS key): a KID of another asset, or a key held in a KMS, is refused.
fn key_of_asset(asset: &KeyManifest, kid: &[u8; 16]) -> Result<[u8; 16], ApiError> {
    let entry = asset.key_by_kid(kid).ok_or_else(|| {
        ApiError::forbidden(
            "kid_not_in_asset",
            format!("kid {} is not a key of the token's asset", hex::encode(kid)),
        )
    })?;
    entry.key_bytes().map_err(|_| {
        ApiError::forbidden("key_not_available", "this key is held in a KMS, not here")
    })
}

fn check_request(req: &PlaybackStartRequest) -> Result<(), ApiError> {
    let bad = |m: &str| Err(ApiError::bad_request("malformed_body", m.to_string()));
    if !crate::playback::key_manifest::is_valid_asset_id(&req.asset_id) {
        return bad("asset_id must be 1-128 characters of [A-Za-z0-9_.-]");
    }
    let d = &req.device;
    if d.platform.is_empty() || d.platform.len() > 64 {
        return bad("device.platform must be 1-64 characters");
    }
    if d.protocols.is_empty() {
        return bad("device.protocols must list hls and/or dash");
    }
    for p in &d.protocols {
        if p != "hls" && p != "dash" {
            return bad("device.protocols: only hls and dash");
        }
    }
    if d.key_systems.len() > 16 || d.key_systems.iter().any(|k| k.len() > 64) {
        return bad("device.key_systems: at most 16 names of at most 64 characters");
    }
    for s in &d.schemes {
        let known = crate::key_manifest::PROTECTION_SCHEMES.contains(&s.as_str())
            || crate::key_manifest::HLS_TS_METHODS.contains(&s.as_str());
        if !known {
            return bad("device.schemes: only cenc, cbcs, sample-aes and aes-128");
        }
    }
    Ok(())
}
