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
    let p = pool.clone();
    let stopper = thread::spawn(move || p.shutdown());
    while !pool.is_shut_down() {
        thread::yield_now();
    }
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
