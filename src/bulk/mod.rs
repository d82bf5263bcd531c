//! Storage-triggered bulk sanitization: one object event -> sanitized objects.
pub mod keys;
