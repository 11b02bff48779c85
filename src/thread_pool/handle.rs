//! A submitted task and the handle that waits for its result.
//!
//! A task submitted with a handle lives in one allocation, a [`TaskCell`]
//! holding the closure, then its result, behind one small lock. The queue
//! holds it as `Arc<dyn Runnable>` and the handle as `Arc<dyn Outcome<T>>`:
//! two views of the same allocation.
//!
//! The cell is kept small, because a producer that keeps many handles keeps
//! as many cells: for a task returning `()` or a word, the allocation is 56
//! bytes (a 64-byte block in glibc's allocator), where a `TaskError` in the
//! cell and a separate flag for "finished" made it 72 (an 80-byte block).
//!
//! Its parts come in two orders, the stage 16 bytes apart, because where
//! the allocator puts a cell within a cache line decides whether its stage
//! (the lock, the state tag and the closure or result, which the
//! submitting thread and then a worker write) spans one line or two. At
//! every offset one of the orders keeps a small stage in one line. A new
//! cell takes the order that suits the place of the last new cell its
//! thread allocated; an emptied cell that comes back for reuse
//! (`spent.rs`) is checked against its own address, and replaced by a cell
//! of the other order if that suits its place better.

use std::any::Any;
use std::cell::Cell;
use std::fmt;
use std::marker::PhantomData;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::worker::{Shared, WorkerCounters};
use crate::error::TaskError;
use crate::sync::{thread, AtomicUsize, Condvar, Mutex, Ordering};

/// The life of a task, one state at a time.
enum Stage<F, T> {
    /// Admitted and queued; the closure waits for a worker.
    Pending(F),
    /// A worker took the closure and is running it.
    Running,
    /// Finished (or cancelled); the result waits for the handle.
    Done(Result<T, Failure>),
    /// The handle took the result.
    Taken,
}

/// The closure of a pending stage, which becomes `next`; any other stage
/// is left as it is.
fn take_pending<F, T>(stage: &mut Stage<F, T>, next: Stage<F, T>) -> Option<F> {
    match std::mem::replace(stage, next) {
        Stage::Pending(f) => Some(f),
        other => {
            *stage = other;
            None
        }
    }
}

/// What a task left instead of a value, one pointer wide so the cell stays
/// small: the payload of its panic (boxed once more; panics are rare), or
/// `None` if it was cancelled. The handle turns it into a [`TaskError`].
struct Failure(Option<Box<Box<dyn Any + Send + 'static>>>);

impl Failure {
    fn panicked(payload: Box<dyn Any + Send + 'static>) -> Self {
        Failure(Some(Box::new(payload)))
    }

    const CANCELLED: Failure = Failure(None);

    fn into_error(self) -> TaskError {
        match self.0 {
            Some(payload) => TaskError::Panicked(*payload),
            None => TaskError::Cancelled,
        }
    }
}

/// A task with its result slot, shared by the queue and the handle.
///
/// Its parts come in one of two orders, `P` ([`StageFirst`] or
/// [`StageLast`]), so that the stage, which the submitting thread and then
/// a worker write, can be kept inside one cache line wherever the
/// allocator put the cell (see [`new_task`]).
#[repr(transparent)]
struct TaskCell<F, T, P> {
    parts: P,
    _task: PhantomData<fn() -> (F, T)>,
}

/// What the handle waits on.
struct Signals {
    /// `FINISHED` and the slot token, in one word. The publisher sets
    /// `FINISHED` (after the stage became Done) so a joiner can spin
    /// briefly on it before blocking; nothing else touches the word until
    /// then. The token says who gives the task's slot back, on pools that
    /// give slots back in batches: `SLOT_OWED` until the worker (in a
    /// batch) or the handle (on seeing the result) claims it; see
    /// [`TaskHandle`]'s `settle`.
    state: AtomicUsize,
    /// Signalled once when the stage becomes Done; the handle waits here.
    done: Condvar,
}

/// The parts of a [`TaskCell`], in some order.
trait Parts<F, T>: Send + Sync + 'static {
    /// The parts in the other order.
    type Other: Parts<F, T>;
    /// The parts of a new task.
    fn new(stage: Mutex<Stage<F, T>>, signals: Signals) -> Self;
    /// The task's stage. Written by the worker (Pending -> Running ->
    /// Done), by a canceller (Pending -> Done) and by the handle (Done ->
    /// Taken).
    fn stage(&self) -> &Mutex<Stage<F, T>>;
    /// The stage, through a unique borrow.
    fn stage_mut(&mut self) -> &mut Mutex<Stage<F, T>>;
    /// The finished/slot word and the wait list.
    fn signals(&self) -> &Signals;
    /// Where the stage starts within the parts.
    fn stage_offset() -> usize;
}

