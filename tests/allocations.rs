//! A rejection allocates nothing; a submitted task costs two allocations
//! (its closure and its result cell) and a spawned one one, plus the
//! queue's share of a block.

mod common;

use bulkheads::ThreadPoolBulkhead;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// Counts allocations made by the current thread only, so worker threads
/// and the test harness do not disturb the count.
struct Counting;

thread_local! {
    static ALLOCS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: defers to the system allocator unchanged; only counts calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller upholds `GlobalAlloc::dealloc`'s contract.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: the caller upholds `GlobalAlloc::realloc`'s contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations_during(f: impl FnOnce()) -> usize {
    let before = ALLOCS.with(Cell::get);
    f();
    ALLOCS.with(Cell::get) - before
}

#[test]
fn a_rejection_allocates_nothing() {
    let pool = common::pool("full", 1, 0);
    let (gate, h) = common::occupy(&pool, 1);
    let payload = String::from("a closure that owns heap data");
    let mut work = Some(move || payload.len());
    let allocs = allocations_during(|| {
        for _ in 0..1_000 {
            let rejected = pool.try_submit(work.take().unwrap()).unwrap_err();
            work = Some(rejected.into_inner());
            assert!(pool.try_spawn(|| ()).unwrap_err().is_full());
        }
    });
    assert_eq!(allocs, 0);
    gate.open();
    h.into_iter().for_each(|h| h.join().unwrap());
}

/// The queue's own allocations: crossbeam's list channel allocates one
/// block per 31 items.
fn queue_blocks(items: usize) -> usize {
    items.div_ceil(31) + 1
}

#[test]
fn a_task_costs_two_allocations_and_a_spawn_one() {
    let n = 4_000;
    let pool = ThreadPoolBulkhead::builder("alloc")
        .threads(1)
        .queue_capacity(n)
        .build()
        .unwrap();
    let (gate, running) = common::occupy(&pool, 1);
    let payload = [0u64; 4];
    let mut handles = Vec::with_capacity(n);
    let allocs = allocations_during(|| {
        for _ in 0..n - 1 {
            // The boxed closure and the result cell its handle shares.
            handles.push(pool.try_submit(move || payload[0]).unwrap());
        }
    });
    assert!(
        allocs <= 2 * (n - 1) + queue_blocks(n),
        "{allocs} allocations for {} tasks",
        n - 1
    );
    gate.open();
    running.into_iter().for_each(|h| h.join().unwrap());
    handles
        .into_iter()
        .for_each(|h| assert_eq!(h.join().unwrap(), 0));
    pool.wait_idle();

    let (gate, running) = common::occupy(&pool, 1);
    let allocs = allocations_during(|| {
        for _ in 0..n - 1 {
            pool.try_spawn(move || {
                std::hint::black_box(payload);
            })
            .unwrap();
        }
    });
    assert!(
        allocs <= (n - 1) + queue_blocks(n),
        "{allocs} allocations for {} spawned tasks",
        n - 1
    );
    gate.open();
    running.into_iter().for_each(|h| h.join().unwrap());
    pool.wait_idle();
}
