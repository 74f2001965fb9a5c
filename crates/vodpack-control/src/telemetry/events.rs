//! Player events: the batch and event formats, the strict checks of one event, the records
//! written to sinks, the [`EventSink`] trait, de-duplication and the dead-letter rate limit.
//! Nothing here knows about playback sessions: `crate::playback::session_events` checks a
//! batch's session tokens and then these rules. Formats are in `docs/control-plane.md`.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// Version of the records written to sinks.
pub const EVENT_SCHEMA_VERSION: u32 = 1;
/// Most events in one batch.
pub const MAX_BATCH_EVENTS: usize = 100;
/// Largest batch body.
pub const MAX_BATCH_BYTES: usize = 64 * 1024;
/// Event timestamps may be at most this far in the future (ms)…
pub const MAX_FUTURE_SKEW_MS: i64 = 5 * 60 * 1000;
/// …and at most this old (ms): players queue events while offline, not for days.
pub const MAX_EVENT_AGE_MS: i64 = 24 * 3600 * 1000;
/// Event types accepted.
pub const EVENT_TYPES: [&str; 10] = [
    "start",
    "play",
    "pause",
    "seek",
    "rebuffer_start",
    "rebuffer_end",
    "quality_change",
    "error",
    "end",
    "heartbeat",
];

/// A batch as posted.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventBatch {
    /// The events, 1 to [`MAX_BATCH_EVENTS`].
    pub events: Vec<PlayerEvent>,
}

/// One player event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlayerEvent {
    /// The signed session id from the playback answer (`telemetry.session_token`); removed from
    /// the records written to sinks.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub session_token: String,
    /// Unique id of the event, for de-duplication: 1-64 of `[A-Za-z0-9_-]`.
    pub event_id: String,
    /// Per-session sequence number.
    pub seq: u64,
    /// Event type, one of [`EVENT_TYPES`].
    #[serde(rename = "type")]
    pub kind: String,
    /// Client timestamp, Unix milliseconds.
    pub ts: i64,
    /// Playback position in seconds.
    pub position: f64,
    /// `quality_change`: new bitrate (bit/s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bitrate: Option<u64>,
    /// `quality_change`: new width.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    /// `quality_change`: new height.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    /// `seek`: position before the seek.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_position: Option<f64>,
    /// `error`: the player's error code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// `error`: a short message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// CTA-5004 (CMCD) keys, e.g. `{"br": 3200, "bl": 2000, "sid": "…"}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cmcd: Option<serde_json::Map<String, serde_json::Value>>,
}

/// An event that passed validation, as written to sinks (one NDJSON line / Kafka record value).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AcceptedEvent {
    /// [`EVENT_SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Session id from the verified token (the Kafka key).
    pub session_id: String,
    /// Asset id from the verified token.
    pub asset_id: String,
    /// Server receive time, Unix milliseconds.
    pub received_at: i64,
    /// The event, with the session token removed.
    pub event: PlayerEvent,
}

/// A boxed future, so sinks can be trait objects without an async-trait dependency.
pub type SinkFuture<'a> = Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>>;

/// Largest part of a refused batch kept in a dead-letter record (bytes of redacted JSON).
pub const MAX_REJECT_BODY_BYTES: usize = 8 * 1024;

/// A refused batch as stored by a sink's dead-letter path. Only batches whose every session
/// token verified are stored (anonymous junk is refused and never written), and the body is
/// re-serialised without any `session_token`, so a dead-letter record never holds a token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RejectRecord {
    /// [`EVENT_SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The machine-readable reason (`invalid_event`, `bad_batch_size`, …).
    pub reason: String,
    /// Details for humans.
    pub message: String,
    /// The session of the batch (from its verified token).
    pub session_id: String,
    /// Its asset.
    pub asset_id: String,
    /// Server receive time, Unix milliseconds.
    pub received_at: i64,
    /// The batch with every `session_token` removed, cut to [`MAX_REJECT_BODY_BYTES`].
    pub body: String,
    /// True when `body` was cut.
    #[serde(default)]
    pub truncated: bool,
}