/// The stage first, then the signals.
#[repr(C)]
struct StageFirst<F, T> {
    stage: Mutex<Stage<F, T>>,
    signals: Signals,
}

/// The signals first, then the stage: the stage starts 16 bytes later.
#[repr(C)]
struct StageLast<F, T> {
    signals: Signals,
    stage: Mutex<Stage<F, T>>,
}

/// The two orders differ only in where their fields sit.
macro_rules! parts_in_order {
    ($order:ident, $other:ident) => {
        impl<F: Send + 'static, T: Send + 'static> Parts<F, T> for $order<F, T> {
            type Other = $other<F, T>;
            fn new(stage: Mutex<Stage<F, T>>, signals: Signals) -> Self {
                $order { stage, signals }
            }
            fn stage(&self) -> &Mutex<Stage<F, T>> {
                &self.stage
            }
            fn stage_mut(&mut self) -> &mut Mutex<Stage<F, T>> {
                &mut self.stage
            }
            fn signals(&self) -> &Signals {
                &self.signals
            }
            fn stage_offset() -> usize {
                std::mem::offset_of!(Self, stage)
            }
        }
    };
}
parts_in_order!(StageFirst, StageLast);
parts_in_order!(StageLast, StageFirst);

/// A new task's queue view and its handle.
pub(crate) type NewTask<T> = (Arc<dyn Runnable>, TaskHandle<T>);

/// The task for `f`: in `spent`, an emptied cell from a batch a worker
/// handed back, if it has the same closure and result types; otherwise in
/// a new cell.
///
/// A reused cell whose stage would span fewer cache lines in the other
/// order is freed, and the task gets a new cell in the other order. The
/// allocator hands the block just freed to the next allocation of its
/// size on the same thread, so the new cell most likely lands where the
/// old one was, in the order that suits that place, and keeps it while it
/// is reused. A new cell takes the order that suits the place of the last
/// new cell this thread allocated: cells are blocks of one size, which the
/// allocator carves one after another and recycles among themselves, so
/// consecutive ones tend to start at the same offset within a line. A
/// wrong guess costs only speed.
pub(crate) fn new_task<F, T>(
    spent: Option<Arc<dyn Runnable>>,
    f: F,
    pool: &Arc<Shared>,
) -> NewTask<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    if let Some(spent) = spent {
        let spent = match spent
            .into_any()
            .downcast::<TaskCell<F, T, StageFirst<F, T>>>()
        {
            Ok(cell) => return cell.reuse(f, pool),
            Err(other) => other,
        };
        if let Ok(cell) = spent.downcast::<TaskCell<F, T, StageLast<F, T>>>() {
            return cell.reuse(f, pool);
        }
    }
    // `try_with`: a submit from a thread-local's destructor guesses 0.
    let last = LAST_NEW_CELL_AT.try_with(Cell::get).unwrap_or(0);
    if stage_fits::<F, T, StageFirst<F, T>>(last) {
        TaskCell::<F, T, StageFirst<F, T>>::allocate(f, pool)
    } else {
        TaskCell::<F, T, StageLast<F, T>>::allocate(f, pool)
    }
}

thread::thread_local! {
    /// Where within a cache line the last new task cell this thread
    /// allocated starts; see [`new_task`].
    static LAST_NEW_CELL_AT: Cell<usize> = const { Cell::new(0) };
}

