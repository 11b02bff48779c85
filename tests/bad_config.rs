//! Invalid configuration is a BuildError, never a panic.

use bulkheads::{BuildErrorKind, ThreadPoolBulkhead};

#[test]
fn zero_threads_is_an_error() {
    let err = ThreadPoolBulkhead::builder("zero")
        .threads(0)
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), BuildErrorKind::ZeroThreads);
    assert_eq!(err.name(), "zero");
    assert!(err.to_string().contains("at least one thread"));
}

#[test]
fn an_empty_or_blank_name_is_an_error() {
    for name in ["", "   "] {
        let err = ThreadPoolBulkhead::builder(name)
            .threads(1)
            .build()
            .unwrap_err();
        assert_eq!(err.kind(), BuildErrorKind::EmptyName);
    }
}

#[test]
fn an_impossible_size_is_an_error() {
    let err = ThreadPoolBulkhead::builder("huge")
        .threads(1)
        .queue_capacity(usize::MAX)
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), BuildErrorKind::TooLarge);
}

#[test]
fn a_thread_that_cannot_be_spawned_is_an_error() {
    // A 2^47-byte stack: within the builder's limit, beyond what any
    // machine maps, so the operating system refuses the first thread.
    let err = ThreadPoolBulkhead::builder("nospawn")
        .threads(4)
        .stack_size(1 << 47)
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), BuildErrorKind::Spawn);
    assert!(std::error::Error::source(&err).is_some());
    let io: std::io::Error = err.into();
    assert_eq!(io.kind(), std::io::ErrorKind::Other);
}

#[test]
fn a_name_with_a_nul_character_is_an_error_not_a_panic() {
    let err = ThreadPoolBulkhead::builder("bad\0name")
        .threads(1)
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), BuildErrorKind::InvalidName);
    let err = bulkheads::SemaphoreBulkhead::builder("bad\0name")
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), BuildErrorKind::InvalidName);
    let registry = bulkheads::Registry::new();
    let err = registry.thread_pool("x\0", |b| b.threads(1)).unwrap_err();
    assert_eq!(err.kind(), BuildErrorKind::InvalidName);
    assert!(registry.names().is_empty());
    // The registry's lock was not poisoned or left held.
    assert!(registry.thread_pool("fine", |b| b.threads(1)).is_ok());
}

#[test]
fn a_stack_size_too_large_to_round_is_an_error_not_a_panic() {
    let err = ThreadPoolBulkhead::builder("stack")
        .threads(1)
        .stack_size(usize::MAX)
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), BuildErrorKind::TooLarge);
}