/// Where accepted events (and rejected batches) go.
pub trait EventSink: Send + Sync {
    /// Stores accepted events durably before returning `Ok`.
    fn write<'a>(&'a self, events: &'a [AcceptedEvent]) -> SinkFuture<'a>;
    /// Stores a refused (authenticated) batch: a dead-letter record.
    fn dead_letter<'a>(&'a self, record: &'a RejectRecord) -> SinkFuture<'a>;
}

/// Limits how many refused batches reach a dead-letter sink: a token bucket of `burst` records
/// refilled at `per_second`. Refused batches over the rate are answered as usual, not stored.
pub struct RejectLimiter {
    state: Mutex<(f64, std::time::Instant)>,
    burst: f64,
    per_second: f64,
}

impl RejectLimiter {
    /// A bucket of `burst` records refilled at `per_second`.
    pub fn new(burst: u32, per_second: f64) -> Self {
        RejectLimiter {
            state: Mutex::new((f64::from(burst), std::time::Instant::now())),
            burst: f64::from(burst),
            per_second: per_second.max(0.0),
        }
    }

    /// True when one more record may be stored now.
    pub fn allow(&self) -> bool {
        let mut g = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let now = std::time::Instant::now();
        let refill = now.duration_since(g.1).as_secs_f64() * self.per_second;
        g.0 = (g.0 + refill).min(self.burst);
        g.1 = now;
        if g.0 >= 1.0 {
            g.0 -= 1.0;
            true
        } else {
            false
        }
    }
}

impl Default for RejectLimiter {
    /// 20 records at once, then 2 per second.
    fn default() -> Self {
        RejectLimiter::new(20, 2.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    /// A request holds the event id and is storing it.
    Pending,
    /// Stored.
    Stored,
}

/// Remembers recent event ids to drop duplicates (a bounded FIFO window). An id is *reserved*
/// atomically before its event is stored, so of several identical events arriving at once
/// exactly one is stored; a failed store releases the reservation so that a retry can store it.
pub struct Dedup {
    inner: Mutex<(HashMap<String, Slot>, VecDeque<String>)>,
    capacity: usize,
}

impl Dedup {
    /// A window of the last `capacity` event ids.
    pub fn new(capacity: usize) -> Self {
        Dedup {
            inner: Mutex::new((HashMap::new(), VecDeque::new())),
            capacity: capacity.max(1),
        }
    }

    /// True when `key` is reserved or stored.
    pub fn contains(&self, key: &str) -> bool {
        let g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        g.0.contains_key(key)
    }

    /// The de-duplication key of an accepted event.
    pub fn key(e: &AcceptedEvent) -> String {
        format!("{}/{}", e.session_id, e.event.event_id)
    }

    /// Reserves `key`; true when it was neither reserved nor stored (the caller must then
    /// [`Dedup::commit`] or [`Dedup::release`] it).
    pub fn reserve(&self, key: &str) -> bool {
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let (map, order) = &mut *g;
        if map.contains_key(key) {
            return false;
        }
        while order.len() >= self.capacity {
            match order.pop_front() {
                Some(old) => {
                    map.remove(&old);
                }
                None => break,
            }
        }
        map.insert(key.to_string(), Slot::Pending);
        order.push_back(key.to_string());
        true
    }

    /// Marks reserved keys as stored.
    pub fn commit<'a>(&self, keys: impl IntoIterator<Item = &'a str>) {
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        for k in keys {
            if let Some(slot) = g.0.get_mut(k) {
                *slot = Slot::Stored;
            }
        }
    }

    /// Forgets reserved keys whose events could not be stored.
    pub fn release<'a>(&self, keys: impl IntoIterator<Item = &'a str>) {
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let (map, order) = &mut *g;
        for k in keys {
            if map.get(k) == Some(&Slot::Pending) {
                map.remove(k);
                if let Some(i) = order.iter().position(|o| o == k) {
                    order.remove(i);
                }
            }
        }
    }

    /// Records `key` as stored; true when it was new.
    pub fn insert(&self, key: &str) -> bool {
        let new = self.reserve(key);
        if new {
            self.commit([key]);
        }
        new
    }
}

