//! Finished jobs' allocations are given back: a worker hands its emptied
//! jobs to the submitters in batches instead of freeing them, and only a
//! bounded number may wait. After a long stream of tasks the number of
//! live heap blocks returns to where it started, give or take those
//! batches.
//!
//! One test in this binary: it counts every thread's allocations.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use bulkheads::ThreadPoolBulkhead;

/// Counts live heap blocks, over every thread.
struct Live;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: defers to the system allocator unchanged; only counts calls.
unsafe impl GlobalAlloc for Live {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(1, Ordering::Relaxed);
        // SAFETY: the caller upholds `GlobalAlloc::dealloc`'s contract.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Live = Live;

#[test]
fn a_stream_of_tasks_leaves_at_most_a_few_batches_behind() {
    let threads = 2;
    let pool = ThreadPoolBulkhead::builder("memory")
        .threads(threads)
        .queue_capacity(1024)
        .build()
        .unwrap();
    pool.spawn(|| ()).unwrap();
    pool.wait_idle();
    let before = LIVE.load(Ordering::SeqCst);

    let n: usize = 200_000;
    for i in 0..n {
        if i % 2 == 0 {
            pool.spawn(move || {
                std::hint::black_box(i);
            })
            .unwrap();
        } else {
            drop(pool.submit(move || i).unwrap());
        }
    }
    pool.wait_idle();
    // A worker marks itself idle just before it hands its last batch back;
    // a hand-back never allocates, so blocks can only go down from here.
    let after = LIVE.load(Ordering::SeqCst);
    let left = after - before;
    // Each worker's own batch, plus the spare batches on their way back:
    // 32 jobs each.
    let bound = ((threads + 2) * 32) as isize;
    assert!(
        left <= bound,
        "{left} blocks still live after {n} tasks (bound {bound})"
    );
    drop(pool);
    let at_end = LIVE.load(Ordering::SeqCst);
    assert!(
        at_end < before,
        "dropping the pool frees its batches and state"
    );
}
