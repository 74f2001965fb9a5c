//! One bucket of an object store, used from the packager's blocking threads.
//!
//! The `object_store` crate is async; vodpack's pipeline is threads (rayon) and blocking I/O.
//! [`Bucket`] runs each request on one small process-wide tokio runtime and waits for it, so a
//! caller reads and writes objects the way it reads and writes files. Credentials and endpoint
//! come only from the standard environment of each service (`AWS_*` including
//! `AWS_ENDPOINT_URL`, `GOOGLE_APPLICATION_CREDENTIALS`, `AZURE_STORAGE_*`); an `http://`
//! endpoint is allowed because the user wrote it.
//!
//! Retries are vodpack's own (the crate's are turned off) so that each one is shown as a
//! warning; errors name the object URL and the service's error code ([`StorageError`]).
use super::url::{ObjectUrl, Service};
use bytes::Bytes;
use futures::StreamExt;
use object_store::path::Path as KeyPath;
use object_store::{
    ClientOptions, GetOptions, GetRange, ObjectMeta, ObjectStore, ObjectStoreExt, PutMode,
    PutOptions, PutPayload, RetryConfig,
};
use std::ops::Range;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// Attempts of one request before its error is final (the first + retries).
const ATTEMPTS: u32 = 4;
/// Objects at least this large are uploaded in parts of this size (S3's minimum part is 5 MiB).
pub const PART_SIZE: usize = 8 << 20;

/// What went wrong, as far as the caller decides anything by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageErrorKind {
    /// The object (or bucket) does not exist.
    NotFound,
    /// A conditional put lost: the object changed (If-Match) or exists (If-None-Match).
    Precondition,
    /// Anything else: credentials, permissions, the network, the server.
    Other,
}

/// A failed request: the object URL, the operation, the service's error code and its message.
#[derive(Debug, Clone)]
pub struct StorageError {
    /// The object (or prefix) the request was about.
    pub url: String,
    /// GET, PUT, LIST, DELETE, HEAD.
    pub op: &'static str,
    /// The service's error code (`AccessDenied`, `NoSuchBucket`, `SlowDown`,
    /// `InvalidAccessKeyId`…), or what vodpack saw when the service gave none
    /// (`NoResponse` for a connection that failed, `HTTP 503`).
    pub code: String,
    /// The service's message, shortened.
    pub detail: String,
    /// How the caller may react.
    pub kind: StorageErrorKind,
    retryable: bool,
}

impl std::fmt::Display for StorageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {} failed: {}", self.url, self.op, self.code)?;
        if !self.detail.is_empty() {
            write!(f, " ({})", self.detail)?;
        }
        Ok(())
    }
}

impl std::error::Error for StorageError {}

impl From<StorageError> for crate::Error {
    fn from(e: StorageError) -> crate::Error {
        crate::Error::layer(crate::ErrorKind::Io, None, e)
    }
}

/// The text between `<tag>` and `</tag>` in `s`.
fn xml_field<'a>(s: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}>");
    let start = s.find(&open)? + open.len();
    let len = s[start..].find(&format!("</{tag}>"))?;
    Some(&s[start..start + len])
}

/// The HTTP status in object_store's message ("… non-2xx status code: 503 Service …").
fn http_status(s: &str) -> Option<u16> {
    let at = s.find("status code: ")? + "status code: ".len();
    s[at..].get(..3)?.parse().ok()
}

