//! Permits: the cost of entering and leaving a semaphore compartment
//! (`SemaphoreBulkhead::try_acquire` and dropping the `Permit`) beside the
//! cheapest exclusion primitives, `parking_lot::Mutex` and `std::sync::Mutex`
//! lock and unlock.
//!
//! Two configurations, all in the group `permits`:
//!
//! * `.../uncontended`: one thread, nothing else touching the primitive.
//! * `.../contended_2_threads`: a second thread runs the same operation in a
//!   tight loop for the whole measurement (`iter_custom`; only the measuring
//!   thread's operations are counted and timed).
//!
//! Contenders:
//!
//! * `bulkheads_try_acquire`: a limit of 16, so with two threads every
//!   `try_acquire` succeeds: the cost of the admission counter itself.
//! * `bulkheads_try_acquire_limit_1`: a limit of 1 (the mutex-like
//!   compartment). Contended, some attempts are refused at once instead of
//!   waiting; the refused fraction is printed after the group.
//! * `parking_lot_mutex_lock`, `std_mutex_lock`: `lock()` then drop the
//!   guard (a contended lock waits, spinning then parking).
//!
//! Run: `cargo bench --bench permits`.

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use bulkheads::SemaphoreBulkhead;
use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, BenchmarkId, Criterion};

/// `try_acquire` attempts and refusals of the measuring thread in the
/// contended limit-1 case, for the printed refusal rate.
static LIMIT1_ATTEMPTS: AtomicU64 = AtomicU64::new(0);
static LIMIT1_REFUSED: AtomicU64 = AtomicU64::new(0);

/// Times `iters` runs of `measure` on this thread while another thread runs
/// `hammer` in a loop from before the clock starts until after it stops.
fn contended<H: Fn() + Sync, M: FnMut()>(hammer: &H, mut measure: M, iters: u64) -> Duration {
    let stop = AtomicBool::new(false);
    let started = AtomicBool::new(false);
    thread::scope(|s| {
        s.spawn(|| {
            started.store(true, Ordering::Release);
            while !stop.load(Ordering::Relaxed) {
                hammer();
            }
        });
        while !started.load(Ordering::Acquire) {
            std::hint::spin_loop();
        }
        let start = Instant::now();
        for _ in 0..iters {
            measure();
        }
        let elapsed = start.elapsed();
        stop.store(true, Ordering::Relaxed);
        elapsed
    })
}

/// Benches `op` under `name`, uncontended and contended.
fn both<F: Fn() + Sync>(group: &mut BenchmarkGroup<'_, WallTime>, name: &str, op: F) {
    group.bench_function(BenchmarkId::new(name, "uncontended"), |b| b.iter(&op));
    group.bench_function(BenchmarkId::new(name, "contended_2_threads"), |b| {
        b.iter_custom(|iters| contended(&op, &op, iters))
    });
}

fn permits(c: &mut Criterion) {
    let mut group = c.benchmark_group("permits");
    group
        .sample_size(50)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));

    let wide = SemaphoreBulkhead::new("permits", 16);
    both(&mut group, "bulkheads_try_acquire", || {
        let permit = black_box(&wide).try_acquire().expect("16 permits, 2 users");
        black_box(&permit);
    });
    assert_eq!(wide.stats().active, 0);

    let narrow = SemaphoreBulkhead::new("permits-1", 1);
    group.bench_function(
        BenchmarkId::new("bulkheads_try_acquire_limit_1", "uncontended"),
        |b| {
            b.iter(|| {
                let permit = black_box(&narrow).try_acquire().expect("nobody else");
                black_box(&permit);
            })
        },
    );
    group.bench_function(
        BenchmarkId::new("bulkheads_try_acquire_limit_1", "contended_2_threads"),
        |b| {
            b.iter_custom(|iters| {
                let hammer = || {
                    black_box(black_box(&narrow).try_acquire().is_ok());
                };
                let mut refused = 0u64;
                let elapsed = contended(
                    &hammer,
                    || {
                        let attempt = black_box(&narrow).try_acquire();
                        refused += u64::from(attempt.is_err());
                        black_box(&attempt);
                    },
                    iters,
                );
                LIMIT1_ATTEMPTS.fetch_add(iters, Ordering::Relaxed);
                LIMIT1_REFUSED.fetch_add(refused, Ordering::Relaxed);
                elapsed
            })
        },
    );

    let parking = parking_lot::Mutex::new(0u64);
    both(&mut group, "parking_lot_mutex_lock", || {
        let guard = black_box(&parking).lock();
        black_box(&*guard);
    });

    let std_mutex = std::sync::Mutex::new(0u64);
    both(&mut group, "std_mutex_lock", || {
        let guard = black_box(&std_mutex).lock().expect("not poisoned");
        black_box(&*guard);
    });

    group.finish();

    let attempts = LIMIT1_ATTEMPTS.load(Ordering::Relaxed);
    let refused = LIMIT1_REFUSED.load(Ordering::Relaxed);
    println!(
        "bulkheads_try_acquire_limit_1/contended_2_threads: {refused} of {attempts} attempts refused ({:.1}%)",
        100.0 * refused as f64 / attempts.max(1) as f64
    );
}

criterion_group!(benches, permits);
criterion_main!(benches);