/// Whether, in a cell starting `at` bytes into a cache line, the stage
/// spans no more lines in the order `P` than in the other one.
fn stage_fits<F, T, P: Parts<F, T>>(at: usize) -> bool {
    let len = std::mem::size_of::<Mutex<Stage<F, T>>>();
    lines_spanned(at + P::stage_offset(), len)
        <= lines_spanned(at + <P::Other as Parts<F, T>>::stage_offset(), len)
}

/// The cache-line size of x86-64 and most 64-bit ARM cores.
const CACHE_LINE: usize = 64;

/// How many cache lines `len` bytes span when they start `start` bytes
/// into a line.
const fn lines_spanned(start: usize, len: usize) -> usize {
    (start % CACHE_LINE + len + CACHE_LINE - 1) / CACHE_LINE
}

/// The task's slot is still held after it finished; whoever claims it
/// first frees it.
const SLOT_OWED: usize = 0;
/// The worker claimed it and is freeing it in a batch.
const SLOT_SETTLING: usize = 1;
/// Freed.
const SLOT_FREE: usize = 2;
/// The result is published. Set once, with the token, by the publisher;
/// every later value of the word keeps it.
const FINISHED: usize = 4;

impl<F, T, P> TaskCell<F, T, P>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
    P: Parts<F, T>,
{
    fn new(f: F) -> Self {
        TaskCell {
            parts: P::new(
                Mutex::new(Stage::Pending(f)),
                Signals {
                    state: AtomicUsize::new(SLOT_OWED),
                    done: Condvar::new(),
                },
            ),
            _task: PhantomData,
        }
    }

    /// The task for `f` in a new cell of this order.
    fn allocate(f: F, pool: &Arc<Shared>) -> NewTask<T> {
        let cell = Arc::new(Self::new(f));
        let _ = LAST_NEW_CELL_AT.try_with(|last| last.set(cell.line_offset()));
        cell.into_task(pool)
    }

    /// The task for `f` in this emptied cell (stage `Taken`, no other
    /// owner), if its order suits its place; otherwise in a new
    /// cell of the other order, allocated after this one is freed so that
    /// it can take its place. A stage split over two lines moves two lines
    /// between the submitting thread and a worker per task instead of one,
    /// and shares a line with the neighbouring cell: `submit` took about
    /// twice as long when most cells were split (BENCHMARKS.md, section
    /// 13).
    fn reuse(mut self: Arc<Self>, f: F, pool: &Arc<Shared>) -> NewTask<T> {
        if stage_fits::<F, T, P>(self.line_offset()) {
            // Always unique: a worker keeps only cells it owns alone.
            if let Some(empty) = Arc::get_mut(&mut self) {
                *empty = Self::new(f);
                return self.into_task(pool);
            }
        }
        drop(self);
        TaskCell::<F, T, P::Other>::allocate(f, pool)
    }

    /// The queue's view of this new task's cell, and its handle.
    fn into_task(self: Arc<Self>, pool: &Arc<Shared>) -> NewTask<T> {
        let task: Arc<dyn Runnable> = self.clone();
        (task, TaskHandle::new(self, Arc::clone(pool)))
    }

    /// Where within its cache line this cell starts (its address, read
    /// only).
    fn line_offset(&self) -> usize {
        self as *const Self as usize % CACHE_LINE
    }

    fn stage(&self) -> &Mutex<Stage<F, T>> {
        self.parts.stage()
    }

    fn state(&self) -> &AtomicUsize {
        &self.parts.signals().state
    }

    fn done(&self) -> &Condvar {
        &self.parts.signals().done
    }

    fn take_closure(&self) -> Option<F> {
        take_pending(&mut self.stage().lock(), Stage::Running)
    }

    /// Stores the result and marks the cell finished, with the slot token
    /// `slot` (`SLOT_FREE` if the slot was already given back).
    fn publish(&self, result: Result<T, Failure>, slot: usize) {
        let mut stage = self.stage().lock();
        *stage = Stage::Done(result);
        // A plain store: until `FINISHED` is set nobody else writes the
        // word (claims come after the result is seen). Release: a joiner
        // that sees `FINISHED` (Acquire) then locks the stage; the flag is
        // only a hint to stop spinning, the result itself travels under the
        // lock.
        self.state().store(FINISHED | slot, Ordering::Release);
        drop(stage);
        self.done().notify_all();
    }

    fn finished(&self) -> bool {
        // Acquire: pairs with the Release store in `publish`.
        self.state().load(Ordering::Acquire) & FINISHED != 0
    }

    /// Spins briefly for short tasks, so a round trip on an idle pool
    /// usually avoids putting the joiner to sleep and waking it again.
    fn spin_until_finished(&self) {
        #[cfg(not(loom))]
        for round in 0..SPIN_LIMIT {
            if self.finished() {
                return;
            }
            crate::sync::pause_then_yield(round, SPIN_PAUSES);
        }
    }
}

