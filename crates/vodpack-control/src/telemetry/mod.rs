//! Player telemetry: `POST /v1/playback/events` batches validated strictly, then handed to an
//! [`EventSink`]: the event formats and rules ([`events`]), the embedded NDJSON file sink
//! ([`ndjson`], [`FileSink`]) and the production Kafka sink (`kafka` feature, [`kafka`]).
//! Sessions are checked above this room, in `crate::playback::session_events`. Event and record
//! formats are in `docs/control-plane.md`.

pub mod events;
#[cfg(feature = "kafka")]
pub mod kafka;
pub mod ndjson;

pub use events::{
    AcceptedEvent, Dedup, EventBatch, EventSink, PlayerEvent, RejectLimiter, RejectRecord,
    SinkFuture, EVENT_SCHEMA_VERSION, EVENT_TYPES, MAX_BATCH_BYTES, MAX_BATCH_EVENTS,
    MAX_EVENT_AGE_MS, MAX_FUTURE_SKEW_MS, MAX_REJECT_BODY_BYTES,
};
pub use ndjson::{FileSink, MAX_REJECTED_FILE_BYTES};
