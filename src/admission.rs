//! The lock-free slot counter behind every admission decision.
//!
//! A [`Slots`] packs three things into one `AtomicU64`, so that a single
//! compare-and-swap sees them together and no decision can race a resize or
//! a close:
//!
//! ```text
//!  63      62     61     60         31 30          0
//! +------+------+------+-------------+-------------+
//! |closed| idle | room |  capacity   |    count    |
//! +------+------+------+-------------+-------------+
//! ```
//!
//! * `count`: slots taken and not yet released (for a pool: tasks queued or
//!   running; for a semaphore: permits held).
//! * `capacity`: how many slots may be taken at once. It can be changed live;
//!   lowering it below `count` leaves the excess holders alone and refuses
//!   everyone until enough of them have released.
//! * `closed`: once set, every acquire is refused; releases still count down,
//!   and exactly one caller (the closer or the last releaser) learns that the
//!   counter became closed *and* empty.
//! * `room` / `idle`: set by a thread about to sleep until a slot frees
//!   (blocking acquire) or until the count reaches zero (`wait_empty`).
//!   Because the flags live in the same word as the count, a releaser's
//!   `fetch_sub` sees them atomically with its own decrement: either the
//!   sleeper's flag-setting CAS came first and the releaser wakes it, or the
//!   release came first and the sleeper's CAS fails and it re-reads the
//!   count. No wake-up can be lost, and a release with no sleeper pays
//!   nothing beyond its `fetch_sub`.
//!
//! Acquiring is a load plus one CAS; refusing is a load and nothing else: no
//! lock, no allocation. All imports come from the `sync` facade so the loom
//! models in `loom-tests/` check this very code.

use std::time::Instant;

use crate::sync::{AtomicU64, AtomicUsize, CachePadded, Condvar, Mutex, Ordering};

const COUNT_BITS: u32 = 31;
const COUNT_MASK: u64 = (1 << COUNT_BITS) - 1;
const CAPACITY_SHIFT: u32 = COUNT_BITS;
const CAPACITY_BITS: u32 = 30;
const CAPACITY_MAX: u64 = (1 << CAPACITY_BITS) - 1;
const CAPACITY_MASK: u64 = CAPACITY_MAX << CAPACITY_SHIFT;
const ROOM_WAITERS: u64 = 1 << 61;
const IDLE_WAITERS: u64 = 1 << 62;
const CLOSED: u64 = 1 << 63;

/// Spinning before a blocking acquire sleeps: step `step` of
/// `0..=SPIN_STEPS` spins `2^step` pause hints (127 in all, a few
/// microseconds).
#[cfg(not(loom))]
const SPIN_STEPS: u32 = 6;

/// The largest capacity a [`Slots`] can hold (2^30 - 1). Larger capacities
/// are clamped to it.
pub(crate) const MAX_SLOTS: usize = CAPACITY_MAX as usize;

/// Why [`Slots::try_acquire`] refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// Every slot is taken (or the capacity was lowered under the count).
    Full,
    /// The counter was closed.
    Closed,
}

/// What a release left behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Released {
    /// Slots still taken after this release.
    pub(crate) remaining: usize,
    /// True for exactly one release of a closed counter: the one that took
    /// the count to zero. (If the counter was already empty when it was
    /// closed, [`Slots::close`] reports that instead.)
    pub(crate) closed_and_empty: bool,
}

/// A snapshot of the packed word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Snapshot {
    /// Slots taken.
    pub(crate) count: usize,
    /// Slots allowed.
    pub(crate) capacity: usize,
    /// Whether the counter is closed.
    pub(crate) closed: bool,
}

impl Snapshot {
    fn of(word: u64) -> Self {
        Snapshot {
            count: (word & COUNT_MASK) as usize,
            capacity: ((word & CAPACITY_MASK) >> CAPACITY_SHIFT) as usize,
            closed: word & CLOSED != 0,
        }
    }
}

