//! A rejection allocates nothing; a submitted task costs at most one
//! allocation, of 56 bytes on 64-bit targets for a task returning a word,
//! and a stream of detached tasks reuses the allocations of finished ones.

mod common;

use bulkheads::ThreadPoolBulkhead;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// Counts allocations made by the current thread only, so worker threads
/// and the test harness do not disturb the count.
struct Counting;

thread_local! {
    static ALLOCS: Cell<usize> = const { Cell::new(0) };
    /// The size of the largest allocation counted so far.
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: defers to the system allocator unchanged; only counts calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        let _ = LARGEST.try_with(|c| c.set(c.get().max(layout.size())));
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

/// How many allocations `f` made on this thread, and the largest one.
fn allocations_and_largest_during(f: impl FnOnce()) -> (usize, usize) {
    LARGEST.with(|c| c.set(0));
    let allocs = allocations_during(f);
    (allocs, LARGEST.with(Cell::get))
}

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

#[test]
fn a_submitted_task_costs_at_most_one_allocation() {
    // Everything in flight fits the queue's preallocated channel.
    let n = 4_000;
    let pool = ThreadPoolBulkhead::builder("alloc")
        .threads(1)
        .queue_capacity(n)
        .build()
        .unwrap();
    let payload = [0u64; 4];
    let mut handles = Vec::with_capacity(n);
    let mut spawned = 0;
    let allocs = allocations_during(|| {
        for _ in 0..n {
            // One allocation holds the task and its result slot.
            handles.push(pool.try_submit(move || payload[0]).unwrap());
        }
    });
    assert_eq!(allocs, n, "{allocs} allocations for {n} tasks");
    handles
        .into_iter()
        .for_each(|h| assert_eq!(h.join().unwrap(), 0));
    pool.wait_idle();

    let allocs = allocations_during(|| {
        for _ in 0..n {
            pool.try_spawn(move || {
                std::hint::black_box(payload);
            })
            .unwrap();
            spawned += 1;
        }
    });
    // Fewer, once the first spawns' boxes come back to be reused.
    assert!(
        allocs <= spawned,
        "{allocs} allocations for {spawned} spawned tasks"
    );
    pool.wait_idle();
}

/// Submits one task at a time until one finds an emptied allocation of its
/// own type to reuse, and returns how many it took (`None`: never, in
/// `LIMIT` tries). A worker hands emptied allocations back when it runs out
/// of work, which here is after every task.
fn tasks_until_one_allocates_nothing(mut submit: impl FnMut(usize)) -> Option<usize> {
    const LIMIT: usize = 100_000;
    (0..LIMIT).find(|&i| allocations_during(|| submit(i)) == 0)
}

#[test]
fn a_detached_task_reuses_a_finished_ones_allocation() {
    let pool = ThreadPoolBulkhead::builder("reuse")
        .threads(1)
        .queue_capacity(8)
        .build()
        .unwrap();
    let payload = [7u64; 4];
    let spawns = tasks_until_one_allocates_nothing(|i| {
        pool.spawn(move || {
            std::hint::black_box((payload, i));
        })
        .unwrap();
        pool.wait_idle();
    });
    assert!(spawns.is_some(), "no spawn reused an allocation");

    // The same for handle tasks whose handle was dropped.
    let submits = tasks_until_one_allocates_nothing(|i| {
        drop(pool.submit(move || payload[0] + i as u64).unwrap());
        pool.wait_idle();
    });
    assert!(submits.is_some(), "no submit reused an allocation");
}

/// A producer that keeps its handles keeps as many task cells; on 64-bit
/// targets a task returning a word fits one 56-byte allocation (a 64-byte
/// block in glibc's allocator).
#[cfg(target_pointer_width = "64")]
#[test]
fn a_task_returning_a_word_lives_in_56_bytes() {
    let pool = ThreadPoolBulkhead::builder("small")
        .threads(1)
        .queue_capacity(8)
        .build()
        .unwrap();
    let input = 20_u64;
    let mut word = None;
    let (allocs, largest) = allocations_and_largest_during(|| {
        word = Some(pool.try_submit(move || input + 1).unwrap());
    });
    assert_eq!((allocs, word.unwrap().join().unwrap()), (1, 21));
    assert!(largest <= 56, "a task cell of {largest} bytes");
    let mut unit = None;
    let (allocs, largest) = allocations_and_largest_during(|| {
        unit = Some(
            pool.try_submit(move || {
                std::hint::black_box(input);
            })
            .unwrap(),
        );
    });
    unit.unwrap().join().unwrap();
    assert_eq!(allocs, 1);
    assert!(largest <= 56, "a task cell of {largest} bytes");
}
