//! Fair mode: waiters are served first-come first-served, with no barging.

use std::sync::mpsc;
use std::sync::Arc;
use std::thread;

use bulkheads::SemaphoreBulkhead;

fn until(mut cond: impl FnMut() -> bool) {
    while !cond() {
        thread::yield_now();
    }
}

fn fair(limit: usize) -> Arc<SemaphoreBulkhead> {
    Arc::new(
        SemaphoreBulkhead::builder("fair")
            .max_concurrent(limit)
            .fair(true)
            .build()
            .unwrap(),
    )
}

#[test]
fn fair_mode_serves_waiters_in_arrival_order() {
    const WAITERS: usize = 8;
    let b = fair(1);
    let held = b.try_acquire_owned().unwrap();
    let (tx, rx) = mpsc::channel();
    let mut handles = Vec::new();
    for id in 0..WAITERS {
        let (b2, tx) = (b.clone(), tx.clone());
        handles.push(thread::spawn(move || {
            let _p = b2.acquire();
            tx.send(id).unwrap(); // sent while holding: the order of admission
        }));
        // The next waiter starts only once this one is queued.
        until(|| b.stats().waiting == id + 1);
    }
    drop(held);
    let order: Vec<usize> = rx.iter().take(WAITERS).collect();
    assert_eq!(order, (0..WAITERS).collect::<Vec<_>>());
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(b.stats().active, 0);
}

#[test]
fn a_released_permit_goes_to_the_waiter_not_to_a_newcomer() {
    let b = fair(1);
    let held = b.try_acquire_owned().unwrap();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let (got_tx, got_rx) = mpsc::channel();
    let waiter = {
        let b = b.clone();
        thread::spawn(move || {
            let _p = b.acquire();
            got_tx.send(()).unwrap();
            go_rx.recv().unwrap(); // hold until told
        })
    };
    until(|| b.stats().waiting == 1);
    drop(held);
    // Whether or not the waiter has woken yet, the permit is its own.
    assert!(b.try_acquire().is_err(), "a newcomer barged past a waiter");
    assert!(b.call(|| ()).is_err());
    got_rx.recv().unwrap();
    go_tx.send(()).unwrap();
    waiter.join().unwrap();
    assert!(b.try_acquire().is_ok());
}

#[test]
fn growing_a_fair_bulkhead_admits_the_oldest_waiters_first() {
    let b = fair(0);
    let (tx, rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let release_rx = Arc::new(std::sync::Mutex::new(release_rx));
    let mut handles = Vec::new();
    for id in 0..3 {
        let (b2, tx, release_rx) = (b.clone(), tx.clone(), release_rx.clone());
        handles.push(thread::spawn(move || {
            let _p = b2.acquire();
            tx.send(id).unwrap();
            release_rx.lock().unwrap().recv().unwrap();
        }));
        until(|| b.stats().waiting == id + 1);
    }
    b.set_max_concurrent(2);
    let mut first: Vec<usize> = rx.iter().take(2).collect();
    first.sort_unstable();
    assert_eq!(first, [0, 1], "the two oldest waiters get the new room");
    assert_eq!(b.stats().waiting, 1);
    for _ in 0..3 {
        release_tx.send(()).unwrap();
    }
    assert_eq!(rx.recv().unwrap(), 2);
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(b.stats().active, 0);
}
