//! The health gate: a state machine Closed → Open → HalfOpen → Closed over
//! a sliding time window.
//!
//! # Layout
//!
//! * `state` is one word, `kind (2 bits) | generation (62 bits)`. Every
//!   caller reads it once on the way in; only a transition writes it, under
//!   `lock`. The generation grows by one at each transition, so a verdict or
//!   a probe result that belongs to an earlier state can be recognised and
//!   dropped: a transition happens only if the state is still the very one
//!   the caller saw.
//! * The window is a ring of [`BUCKETS`] buckets, each covering
//!   `window / BUCKETS` of time. Each bucket counts its calls by outcome —
//!   quick success, quick failure, slow success, slow failure — in four
//!   words `tag (32 bits) | count (32 bits)`, where the tag is the bucket's
//!   epoch (time since the policy was built, in bucket lengths). A call is
//!   one `fetch_add` on exactly one word, so a reader never sees half a
//!   call (a failure without its call would overstate the rate). The
//!   recorder looks at the tag it got back: the right epoch means done; an
//!   old epoch means the bucket is stale and is renewed with a
//!   compare-and-swap. Readers count only words whose tag lies in the
//!   window, so old buckets never need sweeping.
//! * `bad_epoch` remembers the latest epoch with a failure or a slow call.
//!   Every recorder passes through it with one read-modify-write (AcqRel)
//!   after counting its call; that is the handshake that makes verdicts
//!   exact. Of two racing recorders, the later one in `bad_epoch`'s order
//!   sees the other's call; a quick success that comes later sees the
//!   failure's mark and evaluates, one that comes earlier is seen by the
//!   failure's evaluation. When no failure or slow call is in the window, a
//!   quick success cannot open the gate and stops there: the healthy hot
//!   path is a load of `state`, a `fetch_add` and a `fetch_or`, no lock.
//! * Everything else — opening, the half-open probes, closing — happens
//!   under `lock`. Those are rare, and serialising them makes "exactly one
//!   caller opens it" and "exactly `half_open_calls` probes" plain to see.
//!
//! A call that finishes around a transition can land in the neighbouring
//! window (its recording raced the change); it can never cause a second
//! transition, because every transition re-checks the generation.
//!
//! Counts in one bucket wrap after 2^32 calls, and a bucket left untouched
//! for exactly a multiple of 2^32 epochs could be mistaken for a current
//! one; at the default 6 s per bucket that is centuries.

use std::time::Duration;

use crate::sync::{AtomicU64, Mutex, Ordering};

use super::{Health, PolicyConfig, State};

/// How many buckets the window is cut into. Loom models explore every
/// interleaving of every atomic access, so they get a smaller ring.
#[cfg(not(loom))]
const BUCKETS: usize = 10;
#[cfg(loom)]
const BUCKETS: usize = 2;

const KIND_SHIFT: u32 = 62;
const GENERATION_MASK: u64 = (1 << KIND_SHIFT) - 1;
const CLOSED: u64 = 0;
const OPEN: u64 = 1;
const HALF_OPEN: u64 = 2;

const TAG_SHIFT: u32 = 32;
const COUNT_MASK: u64 = (1 << TAG_SHIFT) - 1;

fn kind(word: u64) -> u64 {
    word >> KIND_SHIFT
}

fn generation(word: u64) -> u64 {
    word & GENERATION_MASK
}

fn pack(kind: u64, generation: u64) -> u64 {
    (kind << KIND_SHIFT) | (generation & GENERATION_MASK)
}

fn tag(epoch: u64) -> u32 {
    // Truncation is the point: tags compare modulo 2^32.
    epoch as u32
}

