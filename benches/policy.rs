//! Policy: what the health gate adds to a call, beside the bare bulkhead
//! call it wraps. One thread, a healthy dependency (every call succeeds
//! quickly), the gate closed.
//!
//! Contenders, all in the group `policy`:
//!
//! * `semaphore_call`: `SemaphoreBulkhead::call(|| no-op)`, the bare
//!   bulkhead (limit 16).
//! * `policy_call_on_semaphore`: `Policy::call_on(&semaphore, || no-op)`,
//!   the same call behind the gate: the difference to `semaphore_call` is
//!   the policy's cost.
//! * `policy_call`: `Policy::call(|| no-op)`, the gate alone, no bulkhead.
//! * `policy_call_manual_clock`: as `policy_call` with a `ManualClock`,
//!   which separates the gate's own work from the two reads of the system
//!   clock that time every call (for the slow-call rule).
//! * `two_clock_reads`: `Instant::now()` twice and their difference, the
//!   floor a call timed on the system clock pays.
//!
//! Run: `cargo bench --bench policy`.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use bulkheads::{ManualClock, Policy, SemaphoreBulkhead};
use criterion::{criterion_group, criterion_main, Criterion};

fn policy(c: &mut Criterion) {
    let semaphore = SemaphoreBulkhead::new("bench", 16);
    let policy = Policy::builder("bench").build().unwrap();
    let manual = Policy::builder("bench")
        .clock(Arc::new(ManualClock::new()))
        .build()
        .unwrap();

    let mut group = c.benchmark_group("policy");
    group.bench_function("semaphore_call", |b| {
        b.iter(|| semaphore.call(|| black_box(1u32)).ok())
    });
    group.bench_function("policy_call_on_semaphore", |b| {
        b.iter(|| policy.call_on(&semaphore, || Ok::<_, ()>(black_box(1u32))))
    });
    group.bench_function("policy_call", |b| {
        b.iter(|| policy.call(|| Ok::<_, ()>(black_box(1u32))))
    });
    group.bench_function("policy_call_manual_clock", |b| {
        b.iter(|| manual.call(|| Ok::<_, ()>(black_box(1u32))))
    });
    group.bench_function("two_clock_reads", |b| {
        b.iter(|| {
            let start = Instant::now();
            black_box(Instant::now().saturating_duration_since(start))
        })
    });
    group.finish();

    let h = policy.health();
    assert_eq!(h.failures, 0);
    println!("policy after the run: {h}");
}

criterion_group!(benches, policy);
criterion_main!(benches);
