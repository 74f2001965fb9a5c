//! The exit codes of the `vodpack` command (docs/exit-codes.md).
use vodpack::ErrorKind;

/// The process exit code of a failure (docs/exit-codes.md): the only place that knows the
/// numbers. 0 is success; a panic (101) is a bug.
pub fn exit_code(kind: ErrorKind) -> u8 {
    match kind {
        ErrorKind::Verification => 1,
        ErrorKind::Usage => 2,
        ErrorKind::InvalidInput => 3,
        ErrorKind::Unsupported => 4,
        ErrorKind::Alignment => 5,
        ErrorKind::Key => 6,
        ErrorKind::Io => 7,
        // 128 + the signal (130 SIGINT, 143 SIGTERM); a signal number past 127 cannot occur.
        ErrorKind::Interrupted { signal } => {
            u8::try_from(128 + signal.clamp(0, 127)).unwrap_or(u8::MAX)
        }
    }
}