/// Busy-wait rounds a joiner spends before blocking: `SPIN_PAUSES` CPU
/// pause hints (a few microseconds), then yields to the scheduler (loom
/// builds only yield).
const SPIN_PAUSES: u32 = 64;
#[cfg(not(loom))]
const SPIN_LIMIT: u32 = SPIN_PAUSES + 16;

/// What a worker does with a queued task.
pub(crate) trait Runnable: Send + Sync {
    /// Runs the task on the current (worker) thread and counts it, then
    /// publishes its result. With `exact`, the slot is freed before the
    /// result is published; otherwise the slot stays owed and the worker
    /// adds the task to its batch ([`Runnable::claim_slot`]). Returns false
    /// if there was nothing to run (the task was cancelled).
    fn run(&self, pool: &Shared, me: &WorkerCounters, exact: bool) -> bool;
    /// Drops the task unrun, counts it as cancelled, frees its slot, then
    /// publishes `TaskError::Cancelled`.
    fn cancel(&self, pool: &Shared);
    /// Runs the task as [`Shared::run_detached`] does: called by the only
    /// owner, when the handle was dropped before the task ran.
    fn run_detached(&mut self, pool: &Shared, me: &WorkerCounters);
    /// Called by the worker giving back a batch: claims the owed slot, or
    /// returns false if the handle already freed it.
    fn claim_slot(&self) -> bool;
    /// Called by the worker after the batch's slots were freed: marks a
    /// slot it claimed as free.
    fn slot_freed(&self);
    /// Drops whatever the cell still holds of the user's (a result nobody
    /// will take), leaving an empty allocation. Called by the last owner.
    fn discard(&mut self);
    /// The allocation as `Any`, so a submitter can reuse an emptied cell
    /// for a task of the same type (see `spent.rs`).
    fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync>;
}

impl<F, T, P> Runnable for TaskCell<F, T, P>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
    P: Parts<F, T>,
{
    fn run(&self, pool: &Shared, me: &WorkerCounters, exact: bool) -> bool {
        let Some(f) = self.take_closure() else {
            return false;
        };
        let result = Shared::run_and_count(me, f);
        let slot = if exact {
            pool.release_slots(1);
            SLOT_FREE
        } else {
            SLOT_OWED
        };
        self.publish(result.map_err(Failure::panicked), slot);
        true
    }

    fn cancel(&self, pool: &Shared) {
        if let Some(f) = self.take_closure() {
            // A closure whose destructor panics must not take the
            // cancelling thread (a worker, or the caller of shutdown_now)
            // down with it.
            let _ = panic::catch_unwind(AssertUnwindSafe(move || drop(f)));
            pool.finish_cancelled();
            self.publish(Err(Failure::CANCELLED), SLOT_FREE);
        }
    }

    fn run_detached(&mut self, pool: &Shared, me: &WorkerCounters) {
        // The only owner: no lock.
        if let Some(f) = take_pending(self.parts.stage_mut().get_mut(), Stage::Taken) {
            pool.run_detached(me, f);
        }
    }

    fn claim_slot(&self) -> bool {
        // Relaxed: the compare-and-swap decides who frees the slot, and
        // the worker learns nothing else from the handle's side.
        self.state()
            .compare_exchange(
                FINISHED | SLOT_OWED,
                FINISHED | SLOT_SETTLING,
                Ordering::Relaxed,
                Ordering::Relaxed,
            )
            .is_ok()
    }

    fn slot_freed(&self) {
        // Relaxed load: only this worker sets SETTLING on a cell in its
        // batch. Release store: pairs with the Acquire load in `settle`,
        // so a joiner that waited for this sees the batch's slots freed.
        if self.state().load(Ordering::Relaxed) == FINISHED | SLOT_SETTLING {
            self.state().store(FINISHED | SLOT_FREE, Ordering::Release);
        }
    }

    fn discard(&mut self) {
        // Out of the lock before it is dropped: a panicking destructor
        // leaves the cell consistent.
        let left = std::mem::replace(self.parts.stage_mut().get_mut(), Stage::Taken);
        drop(left);
    }

    fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync> {
        self
    }
}

