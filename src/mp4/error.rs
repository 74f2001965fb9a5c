//! The box layer's error type: what box, and what went wrong with it. Every read in `mp4` is
//! bounded and checked, so malformed input surfaces here instead of as a panic or a silent wrap;
//! the layers above add the file and track (see `crate::error`).
use super::fourcc_str;
use std::fmt;

/// A failure to read or write a box.
#[derive(Debug)]
#[non_exhaustive]
pub enum BoxError {
    /// Fewer than 8 bytes where a box header should be.
    ShortHeader {
        /// Bytes left.
        left: usize,
    },
    /// A box header that says its box is smaller than the header itself.
    SizeBelowHeader {
        /// The box type.
        fourcc: [u8; 4],
        /// The size it claims.
        size: u64,
    },
    /// A box whose size runs past its parent (or the file): the size lies or the data is cut.
    SizeLies {
        /// The box type.
        fourcc: [u8; 4],
        /// The size it claims.
        claimed: u64,
        /// What its parent has left.
        left: u64,
    },
    /// A field read past the end of the box body.
    Truncated {
        /// The box type.
        fourcc: [u8; 4],
        /// Bytes the read needed.
        needed: usize,
        /// Bytes left in the body.
        left: usize,
    },
    /// A table whose entry count cannot fit in what is left of its box (checked before any
    /// allocation is sized by the count).
    TableTooLarge {
        /// The box type.
        fourcc: [u8; 4],
        /// The entry count from the file.
        count: u64,
        /// Bytes per entry.
        entry_size: usize,
        /// Bytes left in the body.
        left: usize,
    },
    /// A full box version this layer does not know.
    BadVersion {
        /// The box type.
        fourcc: [u8; 4],
        /// The version found.
        version: u8,
    },
    /// A required child box is absent.
    MissingChild {
        /// The parent box type.
        parent: [u8; 4],
        /// The child box type.
        child: [u8; 4],
    },
    /// A box of one type was handed to the reader of another.
    WrongType {
        /// What the reader expected.
        expected: [u8; 4],
        /// What it was given.
        found: [u8; 4],
    },
    /// A value too large for the field that must hold it (on write: a count over 32 bits...).
    Overflow {
        /// The box type.
        fourcc: [u8; 4],
        /// The field.
        field: &'static str,
        /// The value that does not fit.
        value: u128,
    },
    /// A field whose value the standard forbids.
    BadValue {
        /// The box type.
        fourcc: [u8; 4],
        /// What is wrong, in words.
        message: String,
    },
    /// A problem found by a caller interpreting boxes (sample tables that disagree...).
    Invalid(String),
    /// An I/O error while scanning or loading a box from a file.
    Io {
        /// Where (e.g. "at byte 1234").
        context: String,
        /// The cause.
        source: std::io::Error,
    },
    /// An error with the place it happened (track, sample...) in front.
    Context {
        /// Where, e.g. "track 1".
        context: String,
        /// The cause.
        source: Box<BoxError>,
    },
}

impl BoxError {
    /// A free-form problem found while interpreting boxes.
    pub fn invalid(message: impl Into<String>) -> Self {
        BoxError::Invalid(message.into())
    }

    /// A forbidden field value in `fourcc`.
    pub fn bad_value(fourcc: [u8; 4], message: impl Into<String>) -> Self {
        BoxError::BadValue {
            fourcc,
            message: message.into(),
        }
    }

    /// Puts `context` ("track 1", "senc sample 3") in front of this error.
    pub fn context(self, context: impl Into<String>) -> Self {
        BoxError::Context {
            context: context.into(),
            source: Box::new(self),
        }
    }
}

impl fmt::Display for BoxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BoxError::ShortHeader { left } => {
                write!(f, "box header needs 8 bytes, {left} left")
            }
            BoxError::SizeBelowHeader { fourcc, size } => write!(
                f,
                "'{}' box: size {size} is smaller than its header",
                fourcc_str(fourcc)
            ),
            BoxError::SizeLies {
                fourcc,
                claimed,
                left,
            } => write!(
                f,
                "'{}' box claims {claimed} bytes but only {left} remain in its parent",
                fourcc_str(fourcc)
            ),
            BoxError::Truncated {
                fourcc,
                needed,
                left,
            } => write!(
                f,
                "'{}' box truncated: needs {needed} more bytes, {left} left",
                fourcc_str(fourcc)
            ),
            BoxError::TableTooLarge {
                fourcc,
                count,
                entry_size: 0,
                ..
            } => write!(
                f,
                "'{}' box: {count} entries exceed the limit of {}",
                fourcc_str(fourcc),
                super::boxes::MAX_EMPTY_ENTRIES
            ),
            BoxError::TableTooLarge {
                fourcc,
                count,
                entry_size,
                left,
            } => write!(
                f,
                "'{}' box: {count} entries of {entry_size} bytes do not fit in {left} bytes",
                fourcc_str(fourcc)
            ),
            BoxError::BadVersion { fourcc, version } => write!(
                f,
                "'{}' box: version {version} is not supported",
                fourcc_str(fourcc)
            ),
            BoxError::MissingChild { parent, child } => write!(
                f,
                "'{}' box has no '{}' child",
                fourcc_str(parent),
                fourcc_str(child)
            ),
            BoxError::WrongType { expected, found } => write!(
                f,
                "expected a '{}' box, found '{}'",
                fourcc_str(expected),
                fourcc_str(found)
            ),
            BoxError::Overflow {
                fourcc,
                field,
                value,
            } => write!(
                f,
                "'{}' box: {field} {value} does not fit in its field",
                fourcc_str(fourcc)
            ),
            BoxError::BadValue { fourcc, message } => {
                write!(f, "'{}' box: {message}", fourcc_str(fourcc))
            }
            BoxError::Invalid(m) => f.write_str(m),
            BoxError::Io { context, source } => write!(f, "{context}: {source}"),
            BoxError::Context { context, source } => write!(f, "{context}: {source}"),
        }
    }
}

impl std::error::Error for BoxError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BoxError::Io { source, .. } => Some(source),
            BoxError::Context { source, .. } => Some(source.as_ref()),
            _ => None,
        }
    }
}

/// Result of a box read or write.
pub type BoxResult<T> = Result<T, BoxError>;

/// Converts a count or size to the `T` its field holds, or an [`BoxError::Overflow`].
pub fn fit<T: TryFrom<u128>>(
    fourcc: [u8; 4],
    field: &'static str,
    value: impl Into<u128>,
) -> BoxResult<T> {
    let value = value.into();
    T::try_from(value).map_err(|_| BoxError::Overflow {
        fourcc,
        field,
        value,
    })
}

/// [`fit`] for a `usize` (lengths and counts of slices).
pub fn fit_len<T: TryFrom<u128>>(fourcc: [u8; 4], field: &'static str, n: usize) -> BoxResult<T> {
    fit(fourcc, field, n as u128)
}
