//! Rejection: the cost of being refused at the door of a full compartment,
//! the path a flooded bulkhead takes for every excess call.
//!
//! The pool has two workers and a queue of 4. Both workers are blocked on a
//! gate (a task waiting on a channel) and the queue holds 4 more tasks, so
//! `threads + queue_capacity` slots are taken and every `try_submit` /
//! `try_spawn` is refused with `RejectReason::Full` and the closure handed
//! back. The refusal (and the closure it carries) is dropped inside the
//! measured loop, as it is for a caller that sheds the work.
//!
//! Contenders, all in the group `rejection`:
//!
//! * `bulkheads_try_submit_full`: `try_submit` on the full pool.
//! * `bulkheads_try_spawn_full`: `try_spawn` on the full pool.
//! * `crossbeam_try_send_box_full`: `try_send` of a freshly boxed closure
//!   (`Box<dyn FnOnce() + Send>`) on a full crossbeam bounded(6) channel:
//!   what a pool built on a bounded channel of boxed jobs pays (it must box
//!   the job before it can learn the channel is full).
//! * `crossbeam_try_send_full`: `try_send` of a `usize` on a full crossbeam
//!   bounded(6) channel: the bare channel check, a floor.
//!
//! Run: `cargo bench --bench rejection`.

mod common;

use std::hint::black_box;
use std::time::Duration;

use bulkheads::{RejectReason, ThreadPoolBulkhead};
use common::{task, Job, THREADS};
use criterion::{criterion_group, criterion_main, Criterion};
use crossbeam_channel::TrySendError;

const QUEUE: usize = 4;

fn rejection(c: &mut Criterion) {
    let mut group = c.benchmark_group("rejection");
    group
        .sample_size(50)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));

    {
        let pool = ThreadPoolBulkhead::builder("full")
            .threads(THREADS)
            .queue_capacity(QUEUE)
            .build()
            .expect("build the pool");
        // Every admitted task waits on the gate until `release` is dropped.
        let (release, gate) = crossbeam_channel::bounded::<()>(0);
        let mut held = Vec::new();
        for _ in 0..THREADS + QUEUE {
            let gate = gate.clone();
            held.push(
                pool.try_submit(move || {
                    let _ = gate.recv();
                })
                .expect("room for the gate tasks"),
            );
        }
        let refused = pool.try_submit(|| ()).expect_err("the pool is full");
        assert_eq!(refused.reason(), RejectReason::Full);

        group.bench_function("bulkheads_try_submit_full", |b| {
            b.iter(|| {
                let x = black_box(7u64);
                black_box(pool.try_submit(move || x * 2)).expect_err("the pool is full")
            })
        });
        group.bench_function("bulkheads_try_spawn_full", |b| {
            let mut i = 0;
            b.iter(|| {
                i += 1;
                black_box(pool.try_spawn(task(i))).expect_err("the pool is full")
            })
        });

        drop(release);
        for handle in held {
            handle.join().expect("gate task finishes");
        }
    }

    {
        let (tx, rx) = crossbeam_channel::bounded::<Job>(THREADS + QUEUE);
        for i in 0..THREADS + QUEUE {
            tx.try_send(Box::new(task(i))).expect("room to fill");
        }
        group.bench_function("crossbeam_try_send_box_full", |b| {
            let mut i = 0;
            b.iter(|| {
                i += 1;
                match tx.try_send(Box::new(task(i))) {
                    Err(TrySendError::Full(job)) => black_box(job),
                    _ => unreachable!("the channel is full"),
                }
            })
        });
        drop(rx);
    }

    {
        let (tx, rx) = crossbeam_channel::bounded::<usize>(THREADS + QUEUE);
        for i in 0..THREADS + QUEUE {
            tx.try_send(i).expect("room to fill");
        }
        group.bench_function("crossbeam_try_send_full", |b| {
            let mut i = 0;
            b.iter(|| {
                i += 1;
                match tx.try_send(black_box(i)) {
                    Err(TrySendError::Full(v)) => v,
                    _ => unreachable!("the channel is full"),
                }
            })
        });
        drop(rx);
    }

    group.finish();
}

criterion_group!(benches, rejection);
criterion_main!(benches);
