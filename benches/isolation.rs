//! Isolation: does a flood in one compartment slow another down?
//!
//! Two pools of two workers each: `checkout` (queue 2) and `search` (queue
//! 16). The measured operation is a round trip on `checkout`
//! (`execute(|| x * 2)`).
//!
//! * `checkout_execute_unflooded`: `search` is idle.
//! * `checkout_execute_search_flooded`: `search` is flooded: both of its
//!   threads are blocked on a gate, its queue is full (16 gated tasks), and
//!   a flooding thread calls `search.try_submit` in a tight loop, refused
//!   every time. The number of refusals the flooder collected is printed.
//!
//! On a 2-core machine the flooding thread keeps one core busy, so some
//! slowdown is CPU contention, not a leak through the bulkhead; what must
//! hold is that `checkout` keeps admitting and answering.
//!
//! Run: `cargo bench --bench isolation`.

mod common;

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use bulkheads::{TaskHandle, ThreadPoolBulkhead};
use common::THREADS;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion};

const SEARCH_QUEUE: usize = 16;

fn checkout_round_trip<M: criterion::measurement::Measurement>(
    group: &mut BenchmarkGroup<'_, M>,
    id: &str,
    checkout: &ThreadPoolBulkhead,
) {
    group.bench_function(id, |b| {
        b.iter(|| {
            let x = black_box(21u64);
            checkout
                .execute(move || x * 2)
                .expect("checkout is not flooded")
        })
    });
}

fn isolation(c: &mut Criterion) {
    let mut group = c.benchmark_group("isolation");
    group
        .sample_size(50)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));

    let checkout = ThreadPoolBulkhead::builder("checkout")
        .threads(THREADS)
        .queue_capacity(2)
        .build()
        .expect("build checkout");
    let search = ThreadPoolBulkhead::builder("search")
        .threads(THREADS)
        .queue_capacity(SEARCH_QUEUE)
        .build()
        .expect("build search");

    checkout_round_trip(&mut group, "checkout_execute_unflooded", &checkout);

    // Flood search: gate its threads, fill its queue.
    let (release, gate) = crossbeam_channel::bounded::<()>(0);
    let held: Vec<TaskHandle<()>> = (0..THREADS + SEARCH_QUEUE)
        .map(|_| {
            let gate = gate.clone();
            search
                .try_submit(move || {
                    let _ = gate.recv();
                })
                .expect("room for the gate tasks")
        })
        .collect();
    let stop = AtomicBool::new(false);
    let refused = AtomicUsize::new(0);
    let admitted = AtomicUsize::new(0);
    thread::scope(|s| {
        s.spawn(|| {
            let (mut no, mut yes) = (0usize, 0usize);
            while !stop.load(Ordering::Relaxed) {
                let x = black_box(1u64);
                match search.try_submit(move || x + 1) {
                    Ok(_) => yes += 1,
                    Err(rejected) => {
                        black_box(rejected);
                        no += 1;
                    }
                }
            }
            refused.store(no, Ordering::Relaxed);
            admitted.store(yes, Ordering::Relaxed);
        });
        checkout_round_trip(&mut group, "checkout_execute_search_flooded", &checkout);
        stop.store(true, Ordering::Relaxed);
    });
    println!(
        "search flooder: {} try_submit refused, {} admitted (must be 0) while checkout was measured",
        refused.load(Ordering::Relaxed),
        admitted.load(Ordering::Relaxed)
    );
    drop(release);
    for handle in held {
        handle.join().expect("gate task finishes");
    }
    group.finish();
}

criterion_group!(benches, isolation);
criterion_main!(benches);
