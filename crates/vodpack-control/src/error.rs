//! The crate's error type.

use std::fmt;

/// Result alias for the control plane.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Errors of the control-plane library. Messages never contain key material or token secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The key manifest is malformed or breaks a schema rule.
    KeyManifest(String),
    /// A file could not be read or written.
    Io(String),
    /// A configuration (policy file, signing keys, serve options) is invalid.
    Config(String),
}

impl Error {
    /// The message without its category prefix.
    pub fn detail(&self) -> &str {
        match self {
            Error::KeyManifest(m) | Error::Io(m) | Error::Config(m) => m,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::KeyManifest(m) => write!(f, "key manifest: {m}"),
            Error::Io(m) => write!(f, "I/O: {m}"),
            Error::Config(m) => write!(f, "configuration: {m}"),
        }
    }
}

impl std::error::Error for Error {}
