//! Helpers shared by the benches: a completion latch and the "floor" pool, a
//! crossbeam bounded channel of boxed closures feeding plain threads, the
//! least a fixed-size pool with a bounded queue can do.

#![allow(dead_code)] // each bench uses a subset

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::{self, JoinHandle};

use crossbeam_channel::{Receiver, Sender};

/// Worker threads in every pool under test, unless a bench says otherwise.
pub const THREADS: usize = 2;

/// A boxed fire-and-forget job, as the floor pool and most pools carry it.
pub type Job = Box<dyn FnOnce() + Send + 'static>;

/// The no-op task every throughput bench submits: it captures one `usize`
/// (as real tasks capture their input), so boxing it allocates in every
/// pool alike; a zero-sized closure would box without allocating.
#[inline]
pub fn task(i: usize) -> impl FnOnce() + Send + 'static {
    move || {
        black_box(i);
    }
}

/// Counts outstanding work down to zero and lets one thread sleep until it
/// gets there. Waking costs a lock and a notify only when someone sleeps.
#[derive(Debug)]
pub struct Latch {
    /// Work added and not yet counted down. Written by adders and workers.
    pending: AtomicUsize,
    /// Set by a waiter, under `lock`, before its last check of `pending`.
    sleeping: AtomicBool,
    /// Serialises a waiter's check-then-sleep with a worker's notify.
    lock: Mutex<()>,
    /// Where the waiter sleeps.
    zero: Condvar,
}

impl Default for Latch {
    fn default() -> Self {
        Self::new()
    }
}

impl Latch {
    /// A latch at zero.
    pub const fn new() -> Self {
        Latch {
            pending: AtomicUsize::new(0),
            sleeping: AtomicBool::new(false),
            lock: Mutex::new(()),
            zero: Condvar::new(),
        }
    }

    /// Adds `n` units of outstanding work.
    #[inline]
    pub fn add(&self, n: usize) {
        // Relaxed: the work itself travels through a channel or pool queue,
        // which orders this before the matching `count_down`.
        self.pending.fetch_add(n, Ordering::Relaxed);
    }

    /// One unit of work is done.
    #[inline]
    pub fn count_down(&self) {
        // SeqCst here and on `sleeping` in both places: either the waiter
        // sees zero, or this sees the waiter's flag (Dekker).
        if self.pending.fetch_sub(1, Ordering::SeqCst) == 1 && self.sleeping.load(Ordering::SeqCst)
        {
            let _guard = self.lock.lock().unwrap();
            self.zero.notify_all();
        }
    }

    /// Sleeps until every unit added so far has been counted down.
    pub fn wait(&self) {
        if self.pending.load(Ordering::Acquire) == 0 {
            return;
        }
        let mut guard = self.lock.lock().unwrap();
        self.sleeping.store(true, Ordering::SeqCst);
        while self.pending.load(Ordering::SeqCst) != 0 {
            guard = self.zero.wait(guard).unwrap();
        }
        self.sleeping.store(false, Ordering::Relaxed);
        drop(guard);
    }
}

/// The floor: `threads` plain threads pulling boxed closures from one
/// crossbeam bounded channel (`send` blocks when it is full: backpressure),
/// with a per-task completion count for `wait_idle`. No admission counter,
/// no statistics, no panic handling, no handles.
pub struct FloorPool {
    tx: Option<Sender<Job>>,
    workers: Vec<JoinHandle<()>>,
    pending: Arc<Latch>,
}

impl FloorPool {
    /// Starts `threads` workers behind a channel of `capacity` jobs.
    pub fn new(threads: usize, capacity: usize) -> Self {
        let (tx, rx): (Sender<Job>, Receiver<Job>) = crossbeam_channel::bounded(capacity);
        let pending = Arc::new(Latch::new());
        let workers = (0..threads)
            .map(|i| {
                let rx = rx.clone();
                let pending = Arc::clone(&pending);
                thread::Builder::new()
                    .name(format!("floor-{i}"))
                    .spawn(move || {
                        for job in rx {
                            job();
                            pending.count_down();
                        }
                    })
                    .expect("spawn a floor worker")
            })
            .collect();
        FloorPool {
            tx: Some(tx),
            workers,
            pending,
        }
    }

    /// Queues a job, waiting for room in the channel.
    #[inline]
    pub fn execute(&self, job: Job) {
        self.pending.add(1);
        self.tx
            .as_ref()
            .expect("floor pool is running")
            .send(job)
            .expect("floor workers are alive");
    }

