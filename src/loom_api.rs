//! Internals exposed to the loom model checks in `loom-tests/`, and only
//! when built with `RUSTFLAGS="--cfg loom"`: normal builds do not compile
//! this module, so the public API is unchanged.
//!
//! The wrappers forward one-to-one to [`crate::admission::Slots`]; they
//! exist because the counter is `pub(crate)` and must stay so.

use crate::admission;

/// Why an acquire was refused (mirror of the crate-internal enum).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Every slot is taken.
    Full,
    /// The counter was closed.
    Closed,
}

impl From<admission::Refused> for Refused {
    fn from(r: admission::Refused) -> Self {
        match r {
            admission::Refused::Full => Refused::Full,
            admission::Refused::Closed => Refused::Closed,
        }
    }
}

/// What a release left behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Released {
    /// Slots still taken.
    pub remaining: usize,
    /// True for the one release that emptied a closed counter.
    pub closed_and_empty: bool,
}

/// A snapshot of the packed word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Snapshot {
    /// Slots taken.
    pub count: usize,
    /// Slots allowed.
    pub capacity: usize,
    /// Whether the counter is closed.
    pub closed: bool,
}

/// The crate's lock-free slot counter.
#[derive(Debug)]
pub struct Slots(admission::Slots);

impl Slots {
    /// See `admission::Slots::new`.
    pub fn new(capacity: usize) -> Self {
        Slots(admission::Slots::new(capacity))
    }

    /// See `admission::Slots::try_acquire`.
    pub fn try_acquire(&self) -> Result<(), Refused> {
        self.0.try_acquire().map_err(Refused::from)
    }

    /// `admission::Slots::acquire_until(None)`: sleeps until a slot frees or
    /// the counter closes.
    pub fn acquire(&self) -> Result<(), Refused> {
        self.0.acquire_until(None).map_err(Refused::from)
    }

    /// See `admission::Slots::force_acquire`.
    pub fn force_acquire(&self) -> Result<(), Refused> {
        self.0.force_acquire().map_err(Refused::from)
    }

    /// See `admission::Slots::release`.
    pub fn release(&self) -> Released {
        let r = self.0.release();
        Released {
            remaining: r.remaining,
            closed_and_empty: r.closed_and_empty,
        }
    }

    /// `admission::Slots::wait_empty(None)`.
    pub fn wait_empty(&self) -> bool {
        self.0.wait_empty(None)
    }

    /// See `admission::Slots::set_capacity`.
    pub fn set_capacity(&self, capacity: usize) -> usize {
        self.0.set_capacity(capacity)
    }

    /// See `admission::Slots::close`.
    pub fn close(&self) -> Option<bool> {
        self.0.close()
    }

    /// See `admission::Slots::snapshot`.
    pub fn snapshot(&self) -> Snapshot {
        let s = self.0.snapshot();
        Snapshot {
            count: s.count,
            capacity: s.capacity,
            closed: s.closed,
        }
    }

    /// See `admission::Slots::waiting`.
    pub fn waiting(&self) -> usize {
        self.0.waiting()
    }
}
