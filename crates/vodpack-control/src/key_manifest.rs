//! Key manifest schema (placeholder; owned by the control-plane work).
