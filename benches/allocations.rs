//! Allocations per operation, counted by a global allocator that counts
//! every `alloc`, `alloc_zeroed` and `realloc` on every thread of the
//! process (submitter and workers alike). Not a criterion bench: a plain
//! `main` that prints a table.
//!
//! Each row runs its operation 1,000 times to warm up (thread-locals,
//! channel blocks, parking structures), then 100,000 times while counting,
//! and prints the exact count and the count per operation. Every task is
//! the closure of `common::task` (it captures one `usize`, so boxing it
//! allocates; a zero-sized closure would box for free).
//!
//! Run: `cargo bench --bench allocations`.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;

use bulkheads::{SemaphoreBulkhead, ThreadPoolBulkhead};
use common::{task, FloorPool, Job, THREADS};

/// Forwards to the system allocator, counting allocations and bytes.
struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);

// SAFETY: every method forwards to `System` with the caller's arguments
// unchanged, so `System`'s guarantees carry over; the counters are atomics
// and allocate nothing.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        BYTES.fetch_add(layout.size() as u64, Ordering::Relaxed);
        // SAFETY: forwarded as received; the caller upholds `alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        BYTES.fetch_add(layout.size() as u64, Ordering::Relaxed);
        // SAFETY: forwarded as received; the caller upholds the contract.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` through this allocator, with
        // this layout, as the caller guarantees.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        BYTES.fetch_add(new_size as u64, Ordering::Relaxed);
        // SAFETY: forwarded as received; the caller upholds the contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const OPS: usize = 100_000;
const WARM_UP: usize = 1_000;
const QUEUE: usize = 1024;

/// Runs `run(WARM_UP)`, then counts the allocations of `run(OPS)` and
/// prints one table row.
fn row(name: &str, mut run: impl FnMut(usize)) {
    run(WARM_UP);
    let (a0, b0) = (ALLOCS.load(Ordering::SeqCst), BYTES.load(Ordering::SeqCst));
    run(OPS);
    let (a1, b1) = (ALLOCS.load(Ordering::SeqCst), BYTES.load(Ordering::SeqCst));
    let (allocs, bytes) = (a1 - a0, b1 - b0);
    println!(
        "| {:<52} | {:>7} | {:>11} | {:>12.4} | {:>10.1} |",
        name,
        OPS,
        allocs,
        allocs as f64 / OPS as f64,
        bytes as f64 / OPS as f64
    );
}

fn bulkheads_pool(queue: usize) -> ThreadPoolBulkhead {
    ThreadPoolBulkhead::builder("alloc")
        .threads(THREADS)
        .queue_capacity(queue)
        .build()
        .expect("build the pool")
}

/// A pool whose every slot is taken by a task blocked on a gate; dropping
/// the returned sender releases them. Returns only once both workers are
/// inside their gate task (and have had time to block), so worker start-up
/// and parking allocations are not counted against the rejections.
fn full_pool(queue: usize) -> (ThreadPoolBulkhead, crossbeam_channel::Sender<()>) {
    let pool = bulkheads_pool(queue);
    let (release, gate) = crossbeam_channel::bounded::<()>(0);
    let (started_tx, started) = crossbeam_channel::unbounded::<()>();
    for _ in 0..THREADS + queue {
        let gate = gate.clone();
        let started_tx = started_tx.clone();
        pool.try_spawn(move || {
            let _ = started_tx.send(());
            let _ = gate.recv();
        })
        .expect("room for the gate tasks");
    }
    for _ in 0..THREADS {
        started.recv().expect("a worker starts a gate task");
    }
    thread::sleep(std::time::Duration::from_millis(50));
    (pool, release)
}