/// The handle's view of a task cell.
trait Outcome<T>: Send + Sync {
    /// Takes the result, waiting until `deadline` (`None`: forever).
    fn take(&self, deadline: Option<Instant>) -> Option<Result<T, TaskError>>;
    fn is_finished(&self) -> bool;
    /// Called once the result is visible to the handle: makes sure the
    /// task's slot is free before the caller goes on.
    fn settle(&self, pool: &Shared);
}

impl<F, T, P> Outcome<T> for TaskCell<F, T, P>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
    P: Parts<F, T>,
{
    fn take(&self, deadline: Option<Instant>) -> Option<Result<T, TaskError>> {
        self.spin_until_finished();
        let mut stage = self.stage().lock();
        loop {
            if matches!(*stage, Stage::Done(_)) {
                return match std::mem::replace(&mut *stage, Stage::Taken) {
                    Stage::Done(result) => Some(result.map_err(Failure::into_error)),
                    _ => unreachable!("checked above"),
                };
            }
            match deadline {
                None => stage = self.done().wait(stage),
                Some(deadline) => {
                    let (s, timed_out) = self.done().wait_until(stage, deadline);
                    stage = s;
                    if timed_out && !matches!(*stage, Stage::Done(_)) {
                        return None;
                    }
                }
            }
        }
    }

    fn is_finished(&self) -> bool {
        self.finished()
    }

    fn settle(&self, pool: &Shared) {
        // Relaxed on success: the handle frees the slot itself and needs
        // nothing from the worker. Acquire on failure: pairs with the
        // Release store in `slot_freed`, so a slot the worker freed is seen
        // free by this caller.
        match self.state().compare_exchange(
            FINISHED | SLOT_OWED,
            FINISHED | SLOT_FREE,
            Ordering::Relaxed,
            Ordering::Acquire,
        ) {
            Ok(_) => pool.release_slots(1),
            Err(state) if state == FINISHED | SLOT_SETTLING => {
                // The worker is freeing it with its batch right now: one
                // atomic operation away. Spin for that (a yield is a system
                // call, longer than the wait), yielding only if the worker
                // was preempted.
                let mut round = 0u32;
                // Acquire: as above.
                while self.state().load(Ordering::Acquire) != FINISHED | SLOT_FREE {
                    crate::sync::pause_then_yield(round, SPIN_PAUSES);
                    round = round.saturating_add(1);
                }
            }
            Err(_) => {} // already free
        }
    }
}

/// A handle to a task submitted to a [`ThreadPoolBulkhead`](crate::ThreadPoolBulkhead).
///
/// Dropping the handle detaches the task: it still runs, and its result is
/// dropped on the worker thread.
///
/// # Examples
///
/// ```
/// use bulkheads::ThreadPoolBulkhead;
/// use std::time::Duration;
///
/// let pool = ThreadPoolBulkhead::builder("render").threads(2).queue_capacity(4).build()?;
/// let handle = pool.try_submit(|| (1..=10).sum::<u32>())?;
/// match handle.join_timeout(Duration::from_secs(5)) {
///     Ok(result) => assert_eq!(result?, 55),
///     Err(handle) => drop(handle), // still running: detach it
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "dropping a TaskHandle detaches the task; call join() to get its result"]
pub struct TaskHandle<T> {
    cell: Arc<dyn Outcome<T>>,
    /// The pool, so that a handle that sees the result before the worker
    /// gave the slot back can free it itself.
    pool: Arc<Shared>,
}

