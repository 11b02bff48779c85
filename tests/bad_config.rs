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
    let err = ThreadPoolBulkhead::builder("nospawn")
        .threads(4)
        .fail_spawn_after(2)
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), BuildErrorKind::Spawn);
    assert!(std::error::Error::source(&err).is_some());
    let io: std::io::Error = err.into();
    assert_eq!(io.kind(), std::io::ErrorKind::Other);
}
