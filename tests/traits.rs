//! The public types have the auto traits users rely on.

use bulkheads::{
    BuildError, BulkheadStats, ExecuteError, PoolStats, Registry, RejectReason, Rejected,
    SemaphoreBulkhead, SemaphoreStats, TaskError, TaskHandle, ThreadPoolBulkhead,
};

fn send_sync<T: Send + Sync>() {}
fn send<T: Send>() {}
fn error<E: std::error::Error + Send + 'static>() {}

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
