//! The library's top-level error, and the kinds of failure the command line reports.
//!
//! Why it exists: every library layer (box reading, codecs, keys, segment planning, packaging)
//! has its own error type that says what went wrong *there*; a packaging run has to carry any of
//! them up to the caller with the file, track and box or sample it concerns. [`Error`] is that
//! carrier: a few classic variants (kept for the layers that build them directly) and
//! [`Error::Layer`], which wraps any layer error together with its [`ErrorKind`] and the file it
//! concerns. The layer error stays reachable through [`std::error::Error::source`], so the chain
//! file → track → box/sample can be walked by a program.
//!
//! The library does not know about exit codes: the `vodpack` binary maps an [`ErrorKind`] to the
//! code documented in docs/exit-codes.md (src/cli/exit_code.rs).
//!
//! Display convention: every error's `Display` is its whole message (this level's context
//! followed by its cause's message), so `{e}` is always complete; `source()` gives the cause as
//! a value for callers that want to inspect it.
use std::path::PathBuf;

/// The boxed cause of a [`Error::Layer`]: any layer's error.
pub type BoxedSource = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What kind of failure an [`Error`] is. It decides how the failure is reported (the binary maps
/// each kind to one exit code, docs/exit-codes.md); it says nothing about where it happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Bad arguments, job file or input descriptor, or an unsafe output choice.
    Usage,
    /// An input is not a readable MP4 or is malformed.
    InvalidInput,
    /// An input is valid but uses something vodpack does not support.
    Unsupported,
    /// Renditions cannot be cut at common points (their keyframes differ).
    Alignment,
    /// Keys or encryption options are wrong.
    Key,
    /// An output failed verification.
    Verification,
    /// Reading or writing a file failed.
    Io,
    /// The run was stopped by a signal (its number: 2 for SIGINT, 15 for SIGTERM).
    Interrupted {
        /// The signal's number.
        signal: i32,
    },
}

/// Everything that can go wrong while packaging, inspecting or verifying.
#[derive(Debug)]
pub enum Error {
    /// Bad arguments or job file. Raised by the argument and plan layer only (package::job,
    /// package::output, package::run's plan checks, the binary), never by the layers below.
    Usage(String),
    /// Input is not a readable MP4 or is malformed.
    InvalidInput {
        /// The input file.
        path: PathBuf,
        /// What is wrong, with the track and box or sample when known.
        reason: String,
    },
    /// Input is valid MP4 but uses something vodpack does not support.
    Unsupported {
        /// The input file.
        path: PathBuf,
        /// What is not supported, with the track when known.
        reason: String,
    },
    /// Renditions cannot be aligned (keyframes differ).
    Alignment(String),
    /// Keys or encryption options are wrong.
    Key(String),
    /// The output failed `vodpack verify` / `package --verify`.
    Verification(String),
    /// Reading or writing files failed.
    Io {
        /// The file that could not be read or written.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// Stopped by a signal.
    Interrupted {
        /// The signal's number (2 SIGINT, 15 SIGTERM).
        signal: i32,
    },
    /// A layer's own error (box reader, codec, keys, segment plan, ...), with the file it
    /// concerns when there is one, and the kind that decides how it is reported.
    Layer {
        /// How the failure is reported.
        kind: ErrorKind,
        /// The file the error concerns (an input, or an output being written).
        path: Option<PathBuf>,
        /// The layer's error: it names the track and box or sample.
        source: BoxedSource,
    },
}

/// A `Result` whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The kind of failure (the binary maps it to the exit code).
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Usage(_) => ErrorKind::Usage,
            Error::InvalidInput { .. } => ErrorKind::InvalidInput,
            Error::Unsupported { .. } => ErrorKind::Unsupported,
            Error::Alignment(_) => ErrorKind::Alignment,
            Error::Key(_) => ErrorKind::Key,
            Error::Io { .. } => ErrorKind::Io,
            Error::Interrupted { signal } => ErrorKind::Interrupted { signal: *signal },
            Error::Verification(_) => ErrorKind::Verification,
            Error::Layer { kind, .. } => *kind,
        }
    }

    /// Wraps a layer's error: `kind` decides how it is reported, `path` names the file it
    /// concerns (when the layer itself does not know it).
    pub fn layer(kind: ErrorKind, path: Option<PathBuf>, source: impl Into<BoxedSource>) -> Self {
        Error::Layer {
            kind,
            path,
            source: source.into(),
        }
    }

    /// The input `path` is malformed: `reason` says where (track, box or sample) and how.
    pub fn invalid(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        Error::InvalidInput {
            path: path.into(),
            reason: reason.into(),
        }
    }

    /// The input `path` uses something vodpack does not support.
    pub fn unsupported(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        Error::Unsupported {
            path: path.into(),
            reason: reason.into(),
        }
    }

    /// Reading or writing `path` failed.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// The file this error concerns, when it names one.
    pub fn path(&self) -> Option<&std::path::Path> {
        match self {
            Error::InvalidInput { path, .. }
            | Error::Unsupported { path, .. }
            | Error::Io { path, .. } => Some(path),
            Error::Layer { path, .. } => path.as_deref(),
            _ => None,
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Usage(m) => write!(f, "{m}"),
            Error::InvalidInput { path, reason } => {
                write!(f, "{}: invalid input: {reason}", path.display())
            }
            Error::Unsupported { path, reason } => {
                write!(f, "{}: unsupported: {reason}", path.display())
            }
            Error::Alignment(m) => write!(f, "segment alignment: {m}"),
            Error::Key(m) => write!(f, "keys: {m}"),
            Error::Io { path, source } => write!(f, "{}: {source}", path.display()),
            Error::Interrupted { signal } => write!(
                f,
                "stopped by signal {signal}; nothing was written (the previous output is unchanged)"
            ),
            Error::Verification(m) => write!(f, "verification: {m}"),
            Error::Layer { kind, path, source } => {
                if let Some(p) = path {
                    write!(f, "{}: ", p.display())?;
                }
                let what = match kind {
                    ErrorKind::InvalidInput => "invalid input: ",
                    ErrorKind::Unsupported if path.is_some() => "unsupported: ",
                    ErrorKind::Alignment => "segment alignment: ",
                    ErrorKind::Key => "keys: ",
                    ErrorKind::Verification => "verification: ",
                    _ => "",
                };
                write!(f, "{what}{source}")
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            Error::Layer { source, .. } => Some(source.as_ref()),
            _ => None,
        }
    }
}

