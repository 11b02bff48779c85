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
fn a_joined_task_has_freed_its_slot_even_where_slots_come_back_in_batches() {
    // 256 slots on one thread: the worker keeps finished tasks' slots and
    // gives them back in batches, while it has other work. A handle that
    // sees its result first frees its slot itself.
    for observe in ["join", "is_finished"] {
        let capacity = 256;
        let pool = common::pool("batched-joins", 1, capacity - 1);
        let first = pool.try_submit(|| 1).unwrap();
        let (started, gate) = (common::Started::new(), common::Gate::new());
        let running = pool
            .try_submit(common::blocker(&started, &gate, 2))
            .unwrap();
        // The worker ran `first` and is now inside `running`: it still
        // holds `first`'s slot, waiting for a batch to fill.
        started.wait_for(1);
        match observe {
            "join" => assert_eq!(first.join().unwrap(), 1),
            _ => {
                while !first.is_finished() {
                    std::thread::yield_now();
                }
            }
        }
        // Every slot but the running task's is free. (Assert after opening
        // the gate, so a failure does not leave the pool's drop waiting.)
        let rest: Vec<_> = (0..capacity - 1)
            .map_while(|i| pool.try_submit(move || i).ok())
            .collect();
        let one_more = pool.try_submit(|| 0).map_err(|r| r.is_full());
        gate.open();
        assert_eq!(
            rest.len(),
            capacity - 1,
            "{observe}: admitted after the result was seen"
        );
        assert!(
            matches!(one_more, Err(true)),
            "{observe}: never a slot too many"
        );
        assert_eq!(running.join().unwrap(), 2);
        for (i, h) in rest.into_iter().enumerate() {
            assert_eq!(h.join().unwrap(), i);
        }
        pool.wait_idle();
        let stats = pool.stats();
        assert_eq!(
            (stats.completed, stats.active, stats.queued),
            (capacity + 1, 0, 0)
        );
    }
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
