//! The library's error type. Every variant names the file or rendition and the problem, and maps
//! to a documented exit code (see docs/exit-codes.md).
use std::path::PathBuf;

/// Everything that can go wrong while packaging.
#[derive(Debug)]
pub enum Error {
    /// Bad arguments or job file (exit 2).
    Usage(String),
    /// Input is not a readable MP4 or is malformed (exit 3).
    InvalidInput { path: PathBuf, reason: String },
    /// Input is valid MP4 but uses something vodpack does not support (exit 4).
    Unsupported { path: PathBuf, reason: String },
    /// Renditions cannot be aligned (keyframes differ) (exit 5).
    Alignment(String),
    /// Keys or encryption options are wrong (exit 6).
    Key(String),
    /// The output failed `vodpack verify` / `package --verify` (exit 1).
    Verification(String),
    /// Reading or writing files failed (exit 7).
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Stopped by a signal (exit 128 + signal: 130 for SIGINT, 143 for SIGTERM).
    Interrupted { signal: i32 },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The process exit code for this error (docs/exit-codes.md).
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) => 2,
            Error::InvalidInput { .. } => 3,
            Error::Unsupported { .. } => 4,
            Error::Alignment(_) => 5,
            Error::Key(_) => 6,
            Error::Io { .. } => 7,
            Error::Interrupted { signal } => 128 + signal,
            Error::Verification(_) => 1,
        }
    }

    pub fn invalid(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        Error::InvalidInput {
            path: path.into(),
            reason: reason.into(),
        }
    }

    pub fn unsupported(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        Error::Unsupported {
            path: path.into(),
            reason: reason.into(),
        }
    }

    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
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
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}