impl<T: Send + 'static> TaskHandle<T> {
    fn new<F, P>(cell: Arc<TaskCell<F, T, P>>, pool: Arc<Shared>) -> Self
    where
        F: FnOnce() -> T + Send + 'static,
        P: Parts<F, T>,
    {
        TaskHandle { cell, pool }
    }

    /// Takes the result, waiting until `deadline` (`None`: forever), and
    /// makes sure the task's slot is free before handing it over.
    fn take(&self, deadline: Option<Instant>) -> Option<Result<T, TaskError>> {
        let result = self.cell.take(deadline)?;
        self.cell.settle(&self.pool);
        Some(result)
    }

    /// Waits for the task and returns its value, or why there is none:
    /// [`TaskError::Panicked`] with the panic payload, or
    /// [`TaskError::Cancelled`] if a shutdown cancelled it before it ran.
    ///
    /// By the time `join` returns, the task's slot in the pool is already
    /// free: a caller that submits one task at a time and joins each is
    /// never rejected.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::ThreadPoolBulkhead;
    ///
    /// let pool = ThreadPoolBulkhead::builder("math").threads(1).build()?;
    /// for i in 0..100 {
    ///     // One slot, one task at a time: never rejected.
    ///     assert_eq!(pool.try_submit(move || i + 1)?.join()?, i + 1);
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn join(self) -> Result<T, TaskError> {
        match self.take(None) {
            Some(result) => result,
            None => unreachable!("an untimed wait returns only with a result"),
        }
    }

    /// Waits up to `timeout` for the task. On time, returns `Ok` with what
    /// [`join`](TaskHandle::join) would have returned; otherwise gives the
    /// handle back in `Err` so the caller can wait again or detach.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::ThreadPoolBulkhead;
    /// use std::sync::mpsc;
    /// use std::time::Duration;
    ///
    /// let pool = ThreadPoolBulkhead::builder("slow").threads(1).build()?;
    /// let (go, gate) = mpsc::channel::<()>();
    /// let handle = pool.try_submit(move || gate.recv().map(|_| 5).unwrap_or(0))?;
    /// let handle = handle.join_timeout(Duration::from_millis(1)).unwrap_err(); // not yet
    /// go.send(()).unwrap();
    /// assert_eq!(handle.join()?, 5);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn join_timeout(self, timeout: Duration) -> Result<Result<T, TaskError>, TaskHandle<T>> {
        let deadline = Instant::now().checked_add(timeout);
        match self.take(deadline) {
            Some(result) => Ok(result),
            None => Err(self),
        }
    }

    /// Whether the task has finished (ran, panicked or was cancelled), so
    /// that [`join`](TaskHandle::join) would not block. Once it returns
    /// true, the task's slot in the pool is free, as after `join`.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::ThreadPoolBulkhead;
    ///
    /// let pool = ThreadPoolBulkhead::builder("quick").threads(1).build()?;
    /// let handle = pool.try_submit(|| 1)?;
    /// pool.wait_idle();
    /// assert!(handle.is_finished());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_finished(&self) -> bool {
        let finished = self.cell.is_finished();
        if finished {
            self.cell.settle(&self.pool);
        }
        finished
    }
}

