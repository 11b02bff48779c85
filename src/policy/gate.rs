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
//!   words `tag (32 bits) | count (32 bits)`. The tag is the bucket's
//!   *period*: its epoch (time since the policy was built, in bucket
//!   lengths) plus `BUCKETS` × the generation of the Closed state the call
//!   was let through in. Closed states have generations at least three
//!   apart, so each one's periods lie at least three windows beyond those
//!   of every earlier Closed state: closing starts a fresh window without
//!   clearing anything, and a call let through under an earlier Closed
//!   state that ends late is counted where no current window reads it.
//! * A call is one compare-and-swap on exactly one word, so a reader never
//!   sees half a call (a failure without its call would overstate the
//!   rate). The word's tag decides: the recorder's own period adds one; an
//!   older period means the bucket is stale and is renewed at 1; a newer
//!   one means the recorder read its clock so long ago (it was preempted)
//!   that its bucket has moved on, and the call, outside every current
//!   window, is dropped rather than added to a newer period's count.
//!   Readers count only words whose tag lies in the window, so old buckets
//!   never need sweeping.
//! * `bad_epoch` remembers the latest period with a failure or a slow call.
//!   Every recorder passes through it with one read-modify-write (AcqRel)
//!   after counting its call; that is the handshake that makes verdicts
//!   exact. Of two racing recorders, the later one in `bad_epoch`'s order
//!   sees the other's call; a quick success that comes later sees the
//!   failure's mark and evaluates, one that comes earlier is seen by the
//!   failure's evaluation. An evaluation reads the window ending at the
//!   newest period among the words (if that is ahead of the recorder's
//!   own, by less than a window), so a recorder whose clock reading lags a
//!   racing one's still counts that one's call. When no failure or slow
//!   call is in the window, a quick success cannot open the gate and stops
//!   there: the healthy hot path is a load of `state`, a compare-and-swap
//!   and a `fetch_or`, no lock.
//! * Everything else — opening, the half-open probes, closing — happens
//!   under `lock`. Those are rare, and serialising them makes "exactly one
//!   caller opens it" and "exactly `half_open_calls` probes" plain to see.
//!
//! A call that finishes around a transition is counted in the window of
//! the state it was let through in; it can never cause a second
//! transition, because every transition re-checks the generation.
//!
//! A count in one bucket stops at 2^32 − 1 calls. Tags compare modulo
//! 2^32: a bucket left untouched for about 2^31 periods could be mistaken
//! for a current one; at the default 6 s per bucket that is centuries.

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

fn tag(period: u64) -> u32 {
    // Truncation is the point: tags compare modulo 2^32.
    period as u32
}

/// The numbers the gate decides on, fixed when the policy is built.
#[derive(Debug, Clone)]
pub(crate) struct Thresholds {
    /// Failed calls / calls that opens the gate.
    pub(crate) failure_rate: f64,
    /// Slow calls / calls that opens the gate.
    pub(crate) slow_call_rate: f64,
    /// Failures in the window that open the gate.
    pub(crate) error_count: u64,
    /// Calls in the window before the rates count.
    pub(crate) minimum_calls: u64,
    /// Probes the half-open gate lets through.
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
    /// evaluators and `health`.
    counts: [AtomicU64; 4],
}