/// The numbers the gate decides on, fixed when the policy is built.
#[derive(Debug, Clone)]
pub(crate) struct Thresholds {
    pub(crate) failure_rate: f64,
    pub(crate) slow_call_rate: f64,
    pub(crate) error_count: u64,
    pub(crate) minimum_calls: u64,
    pub(crate) half_open_calls: usize,
    /// Nanoseconds the gate stays open.
    pub(crate) recovery: u64,
    /// Nanoseconds per bucket (at least 1).
    pub(crate) bucket: u64,
    /// `u64::MAX / bucket`: turns the hot path's division by `bucket` into
    /// a multiplication (see [`Thresholds::epoch`]).
    reciprocal: u64,
}

impl Thresholds {
    pub(crate) fn new(config: &PolicyConfig) -> Self {
        let nanos = |d: Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        let bucket = (nanos(config.window) / BUCKETS as u64).max(1);
        Thresholds {
            failure_rate: config.failure_rate_threshold,
            slow_call_rate: config.slow_call_rate_threshold,
            error_count: config.error_count_threshold as u64,
            minimum_calls: config.minimum_calls as u64,
            half_open_calls: config.half_open_calls,
            recovery: nanos(config.recovery),
            bucket,
            reciprocal: u64::MAX / bucket,
        }
    }

    /// `now / bucket`, exactly, without a division instruction: the
    /// high half of `now × reciprocal` is at most two short of the
    /// quotient, and the remainder check makes up the difference.
    fn epoch(&self, now: u64) -> u64 {
        let mut q = ((u128::from(now) * u128::from(self.reciprocal)) >> 64) as u64;
        let mut r = now - q * self.bucket;
        while r >= self.bucket {
            q += 1;
            r -= self.bucket;
        }
        q
    }
}

/// One slice of the window: a `tag | count` word per outcome.
#[derive(Debug)]
struct Bucket {
    /// Outcome words, indexed by [`Outcome::index`]: quick success, quick
    /// failure, slow success, slow failure. Written by recorders, read by
    /// evaluators and `health`, cleared under the lock on closing.
    counts: [AtomicU64; 4],
}

impl Bucket {
    fn new() -> Self {
        Bucket {
            counts: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }
}

/// Adds one to `word` for `epoch`, renewing the word if it still holds an
/// older epoch.
fn bump(word: &AtomicU64, epoch: u64) {
    let tag = u64::from(tag(epoch));
    // Relaxed here and in the renewal below: a single word, so coherence
    // alone keeps the count exact; what other threads may see of it is
    // ordered by the recorder's AcqRel pass through `bad_epoch` after.
    let old = word.fetch_add(1, Ordering::Relaxed);
    if old >> TAG_SHIFT == tag {
        return;
    }
    // The word held an older epoch: the one just added went into a count
    // nobody reads. Start the bucket over at 1 for this epoch, unless a
    // racing recorder already did (then add to its count).
    let mut current = word.load(Ordering::Relaxed);
    loop {
        if current >> TAG_SHIFT == tag {
            word.fetch_add(1, Ordering::Relaxed);
            return;
        }
        match word.compare_exchange_weak(
            current,
            (tag << TAG_SHIFT) | 1,
            Ordering::Relaxed,
            Ordering::Relaxed,
        ) {
            Ok(_) => return,
            Err(now) => current = now,
        }
    }
}

/// The count in `word` if its tag lies in the window ending at `epoch`.
fn count_in_window(word: &AtomicU64, epoch: u64) -> u64 {
    // Relaxed: the reader already synchronised with the recorders it must
    // see through `bad_epoch` (see `Gate::record_closed`).
    let value = word.load(Ordering::Relaxed);
    let age = tag(epoch).wrapping_sub((value >> TAG_SHIFT) as u32);
    if (age as usize) < BUCKETS {
        value & COUNT_MASK
    } else {
        0
    }
}

/// The sums over the window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Window {
    pub(crate) calls: u64,
    pub(crate) failures: u64,
    pub(crate) slow: u64,
}

/// State changed only under the lock.
#[derive(Debug, Default)]
struct Transitions {
    /// Probes let through in the current half-open state and not yet
    /// released.
    probes_admitted: usize,
    /// Probes of the current half-open state that passed.
    probes_passed: usize,
}

