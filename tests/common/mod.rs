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
