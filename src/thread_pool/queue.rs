//! The pool's job queue: unbounded, first in first out, many producers and
//! many consumers.
//!
//! Admission bounds it from outside (a slot is taken before anything is
//! sent), so it never needs to block a sender, and one channel keeps every
//! admitted task in admission order whatever the pool's size or resizes.
//! Normally it is a `crossbeam-channel` list channel. Under loom, which
//! cannot see inside crossbeam's lock-free list, it is a `Mutex<VecDeque>`
//! with a `Condvar` built from the `sync` facade, with the same contract.

/// An unbounded FIFO queue.
pub(crate) struct Queue<T> {
    #[cfg(not(loom))]
    tx: crossbeam_channel::Sender<T>,
    #[cfg(not(loom))]
    rx: crossbeam_channel::Receiver<T>,
    #[cfg(loom)]
    items: crate::sync::Mutex<std::collections::VecDeque<T>>,
    #[cfg(loom)]
    ready: crate::sync::Condvar,
}

#[cfg(not(loom))]
impl<T> Queue<T> {
    pub(crate) fn new() -> Self {
        let (tx, rx) = crossbeam_channel::unbounded();
        Queue { tx, rx }
    }

    /// Appends an item; never blocks.
    pub(crate) fn send(&self, item: T) {
        if self.tx.send(item).is_err() {
            unreachable!("the queue holds its own receiver");
        }
    }

    /// The oldest item, if any; never blocks.
    pub(crate) fn try_recv(&self) -> Option<T> {
        self.rx.try_recv().ok()
    }

    /// The oldest item, waiting for one.
    pub(crate) fn recv(&self) -> T {
        match self.rx.recv() {
            Ok(item) => item,
            Err(_) => unreachable!("the queue holds its own sender"),
        }
    }
}

#[cfg(loom)]
impl<T> Queue<T> {
    pub(crate) fn new() -> Self {
        Queue {
            items: crate::sync::Mutex::new(std::collections::VecDeque::new()),
            ready: crate::sync::Condvar::new(),
        }
    }

    pub(crate) fn send(&self, item: T) {
        self.items.lock().push_back(item);
        self.ready.notify_one();
    }

    pub(crate) fn try_recv(&self) -> Option<T> {
        self.items.lock().pop_front()
    }

    pub(crate) fn recv(&self) -> T {
        let mut items = self.items.lock();
        loop {
            if let Some(item) = items.pop_front() {
                return item;
            }
            items = self.ready.wait(items);
        }
    }
}
