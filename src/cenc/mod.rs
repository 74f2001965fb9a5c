//! Common Encryption (ISO/IEC 23001-7). (Stub: owned by the encryption work.)