/// Where sleepers of one kind (waiting for room, waiting for empty) park.
#[derive(Debug, Default)]
struct Gate {
    /// Serialises setting the sleeper flag with sleeping, and clearing it
    /// with waking, so a flag is never cleared between a sleeper's check and
    /// its wait. Holds the number of sleepers parked on `wake`.
    lock: Mutex<usize>,
    /// Sleepers wait here. A release of one slot that saw the flag wakes
    /// one sleeper, which passes the wake-up on when it leaves (see
    /// [`Slots::pass_on`]); everything else wakes them all.
    wake: Condvar,
}

/// A lock-free counter of taken slots with a live capacity and a close bit.
#[derive(Debug)]
pub(crate) struct Slots {
    /// The packed `closed | idle | room | capacity | count` word. Written by
    /// acquirers and releasers (count), resizers (capacity), the closer
    /// (closed) and sleepers and wakers (flags); read by all and by stats.
    /// Padded to its own cache line: it is the one word every submitter
    /// and every worker writes, and nothing read-mostly should share it.
    word: CachePadded<AtomicU64>,
    /// Callers sleeping until a slot frees (blocking acquires).
    room: Gate,
    /// Callers sleeping until the count reaches zero.
    idle: Gate,
    /// How many callers are inside a blocking acquire. Written by them,
    /// read by stats only, so Relaxed throughout.
    waiting: AtomicUsize,
}

fn clamp(n: usize) -> u64 {
    n.min(MAX_SLOTS) as u64
}

impl Slots {
    /// A counter with `capacity` slots, none taken, open.
    pub(crate) fn new(capacity: usize) -> Self {
        Slots {
            word: CachePadded(AtomicU64::new(clamp(capacity) << CAPACITY_SHIFT)),
            room: Gate::default(),
            idle: Gate::default(),
            waiting: AtomicUsize::new(0),
        }
    }

    /// Takes one slot if the counter is open and `count < capacity`.
    ///
    /// The refusal path is a single load: nothing is written, nothing
    /// allocated, no lock taken.
    #[inline]
    pub(crate) fn try_acquire(&self) -> Result<(), Refused> {
        // Relaxed: this first read only seeds the CAS loop; the CAS itself
        // re-validates the whole word.
        let mut word = self.word.load(Ordering::Relaxed);
        loop {
            if word & CLOSED != 0 {
                return Err(Refused::Closed);
            }
            let count = word & COUNT_MASK;
            let capacity = (word & CAPACITY_MASK) >> CAPACITY_SHIFT;
            if count >= capacity {
                return Err(Refused::Full);
            }
            // AcqRel on success: Acquire pairs with the Release of the
            // holder that freed this slot, so whatever it did before
            // releasing happens-before our use of the slot (a semaphore of
            // one is a lock); Release publishes our increment to closers and
            // resizers that read the word. Relaxed on failure: we only retry.
            match self.word.compare_exchange_weak(
                word,
                word + 1,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Ok(()),
                Err(actual) => word = actual,
            }
        }
    }

    /// Gives one slot back. Must be paired with a successful acquire (or
    /// [`Slots::force_acquire`]).
    #[inline]
    pub(crate) fn release(&self) -> Released {
        self.release_many(1)
    }

    /// Frees `n` slots at once (`n >= 1`), as `n` releases would, in one
    /// atomic step.
    pub(crate) fn release_many(&self, n: usize) -> Released {
        debug_assert!(n >= 1);
        // AcqRel: Release publishes the holders' work to the next acquirer;
        // Acquire lets the last releaser of a closed counter see the close
        // (and everything the closer did before it).
        let prev = self.word.fetch_sub(n as u64, Ordering::AcqRel);
        debug_assert!(prev & COUNT_MASK >= n as u64, "release without acquire");
        let remaining = ((prev & COUNT_MASK) - n as u64) as usize;
        if prev & ROOM_WAITERS != 0 {
            // One slot is room for one sleeper.
            self.wake(&self.room, ROOM_WAITERS, n > 1);
        }
        if prev & IDLE_WAITERS != 0 && remaining == 0 {
            self.wake(&self.idle, IDLE_WAITERS, true);
        }
        Released {
            remaining,
            closed_and_empty: prev & CLOSED != 0 && remaining == 0,
        }
    }