/// CMCD keys (CTA-5004 §3.3) and whether their value is a number (else string or boolean).
const CMCD_KEYS: [(&str, char); 18] = [
    ("br", 'n'),
    ("bl", 'n'),
    ("bs", 'b'),
    ("cid", 's'),
    ("d", 'n'),
    ("dl", 'n'),
    ("mtp", 'n'),
    ("nor", 's'),
    ("nrr", 's'),
    ("ot", 's'),
    ("pr", 'n'),
    ("rtp", 'n'),
    ("sf", 's'),
    ("sid", 's'),
    ("st", 's'),
    ("su", 'b'),
    ("tb", 'n'),
    ("v", 'n'),
];

fn check_cmcd(map: &serde_json::Map<String, serde_json::Value>) -> Result<(), String> {
    if map.len() > 32 {
        return Err("cmcd: too many keys".into());
    }
    for (k, v) in map {
        let kind = CMCD_KEYS
            .iter()
            .find(|(name, _)| name == k)
            .map(|(_, t)| *t);
        // Custom keys must contain a hyphen (CTA-5004 §3.1), e.g. `com.example-myKey`.
        let kind = match kind {
            Some(t) => t,
            None if k.contains('-') && k.len() <= 64 => 'a',
            None => return Err(format!("cmcd: unknown key {k:?}")),
        };
        let ok = match (kind, v) {
            ('n', serde_json::Value::Number(n)) => {
                n.as_f64().is_some_and(|f| (0.0..1e12).contains(&f))
            }
            ('s', serde_json::Value::String(s)) => s.len() <= 256,
            ('b', serde_json::Value::Bool(_)) => true,
            ('a', serde_json::Value::String(s)) => s.len() <= 256,
            ('a', serde_json::Value::Number(_) | serde_json::Value::Bool(_)) => true,
            _ => false,
        };
        if !ok {
            return Err(format!("cmcd: bad value for {k:?}"));
        }
    }
    Ok(())
}

pub(crate) fn check_event(e: &PlayerEvent, duration: f64, now_ms: i64) -> Result<(), String> {
    if e.event_id.is_empty()
        || e.event_id.len() > 64
        || !e
            .event_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err("event_id must be 1-64 characters of [A-Za-z0-9_-]".into());
    }
    if !EVENT_TYPES.contains(&e.kind.as_str()) {
        return Err(format!("unknown type {:?}", e.kind));
    }
    if e.seq > 1 << 53 {
        return Err("seq is absurd".into());
    }
    if e.ts > now_ms + MAX_FUTURE_SKEW_MS || e.ts < now_ms - MAX_EVENT_AGE_MS {
        return Err("ts is too far from the server clock".into());
    }
    // Allow a little past the end: players report a position slightly beyond the last frame.
    let max_pos = duration + 60.0;
    let pos_ok = |p: f64| p.is_finite() && (0.0..=max_pos).contains(&p);
    if !pos_ok(e.position) {
        return Err(format!("position {} is outside 0..={max_pos}", e.position));
    }
    let quality = e.kind == "quality_change";
    match (quality, e.bitrate, e.width, e.height) {
        (true, Some(b), Some(w), Some(h)) => {
            if b == 0 || b > 1_000_000_000 || w == 0 || w > 16384 || h == 0 || h > 16384 {
                return Err("quality_change: absurd bitrate or resolution".into());
            }
        }
        (true, _, _, _) => return Err("quality_change needs bitrate, width and height".into()),
        (false, None, None, None) => {}
        (false, _, _, _) => return Err("bitrate/width/height only belong to quality_change".into()),
    }
    match (e.kind.as_str(), e.from_position) {
        ("seek", Some(p)) if !pos_ok(p) => return Err("seek: from_position is absurd".into()),
        ("seek", _) => {}
        (_, Some(_)) => return Err("from_position only belongs to seek".into()),
        _ => {}
    }
    match (e.kind.as_str(), &e.error_code) {
        ("error", Some(c)) if !c.is_empty() && c.len() <= 64 => {}
        ("error", _) => return Err("error needs an error_code of 1-64 characters".into()),
        (_, Some(_)) => return Err("error_code only belongs to error".into()),
        _ => {}
    }
    if let Some(m) = &e.error_message {
        if e.kind != "error" || m.len() > 1024 {
            return Err("error_message only belongs to error, at most 1024 bytes".into());
        }
    }
    if let Some(c) = &e.cmcd {
        check_cmcd(c)?;
    }
    Ok(())
}
