//! Helpers shared by the integration tests: latches instead of sleeps.
#![allow(dead_code)]

use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Condvar, Mutex};

/// A gate tasks block on until the test opens it.
#[derive(Clone, Default)]
pub struct Gate {
    inner: Arc<(Mutex<bool>, Condvar)>,
}

impl Gate {
    pub fn new() -> Self {
        Self::default()
    }

    /// Blocks until the gate is opened.
    pub fn wait(&self) {
        let (lock, cv) = &*self.inner;
        let mut open = lock.lock().unwrap();
        while !*open {
            open = cv.wait(open).unwrap();
        }
    }

    pub fn open(&self) {
        let (lock, cv) = &*self.inner;
        *lock.lock().unwrap() = true;
        cv.notify_all();
    }
}

/// Counts tasks that have started, so the test can wait until N run.
pub struct Started {
    tx: Sender<()>,
    rx: Receiver<()>,
}

impl Started {
    pub fn new() -> Self {
        let (tx, rx) = mpsc::channel();
        Started { tx, rx }
    }

    pub fn signal(&self) -> Sender<()> {
        self.tx.clone()
    }

    /// Blocks until `n` more tasks have signalled.
    pub fn wait_for(&self, n: usize) {
        for _ in 0..n {
            self.rx.recv().expect("a task signals before finishing");
        }
    }
}

/// A task that announces it started, then blocks on `gate`, then returns `value`.
pub fn blocker<T: Send + 'static>(
    started: &Started,
    gate: &Gate,
    value: T,
) -> impl FnOnce() -> T + Send + 'static {
    let tx = started.signal();
    let gate = gate.clone();
    move || {
        tx.send(()).ok();
        gate.wait();
        value
    }
}

/// Silences the panic messages of tasks that panic on purpose (their
/// payload starts with "intentional"), keeping other panics loud.
pub fn quiet_intentional_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let payload = info.payload();
            let msg = payload
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
                .unwrap_or("");
            if !msg.starts_with("intentional") {
                default(info);
            }
        }));
    });
}

/// Runs `stop` (a shutdown that waits for running tasks) on another thread
/// and returns once it has begun: the pool already refuses new work.
pub fn stop_in_background<R: Send + 'static>(
    pool: &std::sync::Arc<bulkheads::ThreadPoolBulkhead>,
    stop: impl FnOnce(&bulkheads::ThreadPoolBulkhead) -> R + Send + 'static,
) -> std::thread::JoinHandle<R> {
    let p = pool.clone();
    let stopper = std::thread::spawn(move || stop(&p));
    while !pool.is_shut_down() {
        std::thread::yield_now();
    }
    stopper
}

/// Builds a pool, or fails the test with the reason.
pub fn pool(name: &str, threads: usize, queue: usize) -> bulkheads::ThreadPoolBulkhead {
    bulkheads::ThreadPoolBulkhead::builder(name)
        .threads(threads)
        .queue_capacity(queue)
        .build()
        .unwrap_or_else(|e| panic!("building `{name}`: {e}"))
}

/// Fills `threads` running slots of `pool` with tasks blocked on the
/// returned gate, and waits until they all run.
pub fn occupy(
    pool: &bulkheads::ThreadPoolBulkhead,
    threads: usize,
) -> (Gate, Vec<bulkheads::TaskHandle<()>>) {
    let (started, gate) = (Started::new(), Gate::new());
    let handles = (0..threads)
        .map(|_| {
            pool.try_submit(blocker(&started, &gate, ()))
                .expect("room for a blocker")
        })
        .collect();
    started.wait_for(threads);
    (gate, handles)
}

/// A hang detector: aborts the process if it is not dropped within
/// `bound`. The bound is generous; this is not a timing assertion, it only
/// turns a deadlock into a failure instead of a stuck run.
pub struct Watchdog {
    done: Option<Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Watchdog {
    pub fn arm(what: &'static str, bound: std::time::Duration) -> Self {
        let (done, rx) = mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            if let Err(mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(bound) {
                eprintln!("{what}: not finished after {bound:?}: a hang; aborting");
                std::process::abort();
            }
        });
        Watchdog {
            done: Some(done),
            thread: Some(thread),
        }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        drop(self.done.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The names of the threads that run `n` tasks of `pool` at the same time
/// (each task waits at a barrier until all `n` run, so each is on its own
/// worker), sorted.
pub fn names_of_threads_running(pool: &bulkheads::ThreadPoolBulkhead, n: usize) -> Vec<String> {
    let barrier = Arc::new(std::sync::Barrier::new(n));
    let handles: Vec<_> = (0..n)
        .map(|_| {
            let b = barrier.clone();
            pool.try_submit(move || {
                b.wait();
                std::thread::current().name().unwrap().to_owned()
            })
            .expect("room for every task")
        })
        .collect();
    let mut names: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    names.sort();
    names
}

/// xorshift64*: a small deterministic generator, so no test dependency is
/// needed and a failure replays from its seed.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number below `n`.
    pub fn below(&mut self, n: u64) -> usize {
        (self.next() % n) as usize
    }

    /// Shuffles `items` in place (Fisher-Yates).
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i as u64 + 1));
        }
    }
}