    /// Clears `flag` and wakes one sleeper of `gate`, or every one with
    /// `all`. Taking the gate's lock first means no sleeper is between its
    /// flag-setting CAS and its wait: it is either asleep (and can get the
    /// notification) or has not set the flag yet (and will re-read the
    /// word). A single wake-up is never lost to the sleepers left behind:
    /// the one woken passes it on when it leaves ([`Slots::pass_on`]).
    #[cold]
    fn wake(&self, gate: &Gate, flag: u64, all: bool) {
        let guard = gate.lock.lock();
        // AcqRel: the sleepers re-read the word after waking; this orders
        // the clear before the notification they observe.
        self.word.fetch_and(!flag, Ordering::AcqRel);
        if all {
            gate.wake.notify_all();
        } else {
            gate.wake.notify_one();
        }
        drop(guard);
    }

    /// Called under the room gate's lock by a sleeper leaving the gate
    /// (with a slot, refused or timed out) while others still sleep there.
    /// The wake-up that woke it cleared the flag, so a later release would
    /// not wake the others: if there is room now, wake one of them; if
    /// not, set the flag again, so the next release does.
    fn pass_on(&self, gate: &Gate) {
        // Acquire: as in `sleep_until`.
        let mut word = self.word.load(Ordering::Acquire);
        loop {
            let room = word & COUNT_MASK < (word & CAPACITY_MASK) >> CAPACITY_SHIFT;
            if room || word & CLOSED != 0 {
                gate.wake.notify_one();
                return;
            }
            if word & ROOM_WAITERS != 0 {
                return; // a release will wake a sleeper
            }
            // AcqRel on success: Release so a releaser that sees the flag
            // takes the gate lock after us (as a sleeper's own flag CAS).
            // Relaxed on failure: decide again on the fresh word.
            match self.word.compare_exchange(
                word,
                word | ROOM_WAITERS,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => return,
                Err(actual) => word = actual,
            }
        }
    }

    /// Takes a slot, sleeping until one frees, the counter closes, or
    /// `deadline` passes (`None`: no deadline). A deadline that passes is
    /// reported as [`Refused::Full`].
    pub(crate) fn acquire_until(&self, deadline: Option<Instant>) -> Result<(), Refused> {
        match self.try_acquire() {
            Err(Refused::Full) => {}
            done => return done,
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(Refused::Full);
        }
        // A producer faster than its workers meets a full pool on nearly
        // every submit; a slot usually frees within microseconds. Spin
        // briefly before paying for a sleep and a wake-up. Under loom only
        // the sleeping path exists.
        #[cfg(not(loom))]
        for step in 0..=SPIN_STEPS {
            for _ in 0..1u32 << step {
                std::hint::spin_loop();
            }
            match self.try_acquire() {
                Err(Refused::Full) => {}
                done => return done,
            }
        }
        // Relaxed: a statistic.
        self.waiting.fetch_add(1, Ordering::Relaxed);
        let result = self.sleep_until(&self.room, ROOM_WAITERS, deadline, |word| {
            if word & CLOSED != 0 {
                Some(Err(Refused::Closed))
            } else if word & COUNT_MASK < (word & CAPACITY_MASK) >> CAPACITY_SHIFT {
                None // room: take it below
            } else {
                Some(Err(Refused::Full)) // no room: sleep
            }
        });
        // Relaxed: a statistic.
        self.waiting.fetch_sub(1, Ordering::Relaxed);
        result
    }

