//! The public types have the auto traits users rely on.

use bulkheads::{
    Adaptive, BuildError, BulkheadStats, ExecuteError, OwnedPermit, Permit, PoolStats, Registry,
    RejectReason, Rejected, SemaphoreBulkhead, SemaphoreStats, StatsTable, TaskError, TaskHandle,
    ThreadPoolBulkhead,
};
use std::panic::{RefUnwindSafe, UnwindSafe};

fn send_sync<T: Send + Sync>() {}
fn send<T: Send>() {}
fn error<E: std::error::Error + Send + 'static>() {}
fn unwind_safe<T: UnwindSafe + RefUnwindSafe>() {}
fn boxed_error<E: Into<Box<dyn std::error::Error + Send + Sync>>>() {}

#[test]
fn bulkheads_can_be_shared_across_threads() {
    send_sync::<ThreadPoolBulkhead>();
    send_sync::<SemaphoreBulkhead>();
    send_sync::<Registry>();
    send_sync::<PoolStats>();
    send_sync::<SemaphoreStats>();
    send_sync::<BulkheadStats>();
}

#[test]
fn handles_and_errors_can_cross_threads() {
    send::<TaskHandle<String>>();
    send::<Rejected<Box<dyn FnOnce() + Send>>>();
    send_sync::<RejectReason>();
    send_sync::<BuildError>();
    error::<BuildError>();
    error::<TaskError>();
    error::<ExecuteError>();
    error::<Rejected<fn()>>();
}

#[test]
fn a_pool_can_be_moved_into_another_thread_and_used_there() {
    let pool = ThreadPoolBulkhead::builder("moved")
        .threads(1)
        .build()
        .unwrap();
    let answer = std::thread::spawn(move || pool.execute(|| 42).unwrap())
        .join()
        .unwrap();
    assert_eq!(answer, 42);
}

#[test]
fn bulkheads_and_handles_can_be_used_across_catch_unwind() {
    unwind_safe::<ThreadPoolBulkhead>();
    unwind_safe::<TaskHandle<String>>();
    unwind_safe::<TaskHandle<std::cell::Cell<u8>>>();
    unwind_safe::<SemaphoreBulkhead>();
    unwind_safe::<Permit<'static>>();
    unwind_safe::<OwnedPermit>();
    unwind_safe::<Registry>();
    unwind_safe::<StatsTable>();
    unwind_safe::<Adaptive>();
    unwind_safe::<RejectReason>();
    unwind_safe::<Rejected<()>>();
    unwind_safe::<BuildError>();
}

#[test]
fn a_pool_survives_a_panic_caught_around_its_use() {
    let pool = ThreadPoolBulkhead::builder("unwind")
        .threads(1)
        .build()
        .unwrap();
    let caught = std::panic::catch_unwind(|| {
        let handle = pool.try_submit(|| 1).unwrap();
        assert_eq!(handle.join().unwrap(), 1);
        std::panic::resume_unwind(Box::new("the caller's own panic"));
    });
    assert!(caught.is_err());
    assert_eq!(pool.execute(|| 2).unwrap(), 2);
}

#[test]
fn a_rejection_without_its_work_converts_into_a_send_sync_error() {
    boxed_error::<Rejected<()>>();
    let not_sync = std::cell::Cell::new(1);
    let rejected =
        Rejected::new(move || not_sync.get(), RejectReason::Full).with_bulkhead("search");
    let err: Box<dyn std::error::Error + Send + Sync> = rejected.without_work().into();
    assert!(err
        .to_string()
        .starts_with("search: rejected, the bulkhead is full"));
}
