//! A telemetry batch checked against the playback sessions that sent it: every event's session
//! token must verify before anything else is looked at, then each event passes the telemetry
//! rules (`crate::telemetry::events`) against its session's asset. Refusals are [`ApiError`]s;
//! an authenticated refusal also yields a redacted dead-letter record.

use std::collections::HashMap;

use crate::playback::api::{ApiError, ControlPlane, SessionClaims};
use crate::telemetry::events::{
    check_event, AcceptedEvent, Dedup, EventBatch, RejectRecord, EVENT_SCHEMA_VERSION,
    MAX_BATCH_BYTES, MAX_BATCH_EVENTS, MAX_REJECT_BODY_BYTES,
};

/// A refused batch: the error answered, and the dead-letter record when the batch was
/// authenticated (every session token verified); anonymous batches are never stored.
#[derive(Debug, Clone)]
pub struct Refused {
    /// The answer.
    pub error: ApiError,
    /// What a dead-letter sink may store.
    pub record: Option<Box<RejectRecord>>,
}

/// A batch that passed validation.
#[derive(Debug, Clone)]
pub struct Validated {
    /// New events, already reserved in the [`Dedup`] window: store them, then
    /// [`Dedup::commit`] (or [`Dedup::release`] on failure) their keys.
    pub events: Vec<AcceptedEvent>,
    /// Events dropped as duplicates (stored or being stored by another request).
    pub duplicates: usize,
}

fn reject(index: usize, msg: impl Into<String>) -> ApiError {
    ApiError::bad_request("invalid_event", format!("event {index}: {}", msg.into()))
}

impl ControlPlane {
    /// Validates a telemetry batch strictly and reserves its new event ids in `dedup` (events
    /// of the same session already reserved or stored, or earlier in the batch, are dropped as
    /// duplicates). On refusal the whole batch is refused; a dead-letter record is produced only
    /// when every event carried a valid session token, and it holds no token.
    pub fn validate_events(
        &self,
        body: &[u8],
        dedup: &Dedup,
        now_ms: i64,
    ) -> Result<Validated, Refused> {
        let anonymous = |error: ApiError| Refused {
            error,
            record: None,
        };
        if body.len() > MAX_BATCH_BYTES {
            return Err(anonymous(ApiError::too_large(MAX_BATCH_BYTES)));
        }
        // First authenticate: every event's session token must verify, whatever else is wrong.
        let value: serde_json::Value = serde_json::from_slice(body).map_err(|e| {
            anonymous(ApiError::bad_request(
                "malformed_body",
                format!("event batch: {e}"),
            ))
        })?;
        let now_s = u64::try_from(now_ms / 1000).unwrap_or(0);
        let mut sessions: HashMap<String, SessionClaims> = HashMap::new();
        let raw_events = value
            .get("events")
            .and_then(|e| e.as_array())
            .ok_or_else(|| {
                anonymous(ApiError::bad_request(
                    "malformed_body",
                    "event batch: expected {\"events\": [...]}",
                ))
            })?;
        if raw_events.is_empty() || raw_events.len() > MAX_BATCH_EVENTS {
            return Err(anonymous(ApiError::bad_request(
                "bad_batch_size",
                format!("a batch holds 1 to {MAX_BATCH_EVENTS} events"),
            )));
        }
        for (i, e) in raw_events.iter().enumerate() {
            let token = e
                .get("session_token")
                .and_then(|t| t.as_str())
                .unwrap_or("");
            if sessions.contains_key(token) {
                continue;
            }
            let claims = self.verify_session(token, now_s).map_err(|err| {
                anonymous(ApiError::bad_request(
                    "invalid_session",
                    format!("event {i}: session token refused: {err}"),
                ))
            })?;
            sessions.insert(token.to_string(), claims);
        }
        // Authenticated from here: refusals may be dead-lettered (redacted).
        let first = sessions
            .values()
            .next()
            .cloned()
            .expect("at least one event");
        let refuse = |error: ApiError| {
            let mut redacted = value.clone();
            if let Some(events) = redacted.get_mut("events").and_then(|e| e.as_array_mut()) {
                for e in events {
                    if let Some(o) = e.as_object_mut() {
                        o.remove("session_token");
                    }
                }
            }
            let mut text = redacted.to_string();
            let truncated = text.len() > MAX_REJECT_BODY_BYTES;
            if truncated {
                let mut cut = MAX_REJECT_BODY_BYTES;
                while !text.is_char_boundary(cut) {
                    cut -= 1;
                }
                text.truncate(cut);
            }
            Refused {
                record: Some(Box::new(RejectRecord {
                    schema_version: EVENT_SCHEMA_VERSION,
                    reason: error.reason.clone(),
                    message: error.message.clone(),
                    session_id: first.sid.clone(),
                    asset_id: first.asset.clone(),
                    received_at: now_ms,
                    body: text,
                    truncated,
                })),
                error,
            }
        };
        let batch: EventBatch = serde_json::from_value(value.clone()).map_err(|e| {
            refuse(ApiError::bad_request(
                "malformed_body",
                format!("event batch: {e}"),
            ))
        })?;
        let mut accepted = Vec::with_capacity(batch.events.len());
        for (i, e) in batch.events.iter().enumerate() {
            let claims = sessions
                .get(e.session_token.as_str())
                .cloned()
                .expect("every token was verified above");
            let duration = self
                .catalog
                .asset(&claims.asset)
                .map(|a| a.duration)
                .unwrap_or(0.0);
            check_event(e, duration, now_ms).map_err(|m| refuse(reject(i, m)))?;
            let mut event = e.clone();
            event.session_token = String::new();
            accepted.push(AcceptedEvent {
                schema_version: EVENT_SCHEMA_VERSION,
                session_id: claims.sid,
                asset_id: claims.asset,
                received_at: now_ms,
                event,
            });
        }
        let before = accepted.len();
        // Reserve atomically: of identical events racing in several requests, one wins.
        accepted.retain(|a| dedup.reserve(&Dedup::key(a)));
        let duplicates = before - accepted.len();
        Ok(Validated {
            events: accepted,
            duplicates,
        })
    }
}