/// The control plane's errors (key manifest, configuration, files) keep their own type as the
/// cause; their kind follows what went wrong: an unreadable file is I/O, a malformed key
/// manifest is a key problem, a bad configuration is a usage error.
impl From<vodpack_control::Error> for Error {
    fn from(e: vodpack_control::Error) -> Self {
        let kind = match &e {
            vodpack_control::Error::Io(_) => ErrorKind::Io,
            vodpack_control::Error::KeyManifest(_) => ErrorKind::Key,
            vodpack_control::Error::Config(_) => ErrorKind::Usage,
        };
        Error::layer(kind, None, e)
    }
}

impl Error {
    /// This error, said of `path` (a layer error without a file gets it; others are kept).
    pub fn in_file(self, path: impl Into<PathBuf>) -> Self {
        match self {
            Error::Layer {
                kind,
                path: None,
                source,
            } => Error::Layer {
                kind,
                path: Some(path.into()),
                source,
            },
            other => other,
        }
    }
}

/// Where in an input a layer's error happened: the rendition (when one is being made of it),
/// the track, and the sample (1-based) when known; the layer's error (which names the box or
/// the field) is its source. The file is named by the [`Error`] around it.
#[derive(Debug)]
pub struct InTrack {
    /// The rendition made of the track, when known.
    pub rendition: Option<String>,
    /// The input's track_ID.
    pub track: u32,
    /// The sample, counted from 1 in the track, when the problem is in one sample.
    pub sample: Option<u64>,
    /// The layer's error.
    pub source: BoxedSource,
}

impl std::fmt::Display for InTrack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(r) = &self.rendition {
            write!(f, "rendition '{r}': ")?;
        }
        write!(f, "track {}", self.track)?;
        if let Some(n) = self.sample {
            write!(f, " sample {n}")?;
        }
        write!(f, ": {}", self.source)
    }
}

impl std::error::Error for InTrack {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(self.source.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Inner;
    impl std::fmt::Display for Inner {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "track 1: stsz: sample 3 is past the end")
        }
    }
    impl std::error::Error for Inner {}

    #[test]
    fn a_layer_error_keeps_its_kind_file_and_cause() {
        let e = Error::layer(ErrorKind::InvalidInput, Some("in.mp4".into()), Inner);
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert_eq!(e.path(), Some(std::path::Path::new("in.mp4")));
        assert_eq!(
            e.to_string(),
            "in.mp4: invalid input: track 1: stsz: sample 3 is past the end"
        );
        let cause = std::error::Error::source(&e).expect("a cause");
        assert!(cause.downcast_ref::<Inner>().is_some());
    }

    #[test]
    fn the_classic_variants_keep_their_messages() {
        let e = Error::invalid("a.mp4", "no moov");
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert_eq!(e.to_string(), "a.mp4: invalid input: no moov");
        let e = Error::Interrupted { signal: 15 };
        assert_eq!(e.kind(), ErrorKind::Interrupted { signal: 15 });
    }
}
