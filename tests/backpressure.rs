//! Blocking submits wait for room instead of failing.

mod common;

use bulkheads::{RejectReason, ThreadPoolBulkhead};
use common::{blocker, Gate, Started};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;

#[test]
fn submit_waits_for_room_and_never_loses_work() {
    let pool = ThreadPoolBulkhead::builder("bp")
        .threads(2)
        .queue_capacity(2)
        .build()
        .unwrap();
    let sum = Arc::new(AtomicUsize::new(0));
    for i in 0..10_000 {
        let sum = sum.clone();
        pool.spawn(move || {
            sum.fetch_add(i, Ordering::Relaxed);
        })
        .unwrap();
    }
    pool.wait_idle();
    assert_eq!(sum.load(Ordering::Relaxed), (0..10_000).sum::<usize>());
    let stats = pool.stats();
    assert_eq!(
        (stats.submitted, stats.completed, stats.rejected),
        (10_000, 10_000, 0)
    );
}

#[test]
fn a_blocked_submitter_is_admitted_when_a_slot_frees() {
    let pool = Arc::new(
        ThreadPoolBulkhead::builder("bp2")
            .threads(1)
            .build()
            .unwrap(),
    );
    let (started, gate) = (Started::new(), Gate::new());
    let first = pool.try_submit(blocker(&started, &gate, 1)).unwrap();
    started.wait_for(1);

    let (tx, rx) = mpsc::channel();
    let p = pool.clone();
    let waiter = thread::spawn(move || {
        tx.send(()).unwrap();
        p.submit(|| 2).unwrap().join().unwrap()
    });
    rx.recv().unwrap();
    // The waiter is blocked (or about to block); nothing was rejected.
    gate.open();
    assert_eq!(first.join().unwrap(), 1);
    assert_eq!(waiter.join().unwrap(), 2);
    assert_eq!(pool.stats().rejected, 0);
}

#[test]
fn shutdown_wakes_blocked_submitters_with_shut_down() {
    let pool = Arc::new(
        ThreadPoolBulkhead::builder("bp3")
            .threads(1)
            .build()
            .unwrap(),
    );
    let (started, gate) = (Started::new(), Gate::new());
    let first = pool.try_submit(blocker(&started, &gate, ())).unwrap();
    started.wait_for(1);
    let waiters: Vec<_> = (0..3)
        .map(|_| {
            let p = pool.clone();
            thread::spawn(move || p.submit(|| ()).map(drop).map_err(|r| r.reason()))
        })
        .collect();
    // Let the shutdown run on another thread: it waits for the blocker.
    let stopper = common::stop_in_background(&pool, |p| p.shutdown());
    gate.open();
    first.join().unwrap();
    stopper.join().unwrap();
    for w in waiters {
        match w.join().unwrap() {
            // A waiter that got in before the shutdown ran its task.
            Ok(()) => {}
            Err(reason) => assert_eq!(reason, RejectReason::ShutDown),
        }
    }
    let s = pool.stats();
    assert_eq!(s.submitted, s.completed);
}

#[test]
fn a_queue_longer_than_the_preallocated_channel_loses_nothing() {
    // 4096 queued tasks fit the preallocated channel; the rest overflow.
    let pool = ThreadPoolBulkhead::builder("deep")
        .threads(2)
        .queue_capacity(10_000)
        .build()
        .unwrap();
    let (started, gate) = (Started::new(), Gate::new());
    let blockers: Vec<_> = (0..2)
        .map(|_| pool.try_submit(blocker(&started, &gate, 0)).unwrap())
        .collect();
    started.wait_for(2);
    let queued: Vec<_> = (1..=10_000usize)
        .map(|i| pool.try_submit(move || i).unwrap())
        .collect();
    assert_eq!(
        pool.try_submit(|| 0).unwrap_err().reason(),
        RejectReason::Full
    );
    assert_eq!(pool.stats().queued, 10_000);
    gate.open();
    let sum: usize = blockers
        .into_iter()
        .chain(queued)
        .map(|h| h.join().unwrap())
        .sum();
    assert_eq!(sum, 10_000 * 10_001 / 2);
    pool.wait_idle();
    let s = pool.stats();
    assert_eq!((s.submitted, s.completed), (10_002, 10_002));
}

#[test]
fn overflowed_tasks_are_cancelled_by_shutdown_now() {
    let pool = Arc::new(
        ThreadPoolBulkhead::builder("deep-cancel")
            .threads(1)
            .queue_capacity(6_000)
            .build()
            .unwrap(),
    );
    let (started, gate) = (Started::new(), Gate::new());
    let running = pool.try_submit(blocker(&started, &gate, ())).unwrap();
    started.wait_for(1);
    let queued: Vec<_> = (0..6_000)
        .map(|_| pool.try_submit(|| ()).unwrap())
        .collect();
    let stopper = common::stop_in_background(&pool, |p| p.shutdown_now());
    gate.open();
    assert_eq!(stopper.join().unwrap(), 6_000);
    running.join().unwrap();
    assert!(queued
        .into_iter()
        .all(|h| h.join().unwrap_err().is_cancelled()));
}

#[test]
fn workers_blocked_on_an_empty_queue_find_overflowed_work() {
    // Grow a small pool's queue far past its preallocated channel, so new
    // work overflows while the workers sleep on the main channel.
    let pool = ThreadPoolBulkhead::builder("grown")
        .threads(2)
        .build()
        .unwrap();
    pool.set_queue_capacity(20_000).unwrap();
    for round in 0..20 {
        let handles: Vec<_> = (0..5_000usize)
            .map(|i| pool.submit(move || i + round).unwrap())
            .collect();
        let sum: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
        assert_eq!(sum, (0..5_000).sum::<usize>() + 5_000 * round);
    }
    pool.wait_idle();
    assert_eq!(pool.stats().completed, 100_000);
}
