//! Object storage: `s3://`, `gs://` and `az://` URLs as inputs and outputs
//! (docs/object-storage.md).
//!
//! - [`url`]: [`ObjectUrl`], what the command line's object URLs name.
//! - [`store`]: [`Bucket`], blocking requests on one bucket with vodpack's retries and errors
//!   that name the object URL and the service's error code.
//! - [`upload_queue`]: [`UploadQueue`], files uploaded as soon as they are complete, a few at
//!   a time, with backpressure.
//!
//! The packager's publishing protocol (run prefix, marker, conditional switch) is in
//! `package::publish`; this room only talks to the service.
pub mod source;
pub mod store;
pub mod upload_queue;
pub mod url;

pub use source::{read_small, Source};
pub use store::{Bucket, StorageError, StorageErrorKind};
pub use upload_queue::UploadQueue;
pub use url::{ObjectUrl, Service};