    /// Sleeps until the count is zero or `deadline` passes; true if it
    /// reached zero.
    pub(crate) fn wait_empty(&self, deadline: Option<Instant>) -> bool {
        if self.snapshot().count == 0 {
            return true;
        }
        self.sleep_until(&self.idle, IDLE_WAITERS, deadline, |word| {
            if word & COUNT_MASK == 0 {
                Some(Ok(()))
            } else {
                Some(Err(Refused::Full))
            }
        })
        .is_ok()
    }

    /// The sleeping loop shared by `acquire_until` and `wait_empty`.
    ///
    /// `decide(word)` returns `Some(Ok)` to stop successfully, `Some(Err(
    /// Closed))` to stop refused, `Some(Err(Full))` to sleep, or `None` to
    /// take a slot with a CAS (and stop on success).
    fn sleep_until(
        &self,
        gate: &Gate,
        flag: u64,
        deadline: Option<Instant>,
        decide: impl Fn(u64) -> Option<Result<(), Refused>>,
    ) -> Result<(), Refused> {
        let mut guard = gate.lock.lock();
        let result = loop {
            // Acquire: pairs with the releasers' AcqRel so a caller that
            // stops here sees the work done before the release.
            let word = self.word.load(Ordering::Acquire);
            let next = match decide(word) {
                Some(Err(Refused::Full)) => word | flag,
                Some(done) => break done,
                None => word + 1,
            };
            if next != word {
                // AcqRel on success: Acquire as above when taking a slot;
                // Release so the releaser that sees our flag also sees us
                // parked behind the gate lock. Relaxed on failure: the word
                // changed under us, so decide again.
                if self
                    .word
                    .compare_exchange(word, next, Ordering::AcqRel, Ordering::Relaxed)
                    .is_err()
                {
                    continue;
                }
                if next == word + 1 {
                    break Ok(());
                }
            }
            // The flag is set: a release from now on will wake a sleeper.
            *guard += 1;
            let timed_out = match deadline {
                None => {
                    guard = gate.wake.wait(guard);
                    false
                }
                Some(deadline) => {
                    let (g, timed_out) = gate.wake.wait_until(guard, deadline);
                    guard = g;
                    timed_out
                }
            };
            *guard -= 1;
            if timed_out {
                // One last look, then give up.
                let word = self.word.load(Ordering::Acquire);
                break match decide(word) {
                    Some(Err(Refused::Full)) => Err(Refused::Full),
                    Some(done) => done,
                    None => self.try_acquire(),
                };
            }
        };
        if flag == ROOM_WAITERS && *guard > 0 {
            self.pass_on(gate);
        }
        drop(guard);
        result
    }

    /// Callers currently inside a blocking acquire.
    pub(crate) fn waiting(&self) -> usize {
        // Relaxed: a statistic.
        self.waiting.load(Ordering::Relaxed)
    }

    /// Takes one slot regardless of capacity, unless the counter is closed.
    /// Used by a fair semaphore that hands a released slot straight to a
    /// waiter: the releaser does not call [`Slots::release`] and the waiter
    /// does not acquire, so this is only for callers that own such a
    /// hand-off protocol.
    pub(crate) fn force_acquire(&self) -> Result<(), Refused> {
        let mut word = self.word.load(Ordering::Relaxed);
        loop {
            if word & CLOSED != 0 {
                return Err(Refused::Closed);
            }
            if word & COUNT_MASK == COUNT_MASK {
                return Err(Refused::Full); // 2^31 - 1 holders: the count is saturated
            }
            // AcqRel / Relaxed: as in `try_acquire`.
            match self.word.compare_exchange_weak(
                word,
                word + 1,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Ok(()),
                Err(actual) => word = actual,
            }
        }
    }