fn main() {
    println!(
        "allocations per operation ({OPS} operations after {WARM_UP} warm-up; {THREADS} worker threads; all threads counted)"
    );
    println!();
    println!(
        "| {:<52} | {:>7} | {:>11} | {:>12} | {:>10} |",
        "operation", "ops", "allocations", "allocs / op", "bytes / op"
    );
    println!(
        "|{:-<54}|{:->9}|{:->13}|{:->14}|{:->12}|",
        "", "", "", "", ""
    );

    {
        let pool = bulkheads_pool(16);
        row("bulkheads try_submit + join (one at a time)", |n| {
            for i in 0..n {
                let handle = pool.try_submit(move || i).expect("an idle pool admits");
                black_box(handle.join().expect("the task returns"));
            }
        });
        row("bulkheads execute (one at a time)", |n| {
            for i in 0..n {
                black_box(pool.execute(move || i).expect("an idle pool runs it"));
            }
        });
    }
    {
        let pool = bulkheads_pool(QUEUE);
        row("bulkheads try_spawn (retry on Full), then wait_idle", |n| {
            common::bulkheads_try_spawn_batch(&pool, n)
        });
        row("bulkheads spawn (blocking), then wait_idle", |n| {
            common::bulkheads_spawn_batch(&pool, n)
        });
        row("bulkheads submit, handle dropped, then wait_idle", |n| {
            for i in 0..n {
                let _detached = pool.submit(task(i)).expect("pool is running");
            }
            pool.wait_idle();
        });
    }
    {
        let (pool, release) = full_pool(4);
        row("bulkheads try_submit rejected (full pool)", |n| {
            for i in 0..n {
                black_box(pool.try_submit(move || i)).expect_err("the pool is full");
            }
        });
        row("bulkheads try_spawn rejected (full pool)", |n| {
            for i in 0..n {
                black_box(pool.try_spawn(task(i))).expect_err("the pool is full");
            }
        });
        row("bulkheads execute rejected (full pool)", |n| {
            for i in 0..n {
                black_box(pool.execute(move || i)).expect_err("the pool is full");
            }
        });
        drop(release);
    }
    {
        let open = SemaphoreBulkhead::new("alloc", 16);
        row("bulkheads SemaphoreBulkhead try_acquire + drop", |n| {
            for _ in 0..n {
                drop(black_box(open.try_acquire().expect("free permits")));
            }
        });
        let closed = SemaphoreBulkhead::new("alloc-full", 1);
        let _held = closed.try_acquire().expect("the only permit");
        row("bulkheads SemaphoreBulkhead try_acquire rejected", |n| {
            for _ in 0..n {
                black_box(closed.try_acquire()).expect_err("no permit left");
            }
        });
    }
    {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(THREADS)
            .build()
            .expect("build the rayon pool");
        row("rayon spawn, then latch wait", |n| {
            common::rayon_spawn_batch(&pool, n);
        });
        row("rayon install (one at a time)", |n| {
            for i in 0..n {
                black_box(pool.install(move || i));
            }
        });
    }
    {
        let pool = threadpool::ThreadPool::new(THREADS);
        row("threadpool execute, then join", |n| {
            common::threadpool_batch(&pool, n)
        });
        row("threadpool execute + mpsc reply (one at a time)", |n| {
            for i in 0..n {
                let (tx, rx) = std::sync::mpsc::channel();
                pool.execute(move || tx.send(i).expect("the caller waits"));
                black_box(rx.recv().expect("the task sends"));
            }
        });
    }
    {
        let pool = FloorPool::new(THREADS, QUEUE);
        row("floor: crossbeam bounded(1024) + 2 threads", |n| {
            common::floor_batch(&pool, n)
        });
    }
    {
        let (tx, rx) = crossbeam_channel::bounded::<Job>(THREADS + 4);
        for i in 0..THREADS + 4 {
            tx.try_send(Box::new(task(i))).expect("room to fill");
        }
        row("crossbeam try_send of a boxed job, rejected (full)", |n| {
            for i in 0..n {
                black_box(tx.try_send(Box::new(task(i)))).expect_err("the channel is full");
            }
        });
        drop(rx);
    }
}