fn classify(url: &str, op: &'static str, e: &object_store::Error) -> StorageError {
    // The whole chain's text: the service's XML body sits at the bottom.
    let mut text = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        text.push_str(" / ");
        text.push_str(&s.to_string());
        src = s.source();
    }
    let status = http_status(&text);
    let service_code = xml_field(&text, "Code").map(str::to_string);
    let kind = match e {
        object_store::Error::NotFound { .. } => StorageErrorKind::NotFound,
        object_store::Error::Precondition { .. } | object_store::Error::AlreadyExists { .. } => {
            StorageErrorKind::Precondition
        }
        _ => StorageErrorKind::Other,
    };
    // A missing bucket is not a missing object: the caller must not take it for "nothing yet".
    let kind = if service_code.as_deref() == Some("NoSuchBucket") {
        StorageErrorKind::Other
    } else {
        kind
    };
    let code = service_code.unwrap_or_else(|| match (kind, e, status) {
        (StorageErrorKind::NotFound, ..) => "NoSuchKey".into(),
        (StorageErrorKind::Precondition, ..) => "PreconditionFailed".into(),
        (_, object_store::Error::PermissionDenied { .. }, _) => "AccessDenied".into(),
        (_, object_store::Error::Unauthenticated { .. }, _) => "Unauthenticated".into(),
        (_, _, Some(s)) => format!("HTTP {s}"),
        (_, _, None) if text.contains("error sending request") || text.contains("onnect") => {
            "NoResponse".into()
        }
        _ => "Error".into(),
    });
    let detail = match xml_field(&text, "Message") {
        Some(m) => m.to_string(),
        None => {
            let mut t: String = e.to_string().chars().take(240).collect();
            if t.len() < e.to_string().len() {
                t.push('…');
            }
            t
        }
    };
    // Throttling, server errors and lost connections may pass; a refusal will not.
    let retryable = kind == StorageErrorKind::Other
        && (matches!(status, Some(500..=599) | Some(429))
            || code == "SlowDown"
            || code == "NoResponse"
            || (status.is_none() && text.contains("timed out")));
    StorageError {
        url: url.to_string(),
        op,
        code,
        detail,
        kind,
        retryable,
    }
}

/// Uploads in flight at once (the upload queue's; 8 were no faster than 4 and 3 slower,
/// docs/object-storage.md).
pub const CONCURRENT_UPLOADS: usize = 4;

/// Buffers of finished whole-object uploads, kept for the next ones: a segment is read into one
/// and sent from it, so no buffer is allocated per segment (freed multi-megabyte buffers grow
/// glibc's heaps instead of going back to the system, docs/memory.md).
static UPLOAD_BUFFERS: std::sync::Mutex<Vec<Vec<u8>>> = std::sync::Mutex::new(Vec::new());

/// A pooled buffer that goes back to [`UPLOAD_BUFFERS`] when the last `Bytes` sending it is
/// dropped.
struct PooledBuffer(Vec<u8>);

impl AsRef<[u8]> for PooledBuffer {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl Drop for PooledBuffer {
    fn drop(&mut self) {
        let mut buf = std::mem::take(&mut self.0);
        buf.clear();
        let mut pool = UPLOAD_BUFFERS.lock().unwrap_or_else(|e| e.into_inner());
        // No more than can be in flight at once (the uploads, and as many read ahead of them).
        if pool.len() < 2 * CONCURRENT_UPLOADS {
            pool.push(buf);
        }
    }
}

/// The whole of the local file `file` (`len` bytes), read into a pooled buffer.
async fn read_pooled(file: &std::path::Path, len: u64) -> std::io::Result<Bytes> {
    let mut buf = UPLOAD_BUFFERS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .pop()
        .unwrap_or_default();
    let file = file.to_path_buf();
    let buf = tokio::task::spawn_blocking(move || {
        use std::io::Read;
        buf.reserve(len as usize);
        std::fs::File::open(&file)?.read_to_end(&mut buf)?;
        Ok::<_, std::io::Error>(buf)
    })
    .await
    .map_err(std::io::Error::other)??;
    Ok(Bytes::from_owner(PooledBuffer(buf)))
}

/// The process-wide runtime the requests run on (two workers: the waiting is in the network).
pub(super) fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        // rustls has no provider built in (no C library to build): ring's, once. (Deprecated
        // for lacking post-quantum key exchange, which S3-compatible servers do not offer.)
        #[allow(deprecated)]
        let _ = rustls::crypto::ring::default_provider().install_default();
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("vodpack-storage")
            .enable_all()
            .build()
            .expect("the storage runtime starts")
    })
}

