//! A full pool refuses at once and hands the closure back.

mod common;

use bulkheads::{RejectReason, Rejected, ThreadPoolBulkhead};
use common::{blocker, Gate, Started};

#[test]
fn a_full_pool_gives_the_closure_back() {
    let pool = ThreadPoolBulkhead::builder("reject")
        .threads(2)
        .queue_capacity(3)
        .build()
        .unwrap();
    let (started, gate) = (Started::new(), Gate::new());
    let handles: Vec<_> = (0..5)
        .map(|i| pool.try_submit(blocker(&started, &gate, i)).unwrap())
        .collect();
    started.wait_for(2);

    let rejected = pool.try_submit(|| "fallback").unwrap_err();
    assert_eq!(rejected.reason(), RejectReason::Full);
    assert!(rejected.is_full());
    let closure = rejected.into_inner();
    assert_eq!(closure(), "fallback");

    gate.open();
    let sum: i32 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(sum, 10);
    assert_eq!(pool.stats().rejected, 1);
}

#[test]
fn capacity_is_exactly_threads_plus_queue() {
    for (threads, queue) in [(1, 0), (1, 1), (2, 0), (3, 5)] {
        let pool = ThreadPoolBulkhead::builder("exact")
            .threads(threads)
            .queue_capacity(queue)
            .build()
            .unwrap();
        let (started, gate) = (Started::new(), Gate::new());
        let mut handles = Vec::new();
        for _ in 0..threads + queue {
            handles.push(
                pool.try_submit(blocker(&started, &gate, ()))
                    .expect("room left"),
            );
        }
        started.wait_for(threads);
        for _ in 0..3 {
            assert_eq!(
                pool.try_submit(|| ()).unwrap_err().reason(),
                RejectReason::Full
            );
        }
        let stats = pool.stats();
        assert_eq!((stats.active, stats.queued), (threads, queue));
        gate.open();
        handles.into_iter().for_each(|h| h.join().unwrap());
    }
}

#[test]
fn try_spawn_is_rejected_like_try_submit() {
    let pool = ThreadPoolBulkhead::builder("spawn")
        .threads(1)
        .build()
        .unwrap();
    let (started, gate) = (Started::new(), Gate::new());
    pool.try_spawn(blocker(&started, &gate, ())).unwrap();
    started.wait_for(1);
    let err = pool.try_spawn(|| ()).unwrap_err();
    assert_eq!(err.reason(), RejectReason::Full);
    gate.open();
    pool.wait_idle();
    pool.try_spawn(|| ()).unwrap();
}

#[test]
fn a_submit_timeout_on_a_full_pool_reports_timeout() {
    let pool = ThreadPoolBulkhead::builder("timeout")
        .threads(1)
        .build()
        .unwrap();
    let (started, gate) = (Started::new(), Gate::new());
    let h = pool.try_submit(blocker(&started, &gate, 1)).unwrap();
    started.wait_for(1);
    let err = pool
        .submit_timeout(|| 2, std::time::Duration::from_millis(5))
        .unwrap_err();
    assert_eq!(err.reason(), RejectReason::Timeout);
    assert_eq!(err.into_inner()(), 2);
    gate.open();
    assert_eq!(h.join().unwrap(), 1);
}

#[test]
fn execute_reports_rejection_without_running() {
    let pool = common::pool("exec", 1, 0);
    let (gate, h) = common::occupy(&pool, 1);
    let ran = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let r = ran.clone();
    let err = pool
        .execute(move || r.store(true, std::sync::atomic::Ordering::SeqCst))
        .unwrap_err();
    assert_eq!(err.reject_reason(), Some(RejectReason::Full));
    gate.open();
    h.into_iter().for_each(|h| h.join().unwrap());
    pool.wait_idle();
    assert!(!ran.load(std::sync::atomic::Ordering::SeqCst));
}

#[test]
fn one_caller_at_a_time_is_never_rejected() {
    let pool = ThreadPoolBulkhead::builder("serial")
        .threads(1)
        .build()
        .unwrap();
    for i in 0..10_000u32 {
        let v = pool
            .try_submit(move || i)
            .unwrap_or_else(|r| panic!("rejected at {i}: {r}"));
        assert_eq!(v.join().unwrap(), i);
        assert_eq!(pool.execute(move || i + 1).unwrap(), i + 1);
    }
    assert_eq!(pool.stats().rejected, 0);
}

#[test]
fn rejected_is_an_error_for_any_closure() {
    fn assert_error<E: std::error::Error>(_: &E) {}
    let pool = ThreadPoolBulkhead::builder("err")
        .threads(1)
        .build()
        .unwrap();
    pool.shutdown();
    let rejected: Rejected<_> = pool.try_submit(|| vec![1u8]).unwrap_err();
    assert_error(&rejected);
    assert!(format!("{rejected:?}").contains("ShutDown"));
    assert!(rejected.to_string().contains("shut down"));
}