/// How a call went, as the gate counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Outcome {
    /// `Err`, a panic or a timeout.
    pub(crate) failed: bool,
    /// It took `slow_call_threshold` or longer.
    pub(crate) slow: bool,
}

impl Outcome {
    /// The bucket word this outcome is counted in.
    fn index(self) -> usize {
        usize::from(self.failed) | usize::from(self.slow) << 1
    }

    fn is_bad(self) -> bool {
        self.failed || self.slow
    }
}

/// The health gate of one policy.
#[derive(Debug)]
pub(crate) struct Gate {
    /// `kind | generation`. Written only under `lock` (Release), read by
    /// every caller on the way in (Acquire).
    state: AtomicU64,
    /// While open: the time (nanoseconds since the policy's origin) from
    /// which probes may pass. Written under `lock` before `state` is set to
    /// Open; read by callers that saw Open.
    open_until: AtomicU64,
    /// The window's ring. Written by recorders in Closed, cleared under
    /// `lock` on closing, read by evaluators and `health`.
    buckets: [Bucket; BUCKETS],
    /// 1 + the latest epoch with a failure or slow call; 0 for none since
    /// the window was last cleared. Raised by recorders, reset under `lock`
    /// on closing, read by recorders of quick successes.
    bad_epoch: AtomicU64,
    /// How many times the gate has opened. Written under `lock`, read by
    /// `health`.
    opened: AtomicU64,
    /// Serialises transitions and holds the half-open bookkeeping.
    lock: Mutex<Transitions>,
    thresholds: Thresholds,
}

/// Leave to run one call, from [`Gate::admit`]. Record the call's outcome
/// with [`Ticket::record`]; dropping the ticket unrecorded (the bulkhead
/// refused the call, so it never ran) gives a probe's place back and
/// counts nothing.
#[derive(Debug)]
pub(crate) struct Ticket<'a> {
    gate: &'a Gate,
    /// The state word the call was admitted under.
    admitted_under: u64,
    /// Still to be recorded or released.
    pending: bool,
}

impl Gate {
    pub(crate) fn new(thresholds: Thresholds) -> Self {
        Gate {
            state: AtomicU64::new(pack(CLOSED, 0)),
            open_until: AtomicU64::new(0),
            buckets: std::array::from_fn(|_| Bucket::new()),
            bad_epoch: AtomicU64::new(0),
            opened: AtomicU64::new(0),
            lock: Mutex::new(Transitions::default()),
            thresholds,
        }
    }

    fn epoch(&self, now: u64) -> u64 {
        self.thresholds.epoch(now)
    }

