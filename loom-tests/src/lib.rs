//! loom model checks live in `tests/`; this crate has no code of its own.
