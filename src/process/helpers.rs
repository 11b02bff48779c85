//! Reusable threads that read children's pipes, shared by every
//! [`ProcessBulkhead`](super::ProcessBulkhead) in the program.
//!
//! Reading stdout and stderr at the same time takes a thread per pipe.
//! Starting two threads per run would cost about as much again as a short
//! program's whole fork-exec-wait, so finished helpers stay and wait for
//! the next pipe, and leave after [`IDLE`] without one: the set grows to
//! the program's peak of pipes being read at once and shrinks when idle.
//!
//! The hand-off is a zero-capacity channel: `try_send` succeeds only when
//! an idle helper is waiting in `recv`, otherwise a new helper is started
//! with the job. No job ever waits for a helper, so one child's pipes can
//! never be stuck behind another's.

use std::io;
use std::sync::OnceLock;
use std::thread;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, TrySendError};

/// What a helper runs: read one pipe to its end and report.
pub(crate) type Job = Box<dyn FnOnce() + Send + 'static>;

/// How long a helper waits for another job before it exits.
const IDLE: Duration = Duration::from_secs(10);
/// A helper's stack: its read buffer is on the heap.
const STACK: usize = 64 * 1024;

/// The rendezvous between callers and idle helpers. Both ends live for
/// the whole program, so the channel never disconnects.
fn hand_off() -> &'static (Sender<Job>, Receiver<Job>) {
    static HAND_OFF: OnceLock<(Sender<Job>, Receiver<Job>)> = OnceLock::new();
    HAND_OFF.get_or_init(|| crossbeam_channel::bounded(0))
}

/// Runs `job` on an idle helper, or on a new one if none is idle.
///
/// # Errors
///
/// The system would not start a thread; `job` is dropped unrun.
pub(crate) fn spawn(job: Job) -> io::Result<()> {
    let (to_idle, idle) = hand_off();
    let job = match to_idle.try_send(job) {
        Ok(()) => return Ok(()),
        Err(TrySendError::Full(job) | TrySendError::Disconnected(job)) => job,
    };
    let idle = idle.clone();
    thread::Builder::new()
        .name("bulkheads-process-io".into())
        .stack_size(STACK)
        .spawn(move || {
            job();
            while let Ok(next) = idle.recv_timeout(IDLE) {
                next();
            }
        })
        .map(drop)
}