    /// Lets a call through, or refuses it because the gate is open (or
    /// half-open with every probe place taken). `now` gives nanoseconds
    /// since the policy's origin; a closed gate does not ask.
    #[inline]
    pub(crate) fn admit(&self, now: impl FnOnce() -> u64) -> Option<Ticket<'_>> {
        // Acquire: pairs with the Release store of a transition, so a caller
        // that sees Open also sees that opening's `open_until`.
        let word = self.state.load(Ordering::Acquire);
        if kind(word) == CLOSED {
            return Some(self.ticket(word));
        }
        let now = now();
        // Acquire: `open_until` is only read after `state`, see above.
        if kind(word) == OPEN && now < self.open_until.load(Ordering::Acquire) {
            return None;
        }
        self.admit_locked(now)
    }

    fn ticket(&self, word: u64) -> Ticket<'_> {
        Ticket {
            gate: self,
            admitted_under: word,
            pending: true,
        }
    }

    /// Open past its recovery, or half-open: decided under the lock.
    fn admit_locked(&self, now: u64) -> Option<Ticket<'_>> {
        let mut t = self.lock.lock();
        // Relaxed: `state` is written only under this lock, which orders it.
        let mut word = self.state.load(Ordering::Relaxed);
        if kind(word) == OPEN {
            // Relaxed: written under this lock.
            if now < self.open_until.load(Ordering::Relaxed) {
                return None;
            }
            word = pack(HALF_OPEN, generation(word) + 1);
            *t = Transitions::default();
            // Release: publishes the transition to lock-free readers.
            self.state.store(word, Ordering::Release);
        }
        match kind(word) {
            HALF_OPEN if t.probes_admitted < self.thresholds.half_open_calls => {
                t.probes_admitted += 1;
                Some(self.ticket(word))
            }
            HALF_OPEN => None,
            // Closed again since the caller looked: let it through.
            _ => Some(self.ticket(word)),
        }
    }

    /// Sums the window ending at `epoch`.
    fn window(&self, epoch: u64) -> Window {
        let mut w = Window::default();
        for b in &self.buckets {
            let count = |i: usize| count_in_window(&b.counts[i], epoch);
            let (quick_ok, quick_failed, slow_ok, slow_failed) =
                (count(0), count(1), count(2), count(3));
            w.calls += quick_ok + quick_failed + slow_ok + slow_failed;
            w.failures += quick_failed + slow_failed;
            w.slow += slow_ok + slow_failed;
        }
        w
    }

    /// Whether the window calls for opening the gate.
    fn verdict(&self, w: Window) -> bool {
        let th = &self.thresholds;
        if w.failures >= th.error_count {
            return true;
        }
        if w.calls == 0 || w.calls < th.minimum_calls {
            return false;
        }
        let calls = w.calls as f64;
        w.failures as f64 / calls >= th.failure_rate || w.slow as f64 / calls >= th.slow_call_rate
    }

    /// Records a call admitted in Closed, and opens the gate if the window
    /// now calls for it.
    fn record_closed(&self, admitted_under: u64, outcome: Outcome, now: u64) {
        let epoch = self.epoch(now);
        let bucket = &self.buckets[(epoch % BUCKETS as u64) as usize];
        bump(&bucket.counts[outcome.index()], epoch);
        // AcqRel, on every recording: the handshake. Release publishes the
        // count just made to whoever passes here later; Acquire makes every
        // count published here earlier visible to the evaluation below.
        // Of two racing recorders the later one therefore sees both calls,
        // and a quick success that skips evaluating was seen by the bad
        // call's evaluation (module docs).
        let bad = if outcome.is_bad() {
            self.bad_epoch.fetch_max(epoch + 1, Ordering::AcqRel);
            epoch + 1
        } else {
            self.bad_epoch.fetch_or(0, Ordering::AcqRel)
        };
        if bad == 0 || epoch.saturating_sub(bad - 1) >= BUCKETS as u64 {
            return; // no failure or slow call in the window: nothing to tip
        }
        if self.verdict(self.window(epoch)) {
            self.open(admitted_under, now);
        }
    }

    /// Opens the gate if it is still in the state `from`.
    fn open(&self, from: u64, now: u64) {
        let _t = self.lock.lock();
        self.open_locked(from, now);
    }

    fn open_locked(&self, from: u64, now: u64) {
        // Relaxed: written only under the lock, which the caller holds.
        if self.state.load(Ordering::Relaxed) != from {
            return;
        }
        // Relaxed: ordered before the Release store of `state` below.
        self.open_until.store(
            now.saturating_add(self.thresholds.recovery),
            Ordering::Relaxed,
        );
        // Relaxed: a statistic; written under the lock, read by `health`.
        self.opened.fetch_add(1, Ordering::Relaxed);
        // Release: publishes `open_until` with the state.
        self.state
            .store(pack(OPEN, generation(from) + 1), Ordering::Release);
    }

    /// Records a probe: a failed or slow one reopens the gate; when
    /// `half_open_calls` have passed, the gate closes with a fresh window.
    fn record_probe(&self, admitted_under: u64, outcome: Outcome, now: u64) {
        let mut t = self.lock.lock();
        // Relaxed: written only under the lock.
        if self.state.load(Ordering::Relaxed) != admitted_under {
            return; // a probe of an earlier half-open state
        }
        if outcome.is_bad() {
            self.open_locked(admitted_under, now);
            return;
        }
        t.probes_passed += 1;
        if t.probes_passed < self.thresholds.half_open_calls {
            return;
        }
        // A fresh window: every word gets a tag outside any window ending
        // at or after now, so nothing counted before the close is read.
        let stale = u64::from(tag(self.epoch(now)).wrapping_sub(BUCKETS as u32)) << TAG_SHIFT;
        for word in self.buckets.iter().flat_map(|b| &b.counts) {
            // Relaxed: published by the Release store of `state` below.
            word.store(stale, Ordering::Relaxed);
        }
        // Release: heads a new release sequence for the recorders of the
        // new window (module docs); published with `state` as well.
        self.bad_epoch.store(0, Ordering::Release);
        // Release: publishes the fresh window with the state.
        self.state.store(
            pack(CLOSED, generation(admitted_under) + 1),
            Ordering::Release,
        );
    }

    /// Gives back a probe's place without counting the call.
    fn release_probe(&self, admitted_under: u64) {
        let mut t = self.lock.lock();
        // Relaxed: written only under the lock.
        if self.state.load(Ordering::Relaxed) == admitted_under {
            t.probes_admitted -= 1;
        }
    }

    /// The current state.
    pub(crate) fn state(&self) -> State {
        // Acquire: as in `admit`.
        match kind(self.state.load(Ordering::Acquire)) {
            CLOSED => State::Closed,
            OPEN => State::Open,
            _ => State::HalfOpen,
        }
    }

    /// The state and the window ending at `now`.
    pub(crate) fn health(&self, now: u64) -> Health {
        let state = self.state();
        let w = self.window(self.epoch(now));
        let rate = |n: u64| {
            if w.calls == 0 {
                0.0
            } else {
                n as f64 / w.calls as f64
            }
        };
        Health {
            state,
            calls: w.calls,
            failures: w.failures,
            slow_calls: w.slow,
            failure_rate: rate(w.failures),
            slow_call_rate: rate(w.slow),
            // Relaxed: a statistic.
            times_opened: self.opened.load(Ordering::Relaxed),
        }
    }
}