    /// Sleeps until every job queued so far has run.
    pub fn wait_idle(&self) {
        self.pending.wait();
    }
}

impl Drop for FloorPool {
    fn drop(&mut self) {
        drop(self.tx.take());
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
    }
}

/// How many times the calling thread went to sleep (voluntary context
/// switches, from `/proc/thread-self/status`) while running `f`; `None`
/// where that file does not exist (not Linux).
pub fn sleeps_during(f: impl FnOnce()) -> Option<u64> {
    fn voluntary() -> Option<u64> {
        let status = std::fs::read_to_string("/proc/thread-self/status").ok()?;
        status
            .lines()
            .find_map(|line| line.strip_prefix("voluntary_ctxt_switches:"))?
            .trim()
            .parse()
            .ok()
    }
    let before = voluntary();
    f();
    Some(voluntary()? - before?)
}

/// Minor page faults of the whole process so far (field 10 of
/// `/proc/self/stat`); `None` where that file does not exist (not Linux).
/// A fault is the kernel handing the process a fresh page: memory the
/// allocator gave back to the system and asks for again.
pub fn minor_faults() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) is in parentheses and may hold spaces;
    // count fields from the closing one: state is field 3, minflt field 10.
    let after_name = stat.get(stat.rfind(')')? + 2..)?;
    after_name.split(' ').nth(7)?.parse().ok()
}

/// Prints how often the producer slept during one extra, unmeasured batch.
pub fn report_sleeps(name: &str, tasks: usize, batch: impl FnOnce()) {
    match sleeps_during(batch) {
        Some(n) => println!("{name}: the producer slept {n} times in one batch of {tasks} tasks"),
        None => println!("{name}: producer sleeps not available on this platform"),
    }
}

/// The latch the tasks of [`rayon_spawn_batch`] count down (a static, so
/// each task captures nothing more than the other contenders' tasks).
static RAYON_DONE: Latch = Latch::new();

/// Spawns `n` no-op tasks on `pool` (rayon's unbounded injector), each
/// counting a shared latch down, and sleeps until all have run.
pub fn rayon_spawn_batch(pool: &rayon::ThreadPool, n: usize) {
    RAYON_DONE.add(n);
    for i in 0..n {
        let work = task(i);
        pool.spawn(move || {
            work();
            RAYON_DONE.count_down();
        });
    }
    RAYON_DONE.wait();
}

/// `n` tasks through the blocking `spawn` (backpressure), then `wait_idle`.
pub fn bulkheads_spawn_batch(pool: &bulkheads::ThreadPoolBulkhead, n: usize) {
    for i in 0..n {
        pool.spawn(task(i)).expect("pool is running");
    }
    pool.wait_idle();
}

/// `n` tasks through the blocking `submit`, each handle dropped at once
/// (the task runs detached), then `wait_idle`.
pub fn bulkheads_submit_batch(pool: &bulkheads::ThreadPoolBulkhead, n: usize) {
    for i in 0..n {
        drop(pool.submit(task(i)).expect("pool is running"));
    }
    pool.wait_idle();
}

/// `n` tasks through the blocking `submit`, keeping every handle, then
/// joining them all in order.
pub fn bulkheads_submit_join_batch(pool: &bulkheads::ThreadPoolBulkhead, n: usize) {
    let handles: Vec<_> = (0..n)
        .map(|i| pool.submit(task(i)).expect("pool is running"))
        .collect();
    for handle in handles {
        handle.join().expect("a no-op task returns");
    }
}

/// `n` tasks through `try_spawn`: on `Full` the closure comes back in
/// `Rejected`, the producer yields and offers the same closure again, so
/// every task runs exactly once. Then `wait_idle`.
pub fn bulkheads_try_spawn_batch(pool: &bulkheads::ThreadPoolBulkhead, n: usize) {
    for i in 0..n {
        let mut work = task(i);
        while let Err(rejected) = pool.try_spawn(work) {
            work = rejected.into_inner();
            thread::yield_now();
        }
    }
    pool.wait_idle();
}

/// `n` tasks through threadpool's `execute` (unbounded queue), then `join`.
pub fn threadpool_batch(pool: &threadpool::ThreadPool, n: usize) {
    for i in 0..n {
        pool.execute(task(i));
    }
    pool.join();
}

/// `n` tasks through the floor pool, then its `wait_idle`.
pub fn floor_batch(pool: &FloorPool, n: usize) {
    for i in 0..n {
        pool.execute(Box::new(task(i)));
    }
    pool.wait_idle();
}