/// Runs `fut` on the storage runtime and waits for it.
pub fn block_on<F: std::future::Future>(fut: F) -> F::Output {
    runtime().block_on(fut)
}

/// A ranged GET under way in the background: its buffer comes back with the bytes it got.
pub type RangeRead = tokio::task::JoinHandle<(Box<[u8]>, Result<usize, StorageError>)>;

/// One bucket (container) of a service, with the environment's credentials and endpoint.
#[derive(Clone)]
pub struct Bucket {
    root: ObjectUrl,
    store: Arc<dyn ObjectStore>,
}

// A panic caught around a packaging or verify run (the mutation campaign, the verify fuzz
// loop) cannot leave the store half-updated in a way a later request observes: it holds an
// HTTP client and a credential cache, both safe to use after any request was abandoned.
impl std::panic::RefUnwindSafe for Bucket {}
impl std::panic::UnwindSafe for Bucket {}

impl std::fmt::Debug for Bucket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Bucket({})", self.root)
    }
}

/// Called with each retry's message (the binary prints it as a warning).
pub type RetryReporter = fn(&str);

static RETRY_REPORTER: OnceLock<RetryReporter> = OnceLock::new();

/// Sets what is done with a retry's message (default: `vodpack: warning: …` on stderr).
pub fn set_retry_reporter(f: RetryReporter) {
    let _ = RETRY_REPORTER.set(f);
}

fn report_retry(msg: &str) {
    match RETRY_REPORTER.get() {
        Some(f) => f(msg),
        None => eprintln!("vodpack: warning: {msg}"),
    }
}

impl Bucket {
    /// The bucket of `url`, configured from the standard environment. Nothing is requested yet.
    pub fn open(url: &ObjectUrl) -> Result<Bucket, StorageError> {
        // Starts the runtime, which installs the TLS provider the HTTP client needs.
        runtime();
        let root = ObjectUrl {
            key: String::new(),
            ..url.clone()
        };
        let options = ClientOptions::new()
            .with_connect_timeout(Duration::from_secs(5))
            .with_timeout(Duration::from_secs(120));
        let retry = RetryConfig {
            max_retries: 0,
            ..Default::default()
        };
        let fail = |e: object_store::Error| StorageError {
            url: root.to_string(),
            op: "configure",
            code: "InvalidConfiguration".into(),
            detail: e.to_string(),
            kind: StorageErrorKind::Other,
            retryable: false,
        };
        let store: Arc<dyn ObjectStore> = match url.service {
            Service::S3 => {
                let http = std::env::var("AWS_ENDPOINT_URL")
                    .or_else(|_| std::env::var("AWS_ENDPOINT"))
                    .is_ok_and(|e| e.starts_with("http://"));
                Arc::new(
                    object_store::aws::AmazonS3Builder::from_env()
                        .with_bucket_name(&url.bucket)
                        .with_client_options(options.with_allow_http(http))
                        .with_retry(retry)
                        .build()
                        .map_err(fail)?,
                )
            }
            Service::Gcs => Arc::new(
                object_store::gcp::GoogleCloudStorageBuilder::from_env()
                    .with_bucket_name(&url.bucket)
                    .with_client_options(options)
                    .with_retry(retry)
                    .build()
                    .map_err(fail)?,
            ),
            Service::Azure => Arc::new(
                object_store::azure::MicrosoftAzureBuilder::from_env()
                    .with_container_name(&url.bucket)
                    .with_client_options(options)
                    .with_retry(retry)
                    .build()
                    .map_err(fail)?,
            ),
        };
        Ok(Bucket { root, store })
    }

    /// The URL of `key` in this bucket.
    pub fn url(&self, key: &str) -> String {
        self.root.join(key).to_string()
    }