impl Bucket {
    fn new() -> Self {
        Bucket {
            counts: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }
}

/// Whether tag `a` is a later period than tag `b` (modulo 2^32).
fn is_later(a: u32, b: u32) -> bool {
    // Reinterpreting the wrapped difference as signed is the point.
    (a.wrapping_sub(b) as i32) > 0
}

/// Counts one call of period `period` in `word`: adds one if the word holds
/// that period, renews it at 1 if it holds an older one. Returns `false`,
/// counting nothing, if the word already holds a later period (the call is
/// outside every window still read).
fn bump(word: &AtomicU64, period: u64) -> bool {
    let tag = tag(period);
    // Relaxed here and in the exchange below: a single word, so coherence
    // alone keeps the count exact; what other threads may see of it is
    // ordered by the recorder's AcqRel pass through `bad_epoch` after.
    let mut current = word.load(Ordering::Relaxed);
    loop {
        let held = (current >> TAG_SHIFT) as u32;
        let next = if held == tag {
            if current & COUNT_MASK == COUNT_MASK {
                return true; // full: the count stays at its maximum
            }
            current + 1
        } else if is_later(held, tag) {
            return false;
        } else {
            (u64::from(tag) << TAG_SHIFT) | 1
        };
        match word.compare_exchange_weak(current, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return true,
            Err(now) => current = now,
        }
    }
}

/// The count in a word's `value` if its tag lies in the window ending at
/// period tag `end`.
fn count_in_window(value: u64, end: u32) -> u64 {
    let age = end.wrapping_sub((value >> TAG_SHIFT) as u32);
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
    /// The window's ring. Written by recorders in Closed, read by
    /// evaluators and `health`.
    buckets: [Bucket; BUCKETS],
    /// 1 + the latest period with a failure or slow call; 0 for none yet.
    /// Raised by recorders, read by recorders of quick successes.
    bad_epoch: AtomicU64,
    /// The generation of the latest Closed state, whose window `health`
    /// reports. Written under `lock` on closing.
    closed_generation: AtomicU64,
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
            closed_generation: AtomicU64::new(0),
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
        // Relaxed: the Acquire load of `state` above already made this
        // opening's value (or a later one, which only refuses longer) visible.
        if kind(word) == OPEN && now < self.open_until.load(Ordering::Relaxed) {
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

    /// Sums the window ending at period `period`, or at the newest period
    /// among the words if that is later by less than a window (a racing
    /// recorder read its clock after this caller did).
    fn window(&self, period: u64) -> Window {
        // Relaxed: the caller already synchronised with the recorders it
        // must see through `bad_epoch` (see `record_closed`).
        let words: [[u64; 4]; BUCKETS] = std::array::from_fn(|i| {
            std::array::from_fn(|j| self.buckets[i].counts[j].load(Ordering::Relaxed))
        });
        let own = tag(period);
        let end = words
            .iter()
            .flatten()
            .map(|&value| (value >> TAG_SHIFT) as u32)
            .filter(|&held| is_later(held, own) && (held.wrapping_sub(own) as usize) < BUCKETS)
            .fold(
                own,
                |end, held| if is_later(held, end) { held } else { end },
            );
        let mut w = Window::default();
        for counts in &words {
            let [quick_ok, quick_failed, slow_ok, slow_failed] =
                counts.map(|value| count_in_window(value, end));
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

    /// The period of `epoch` in the Closed state of generation
    /// `generation` (module docs).
    fn period(epoch: u64, generation: u64) -> u64 {
        epoch.wrapping_add(generation.wrapping_mul(BUCKETS as u64))
    }

    /// Records a call admitted in Closed, and opens the gate if the window
    /// now calls for it.
    fn record_closed(&self, admitted_under: u64, outcome: Outcome, now: u64) {
        let epoch = self.epoch(now);
        let period = Self::period(epoch, generation(admitted_under));
        let bucket = &self.buckets[(epoch % BUCKETS as u64) as usize];
        if !bump(&bucket.counts[outcome.index()], period) {
            return; // too late for any window still read: nothing to tip
        }
        // AcqRel, on every recording: the handshake. Release publishes the
        // count just made to whoever passes here later; Acquire makes every
        // count published here earlier visible to the evaluation below.
        // Of two racing recorders the later one therefore sees both calls,
        // and a quick success that skips evaluating was seen by the bad
        // call's evaluation (module docs).
        let bad = if outcome.is_bad() {
            self.bad_epoch.fetch_max(period + 1, Ordering::AcqRel);
            period + 1
        } else {
            self.bad_epoch.fetch_or(0, Ordering::AcqRel)
        };
        if bad == 0 || period.saturating_sub(bad - 1) >= BUCKETS as u64 {
            return; // no failure or slow call in the window: nothing to tip
        }
        if self.verdict(self.window(period)) {
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

    /// Records a probe: a failed one reopens the gate (a slow success is a
    /// success, as the slow-call rule is a rate over the window); when
    /// `half_open_calls` have passed, the gate closes with a fresh window.
    fn record_probe(&self, admitted_under: u64, outcome: Outcome, now: u64) {
        let mut t = self.lock.lock();
        // Relaxed: written only under the lock.
        if self.state.load(Ordering::Relaxed) != admitted_under {
            return; // a probe of an earlier half-open state
        }
        if outcome.failed {
            self.open_locked(admitted_under, now);
            return;
        }
        t.probes_passed += 1;
        if t.probes_passed < self.thresholds.half_open_calls {
            return;
        }
        // A fresh window: the new Closed state's periods lie beyond every
        // word written so far (module docs). Relaxed: read by `health`,
        // ordered by the Release store of `state` below.
        self.closed_generation
            .store(generation(admitted_under) + 1, Ordering::Relaxed);
        // Release: publishes the new state.
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
        // Relaxed: written under the lock before the Release store of the
        // state it belongs to, which `state()` above acquired.
        let closed = self.closed_generation.load(Ordering::Relaxed);
        let w = self.window(Self::period(self.epoch(now), closed));
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