impl<T> fmt::Debug for TaskHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskHandle")
            .field("finished", &self.cell.is_finished())
            .finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::{TaskError, ThreadPoolBulkhead};
    use std::mem::size_of;

    /// Makes this thread's next new cell take the second order (`last`)
    /// or the first.
    fn force_stage_last(last: bool) {
        // The first order splits a small stage at 48, the second at 32.
        LAST_NEW_CELL_AT.with(|at| at.set(if last { 48 } else { 32 }));
    }

    type First<F, T> = TaskCell<F, T, StageFirst<F, T>>;
    type Last<F, T> = TaskCell<F, T, StageLast<F, T>>;

    #[test]
    fn both_orders_take_the_same_room() {
        fn same<F: Send + 'static, T: Send + 'static>() {
            assert_eq!(size_of::<First<F, T>>(), size_of::<Last<F, T>>());
        }
        same::<fn() -> usize, usize>();
        same::<fn(), ()>();
        same::<[u8; 40], String>();
    }

    #[test]
    fn one_order_keeps_a_small_stage_in_one_cache_line_at_every_offset() {
        type F = fn() -> usize;
        let len = size_of::<Mutex<Stage<F, usize>>>();
        assert!(len <= 32, "a {len}-byte stage");
        for at in (0..CACHE_LINE).step_by(8) {
            let start = if stage_fits::<F, usize, StageFirst<F, usize>>(at) {
                at + StageFirst::<F, usize>::stage_offset()
            } else {
                assert!(stage_fits::<F, usize, StageLast<F, usize>>(at));
                at + StageLast::<F, usize>::stage_offset()
            };
            assert_eq!(lines_spanned(start, len), 1, "cell at offset {at}");
        }
        // The first order splits the stage at 48, the second at 32.
        assert!(!stage_fits::<F, usize, StageFirst<F, usize>>(48));
        assert!(!stage_fits::<F, usize, StageLast<F, usize>>(32));
    }

    #[test]
    fn an_order_fits_exactly_when_it_spans_no_more_lines() {
        fn check<F: Send + 'static, T: Send + 'static>() {
            let len = size_of::<Mutex<Stage<F, T>>>();
            for at in (0..CACHE_LINE).step_by(8) {
                let first = lines_spanned(at + StageFirst::<F, T>::stage_offset(), len);
                let last = lines_spanned(at + StageLast::<F, T>::stage_offset(), len);
                assert_eq!(stage_fits::<F, T, StageFirst<F, T>>(at), first <= last);
                assert_eq!(stage_fits::<F, T, StageLast<F, T>>(at), last <= first);
            }
        }
        check::<fn() -> usize, usize>();
        check::<[u8; 40], ()>();
        check::<[u8; 200], String>();
    }

    #[test]
    fn tasks_in_either_order_run_join_panic_and_cancel() {
        let pool = ThreadPoolBulkhead::builder("orders")
            .threads(1)
            .queue_capacity(4)
            .build()
            .unwrap();
        for last in [false, true] {
            force_stage_last(last);
            let value = pool.try_submit(move || usize::from(last) + 1).unwrap();
            assert!(matches!(value.join(), Ok(v) if v == usize::from(last) + 1));
            force_stage_last(last);
            let panicked = pool
                .try_submit(|| -> usize { panic!("in a cell") })
                .unwrap();
            assert!(matches!(panicked.join(), Err(TaskError::Panicked(_))));
        }
        // Cancelled in both orders: a blocker holds the only worker.
        let (go, gate) = std::sync::mpsc::channel::<()>();
        let (started_tx, started) = std::sync::mpsc::channel::<()>();
        force_stage_last(false);
        let blocker = pool
            .try_submit(move || {
                started_tx.send(()).unwrap();
                gate.recv().unwrap();
            })
            .unwrap();
        started.recv().unwrap();
        force_stage_last(false);
        let first = pool.try_submit(|| 1).unwrap();
        force_stage_last(true);
        let last = pool.try_submit(|| 2).unwrap();
        std::thread::scope(|scope| {
            let stopper = scope.spawn(|| pool.shutdown_now());
            assert!(matches!(first.join(), Err(TaskError::Cancelled)));
            assert!(matches!(last.join(), Err(TaskError::Cancelled)));
            go.send(()).unwrap();
            assert!(blocker.join().is_ok());
            assert_eq!(stopper.join().unwrap(), 2);
        });
    }
}