    /// Runs `attempt` up to [`ATTEMPTS`] times while its error is retryable, reporting each
    /// retry; the last error is returned.
    async fn retrying<T, Fut>(
        &self,
        key: &str,
        op: &'static str,
        mut attempt: impl FnMut() -> Fut,
    ) -> Result<T, StorageError>
    where
        Fut: std::future::Future<Output = object_store::Result<T>>,
    {
        let mut wait = Duration::from_millis(200);
        for n in 1.. {
            match attempt().await {
                Ok(v) => return Ok(v),
                Err(e) => {
                    let err = classify(&self.url(key), op, &e);
                    if !err.retryable || n >= ATTEMPTS {
                        return Err(err);
                    }
                    report_retry(&format!(
                        "{} (attempt {n} of {ATTEMPTS}; retrying in {:.1} s)",
                        err,
                        wait.as_secs_f64()
                    ));
                    tokio::time::sleep(wait).await;
                    wait *= 3;
                }
            }
        }
        unreachable!("the loop returns")
    }

    /// The object's bytes and ETag; `None` when it does not exist.
    pub fn get(&self, key: &str) -> Result<Option<(Bytes, Option<String>)>, StorageError> {
        let path = KeyPath::from(key);
        let r = block_on(self.retrying(key, "GET", || async {
            let got = self.store.get(&path).await?;
            let etag = got.meta.e_tag.clone();
            Ok((got.bytes().await?, etag))
        }));
        match r {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.kind == StorageErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Bytes `range` of the object.
    pub fn get_range(&self, key: &str, range: Range<u64>) -> Result<Bytes, StorageError> {
        let path = KeyPath::from(key);
        block_on(self.retrying(key, "GET", || self.store.get_range(&path, range.clone())))
    }

    /// Fills `out` with the bytes of the object from `start`, streaming the response body into
    /// it (no whole-response buffer). Returns how many bytes the server sent (fewer than
    /// `out.len()` when the object ends first).
    pub fn read_range_into(
        &self,
        key: &str,
        start: u64,
        out: &mut [u8],
    ) -> Result<usize, StorageError> {
        block_on(self.read_range_into_async(key, start, out))
    }

    /// [`Bucket::read_range_into`] in the background: fills the first `len` bytes of `buf` and
    /// hands the buffer back with the result.
    pub fn spawn_read_range(
        &self,
        key: &str,
        start: u64,
        mut buf: Box<[u8]>,
        len: usize,
    ) -> RangeRead {
        let (bucket, key) = (self.clone(), key.to_string());
        runtime().spawn(async move {
            let r = bucket
                .read_range_into_async(&key, start, &mut buf[..len])
                .await;
            (buf, r)
        })
    }

    async fn read_range_into_async(
        &self,
        key: &str,
        start: u64,
        out: &mut [u8],
    ) -> Result<usize, StorageError> {
        let path = KeyPath::from(key);
        let range = start..start + out.len() as u64;
        // A retry starts filling again from the beginning; the lock lets each attempt borrow
        // `out` (the attempts run one after another, so it is never contended). tokio's, whose
        // guard may be held across an await in a task that moves between threads.
        let out = tokio::sync::Mutex::new(out);
        self.retrying(key, "GET", || async {
            let options = GetOptions {
                range: Some(GetRange::Bounded(range.clone())),
                ..GetOptions::default()
            };
            let mut body = self.store.get_opts(&path, options).await?.into_stream();
            let mut out = out.lock().await;
            let mut filled = 0;
            while let Some(chunk) = body.next().await {
                let chunk = chunk?;
                let n = chunk.len().min(out.len() - filled);
                out[filled..filled + n].copy_from_slice(&chunk[..n]);
                filled += n;
            }
            Ok(filled)
        })
        .await
    }

    /// The object's size and ETag; `None` when it does not exist.
    pub fn head(&self, key: &str) -> Result<Option<ObjectMeta>, StorageError> {
        let path = KeyPath::from(key);
        match block_on(self.retrying(key, "HEAD", || self.store.head(&path))) {
            Ok(m) => Ok(Some(m)),
            Err(e) if e.kind == StorageErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Every object under `prefix` (a key prefix ending at a `/` boundary; empty: the bucket).
    pub fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>, StorageError> {
        let path = (!prefix.is_empty()).then(|| KeyPath::from(prefix));
        block_on(self.retrying(prefix, "LIST", || async {
            let mut out = Vec::new();
            let mut stream = self.store.list(path.as_ref());
            while let Some(m) = stream.next().await {
                out.push(m?);
            }
            Ok(out)
        }))
    }

    /// Writes `bytes` to `key` under `mode` (Overwrite, Create = If-None-Match,
    /// Update = If-Match); returns the new ETag.
    pub fn put(
        &self,
        key: &str,
        bytes: Bytes,
        mode: PutMode,
    ) -> Result<Option<String>, StorageError> {
        let path = KeyPath::from(key);
        block_on(self.put_async(&path, key, bytes, mode))
    }

    async fn put_async(
        &self,
        path: &KeyPath,
        key: &str,
        bytes: Bytes,
        mode: PutMode,
    ) -> Result<Option<String>, StorageError> {
        let r = self
            .retrying(key, "PUT", || {
                let opts = PutOptions {
                    mode: mode.clone(),
                    ..Default::default()
                };
                self.store
                    .put_opts(path, PutPayload::from_bytes(bytes.clone()), opts)
            })
            .await?;
        Ok(r.e_tag)
    }

    /// Uploads the local file `file` to `key`, in parts of [`PART_SIZE`] when it is larger
    /// (a failed multipart upload is aborted). Returns the bytes uploaded.
    pub async fn upload_file(
        &self,
        key: &str,
        file: &std::path::Path,
    ) -> Result<u64, StorageError> {
        let io_fail = |e: std::io::Error| StorageError {
            url: format!("{} -> {}", file.display(), self.url(key)),
            op: "read",
            code: "LocalReadError".into(),
            detail: e.to_string(),
            kind: StorageErrorKind::Other,
            retryable: false,
        };
        let path = KeyPath::from(key);
        let len = tokio::fs::metadata(file).await.map_err(io_fail)?.len();
        if len <= PART_SIZE as u64 {
            let bytes = read_pooled(file, len).await.map_err(io_fail)?;
            self.put_async(&path, key, bytes, PutMode::Overwrite)
                .await?;
            return Ok(len);
        }
        use tokio::io::AsyncReadExt;
        let mut upload = self
            .retrying(key, "PUT (multipart start)", || {
                self.store.put_multipart(&path)
            })
            .await?;
        let mut f = tokio::fs::File::open(file).await.map_err(io_fail)?;
        let result: Result<(), StorageError> = async {
            let mut left = len;
            while left > 0 {
                let n = left.min(PART_SIZE as u64) as usize;
                let mut buf = vec![0u8; n];
                f.read_exact(&mut buf).await.map_err(io_fail)?;
                let payload = PutPayload::from(buf);
                // A part is retried whole: object_store's part future is not repeatable.
                upload
                    .put_part(payload)
                    .await
                    .map_err(|e| classify(&self.url(key), "PUT (part)", &e))?;
                left -= n as u64;
                crate::cancel::check().map_err(|e| StorageError {
                    url: self.url(key),
                    op: "PUT",
                    code: "Interrupted".into(),
                    detail: e.to_string(),
                    kind: StorageErrorKind::Other,
                    retryable: false,
                })?;
            }
            upload
                .complete()
                .await
                .map(|_| ())
                .map_err(|e| classify(&self.url(key), "PUT (multipart complete)", &e))
        }
        .await;
        if let Err(e) = result {
            // The process lives: leave no parts behind on the service.
            let _ = upload.abort().await;
            return Err(e);
        }
        Ok(len)
    }

    /// Removes `key` (a missing object is not an error).
    pub fn delete(&self, key: &str) -> Result<(), StorageError> {
        let path = KeyPath::from(key);
        match block_on(self.retrying(key, "DELETE", || self.store.delete(&path))) {
            Err(e) if e.kind != StorageErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}