impl Ticket<'_> {
    /// Counts the call's outcome in the state it was admitted under.
    /// `now` is nanoseconds since the policy's origin, taken when the call
    /// ended.
    #[inline]
    pub(crate) fn record(mut self, outcome: Outcome, now: u64) {
        self.pending = false;
        match kind(self.admitted_under) {
            CLOSED => self.gate.record_closed(self.admitted_under, outcome, now),
            _ => self.gate.record_probe(self.admitted_under, outcome, now),
        }
    }
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        if self.pending && kind(self.admitted_under) == HALF_OPEN {
            self.gate.release_probe(self.admitted_under);
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn the_epoch_is_the_exact_quotient_for_any_time_and_bucket() {
        let buckets = [
            1,
            2,
            3,
            7,
            10,
            999_999_937,
            6_000_000_000,
            u64::MAX / 3,
            u64::MAX,
        ];
        let times = [
            0,
            1,
            5,
            999,
            6_000_000_000,
            6_000_000_001,
            u64::MAX - 1,
            u64::MAX,
        ];
        for &bucket in &buckets {
            let mut th = Thresholds::new(&PolicyConfig::default());
            th.bucket = bucket;
            th.reciprocal = u64::MAX / bucket;
            for &now in &times {
                for now in [
                    now,
                    now.wrapping_mul(bucket),
                    now.wrapping_mul(bucket).wrapping_sub(1),
                ] {
                    assert_eq!(th.epoch(now), now / bucket, "{now} / {bucket}");
                }
            }
        }
    }
}