    /// Sets the capacity; returns the previous one. Never waits: holders
    /// above a lowered capacity keep their slots.
    pub(crate) fn set_capacity(&self, capacity: usize) -> usize {
        let capacity = clamp(capacity) << CAPACITY_SHIFT;
        // Relaxed: seeds the CAS loop only.
        let mut word = self.word.load(Ordering::Relaxed);
        loop {
            let new = (word & !CAPACITY_MASK) | capacity;
            // AcqRel: Release makes the new capacity visible to the next
            // acquirer's CAS (which must see it to refuse or admit); Acquire
            // orders the caller's follow-up (waking waiters) after it.
            match self
                .word
                .compare_exchange_weak(word, new, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(prev) => {
                    if prev & ROOM_WAITERS != 0 {
                        // Growing may have made room: wake the sleepers so
                        // they re-check at once.
                        self.wake(&self.room, ROOM_WAITERS, true);
                    }
                    return Snapshot::of(prev).capacity;
                }
                Err(actual) => word = actual,
            }
        }
    }

    /// Closes the counter. Returns `Some(true)` if this call closed it and
    /// it was already empty (the caller then owns the "closed and empty"
    /// event), `Some(false)` if this call closed it with slots still taken,
    /// and `None` if it was closed already.
    pub(crate) fn close(&self) -> Option<bool> {
        // AcqRel: Release so an acquirer that is refused as Closed sees what
        // the closer did first; Acquire so the closer sees the work of every
        // release that preceded the close.
        let prev = self.word.fetch_or(CLOSED, Ordering::AcqRel);
        if prev & ROOM_WAITERS != 0 {
            // Blocked acquirers must learn that they will never get in.
            self.wake(&self.room, ROOM_WAITERS, true);
        }
        if prev & CLOSED != 0 {
            None
        } else {
            Some(prev & COUNT_MASK == 0)
        }
    }

    /// The current state. Acquire: a reader that sees a count of zero also
    /// sees everything the releasers did before releasing.
    #[inline]
    pub(crate) fn snapshot(&self) -> Snapshot {
        Snapshot::of(self.word.load(Ordering::Acquire))
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn admits_up_to_capacity_then_refuses() {
        let slots = Slots::new(2);
        assert_eq!(slots.try_acquire(), Ok(()));
        assert_eq!(slots.try_acquire(), Ok(()));
        assert_eq!(slots.try_acquire(), Err(Refused::Full));
        assert_eq!(slots.release().remaining, 1);
        assert_eq!(slots.try_acquire(), Ok(()));
    }

    #[test]
    fn lowering_capacity_keeps_holders_and_refuses_until_under() {
        let slots = Slots::new(3);
        for _ in 0..3 {
            slots.try_acquire().unwrap();
        }
        assert_eq!(slots.set_capacity(1), 3);
        slots.release();
        assert_eq!(slots.try_acquire(), Err(Refused::Full));
        slots.release();
        assert_eq!(slots.try_acquire(), Err(Refused::Full));
        slots.release();
        assert_eq!(slots.try_acquire(), Ok(()));
        assert_eq!(slots.snapshot().count, 1);
    }

    #[test]
    fn exactly_one_party_sees_closed_and_empty() {
        let slots = Slots::new(2);
        slots.try_acquire().unwrap();
        slots.try_acquire().unwrap();
        assert_eq!(slots.close(), Some(false));
        assert_eq!(slots.close(), None);
        assert_eq!(slots.try_acquire(), Err(Refused::Closed));
        assert!(!slots.release().closed_and_empty);
        assert!(slots.release().closed_and_empty);

        let empty = Slots::new(1);
        assert_eq!(empty.close(), Some(true));
    }

    #[test]
    fn zero_capacity_refuses_everything_and_huge_capacity_is_clamped() {
        let closed = Slots::new(0);
        assert_eq!(closed.try_acquire(), Err(Refused::Full));
        let huge = Slots::new(usize::MAX);
        assert_eq!(huge.snapshot().capacity, MAX_SLOTS);
        huge.try_acquire().unwrap();
        assert_eq!(huge.snapshot().count, 1);
    }
}
