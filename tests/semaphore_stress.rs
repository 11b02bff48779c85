//! SemaphoreBulkhead under load: the limit holds and no permit is lost or
//! duplicated, also while it is resized.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;

use bulkheads::SemaphoreBulkhead;

const THREADS: usize = 8;
const ROUNDS: usize = 10_000;

/// Counts callers inside the critical section and remembers the peak.
#[derive(Default)]
struct Gauge {
    inside: AtomicUsize,
    peak: AtomicUsize,
}

impl Gauge {
    fn enter(&self) -> usize {
        let now = self.inside.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        now
    }

    fn leave(&self) {
        self.inside.fetch_sub(1, Ordering::SeqCst);
    }
}

fn hammer(fair: bool, waiting: bool) {
    const LIMIT: usize = 3;
    let b = Arc::new(
        SemaphoreBulkhead::builder("stress")
            .max_concurrent(LIMIT)
            .fair(fair)
            .build()
            .unwrap(),
    );
    let gauge = Arc::new(Gauge::default());
    let barrier = Arc::new(Barrier::new(THREADS));
    let admitted = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..THREADS)
        .map(|_| {
            let (b, gauge, barrier, admitted) =
                (b.clone(), gauge.clone(), barrier.clone(), admitted.clone());
            thread::spawn(move || {
                barrier.wait();
                for _ in 0..ROUNDS {
                    let permit = if waiting {
                        Some(b.acquire())
                    } else {
                        b.try_acquire().ok()
                    };
                    if let Some(permit) = permit {
                        admitted.fetch_add(1, Ordering::Relaxed);
                        gauge.enter();
                        gauge.leave();
                        drop(permit);
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let s = b.stats();
    assert!(
        gauge.peak.load(Ordering::SeqCst) <= LIMIT,
        "peak above the limit"
    );
    assert_eq!(s.active, 0, "a permit was lost or duplicated");
    assert_eq!(s.waiting, 0);
    assert_eq!(s.permitted, admitted.load(Ordering::Relaxed));
    assert_eq!(s.permitted + s.rejected, THREADS * ROUNDS);
    if waiting {
        assert_eq!(s.permitted, THREADS * ROUNDS);
    }
}

#[test]
fn eight_threads_never_exceed_the_limit_with_try_acquire() {
    hammer(false, false);
}

#[test]
fn eight_threads_never_exceed_the_limit_with_blocking_acquire() {
    hammer(false, true);
}

#[test]
fn eight_threads_never_exceed_the_limit_in_fair_mode() {
    hammer(true, false);
    hammer(true, true);
}

/// Resizes between `small` and `large` while 8 threads acquire (blocking)
/// and release; the peak never exceeds the larger limit and the count is
/// exact afterwards.
fn resize_under_load(fair: bool) {
    const SMALL: usize = 1;
    const LARGE: usize = 6;
    let b = Arc::new(
        SemaphoreBulkhead::builder("resize")
            .max_concurrent(LARGE)
            .fair(fair)
            .build()
            .unwrap(),
    );
    let gauge = Arc::new(Gauge::default());
    let done = Arc::new(AtomicUsize::new(0));
    let barrier = Arc::new(Barrier::new(THREADS + 1));
    let handles: Vec<_> = (0..THREADS)
        .map(|_| {
            let (b, gauge, barrier, done) =
                (b.clone(), gauge.clone(), barrier.clone(), done.clone());
            thread::spawn(move || {
                barrier.wait();
                for _ in 0..ROUNDS {
                    let permit = b.acquire();
                    gauge.enter();
                    gauge.leave();
                    drop(permit);
                }
                done.fetch_add(1, Ordering::SeqCst);
            })
        })
        .collect();
    barrier.wait();
    let mut resizes = 0usize;
    while done.load(Ordering::SeqCst) < THREADS {
        // Both ways: shrink under holders, grow over waiters.
        b.set_max_concurrent(if resizes % 2 == 0 { SMALL } else { LARGE });
        resizes += 1;
        thread::yield_now();
    }
    for h in handles {
        h.join().unwrap();
    }
    assert!(gauge.peak.load(Ordering::SeqCst) <= LARGE);
    let s = b.stats();
    assert_eq!(s.active, 0, "a permit was lost or duplicated");
    assert_eq!(s.waiting, 0);
    assert_eq!(s.permitted, THREADS * ROUNDS);

    // After the churn the counter is exact: the limit is what was set last,
    // and exactly that many permits can be taken.
    b.set_max_concurrent(SMALL + 1);
    let held: Vec<_> = (0..SMALL + 1).map(|_| b.try_acquire().unwrap()).collect();
    assert!(b.try_acquire().is_err());
    drop(held);
}

#[test]
fn resizing_under_load_both_ways_loses_and_duplicates_no_permit() {
    resize_under_load(false);
}

#[test]
fn resizing_a_fair_bulkhead_under_load_loses_and_duplicates_no_permit() {
    resize_under_load(true);
}

#[test]
fn a_shrink_under_load_is_respected_once_the_holders_drain() {
    // With the limit held at 1 after a shrink, the peak seen by later
    // callers is 1.
    for fair in [false, true] {
        let b = Arc::new(
            SemaphoreBulkhead::builder("shrunk")
                .max_concurrent(8)
                .fair(fair)
                .build()
                .unwrap(),
        );
        b.set_max_concurrent(1);
        let gauge = Arc::new(Gauge::default());
        let barrier = Arc::new(Barrier::new(THREADS));
        let handles: Vec<_> = (0..THREADS)
            .map(|_| {
                let (b, gauge, barrier) = (b.clone(), gauge.clone(), barrier.clone());
                thread::spawn(move || {
                    barrier.wait();
                    for _ in 0..ROUNDS / 10 {
                        let _p = b.acquire();
                        gauge.enter();
                        gauge.leave();
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(gauge.peak.load(Ordering::SeqCst), 1, "fair = {fair}");
    }
}
