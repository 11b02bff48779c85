//! One child process from spawn to reap: its own process group, the pipes
//! read while it runs, the deadline, and a guard that kills and reaps the
//! whole group whatever happens to the caller.
//!
//! # How a run goes
//!
//! 1. The program is spawned as the leader of a new process group
//!    (`process-wrap`'s `ProcessGroup`), with its limits set between fork
//!    and exec ([`Limits::apply`]). The child goes into a [`Group`] guard
//!    at once.
//! 2. Scoped helper threads read stdout and stderr (each keeps at most
//!    `output_limit` bytes and drops the rest), and one writes the input,
//!    if any, then closes stdin. Reading both pipes at the same time is
//!    what keeps a child that fills one pipe from deadlocking.
//! 3. The calling thread waits for the leader to exit or the deadline to
//!    pass. It wakes when a reader reaches end of file (the usual sign of
//!    an exit) and otherwise checks at growing intervals (up to
//!    [`MAX_NAP`]), since a child may exit while something it started still
//!    holds its pipes.
//! 4. At the deadline the whole group gets `SIGKILL` and the leader is
//!    reaped. After a normal exit the group gets `SIGKILL` too, so nothing
//!    the program left running in the background outlives the call. The
//!    readers then see end of file and are joined.
//!
//! The guard lives inside the thread scope, so if the calling thread
//! unwinds, the group is killed and reaped *before* the scope joins the
//! readers (which could otherwise wait for ever on a live child's pipes).

use std::io::{self, Read, Write};
use std::process::{ChildStderr, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread::{self, Scope, ScopedJoinHandle};
use std::time::{Duration, Instant};

use process_wrap::std::{ProcessGroup, StdChildWrapper, StdCommandWrap};

use super::limits::Limits;

/// The first interval between two checks on a child whose pipes are quiet.
const FIRST_NAP: Duration = Duration::from_micros(50);
/// The longest interval between two checks: how late, at worst, the end of
/// a child whose pipes are held open by something else is noticed.
const MAX_NAP: Duration = Duration::from_millis(20);
/// Bytes read from a pipe at a time.
const CHUNK: usize = 16 * 1024;
/// Stack of a helper thread: it holds no buffers (those are on the heap).
const HELPER_STACK: usize = 64 * 1024;

/// What a run is asked to do, beyond the command itself.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Plan<'a> {
    /// Bytes for stdin (`Some`), or a null stdin (`None`).
    pub(crate) input: Option<&'a [u8]>,
    /// The wall-clock limit, if any.
    pub(crate) timeout: Option<Duration>,
    /// Bytes kept of stdout and of stderr, each.
    pub(crate) output_limit: usize,
    /// The rlimits to set in the child.
    pub(crate) limits: Limits,
}

/// How a child that started ended.
#[derive(Debug)]
pub(crate) struct Finished {
    pub(crate) status: ExitStatus,
    /// Killed by us at the deadline.
    pub(crate) timed_out: bool,
    pub(crate) stdout: Captured,
    pub(crate) stderr: Captured,
    pub(crate) elapsed: Duration,
}

/// The bytes kept of one pipe.
#[derive(Debug, Default)]
pub(crate) struct Captured {
    pub(crate) bytes: Vec<u8>,
    /// Bytes beyond the limit were read and dropped.
    pub(crate) truncated: bool,
}

/// Runs `command` to its end as `plan` says. `started` is called once the
/// child and its helpers are up.
///
/// # Errors
///
/// The error that kept the program from starting (or, rarely, a helper
/// thread the system would not create; the child is then killed and
/// reaped before returning). Once `started` has been called the run always
/// ends in `Ok`.
pub(crate) fn run(
    mut command: Command,
    plan: Plan<'_>,
    started: impl FnOnce(),
) -> io::Result<Finished> {
    command
        .stdin(if plan.input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    plan.limits.apply(&mut command);
    let begun = Instant::now();
    let mut group = Group::spawn(command)?;
    let stdin = group.child.stdin().take();
    let stdout = group.child.stdout().take();
    let stderr = group.child.stderr().take();
    let deadline = plan.timeout.and_then(|t| begun.checked_add(t));

    thread::scope(|s| {
        // Moved in: dropped (kill + reap) before the scope joins its
        // threads, also when this closure unwinds.
        let mut group = group;
        let (eof_tx, eof) = mpsc::channel::<()>();
        if let (Some(mut pipe), Some(input)) = (stdin, plan.input) {
            helper(s, move || {
                // A child that exits without reading all of it closes the
                // pipe: the write fails and that is no error of the run.
                let _ = pipe.write_all(input);
            })?;
        }
        let out_tx = eof_tx.clone();
        let limit = plan.output_limit;
        let out = helper(s, move || read_capped(stdout, limit, out_tx))?;
        let err = helper(s, move || read_capped(stderr, limit, eof_tx))?;
        started();

        let (status, timed_out) = group.wait(deadline, &eof)?;
        let stdout = join(out);
        let stderr = join(err);
        Ok(Finished {
            status,
            timed_out,
            stdout,
            stderr,
            elapsed: begun.elapsed(),
        })
    })
}

/// Starts a scoped helper thread, or reports why the system would not.
fn helper<'scope, T: Send + 'scope>(
    s: &'scope Scope<'scope, '_>,
    f: impl FnOnce() -> T + Send + 'scope,
) -> io::Result<ScopedJoinHandle<'scope, T>> {
    thread::Builder::new()
        .name("bulkheads-process-io".into())
        .stack_size(HELPER_STACK)
        .spawn_scoped(s, f)
}

/// A reader's result; a reader that panicked (it cannot: it only reads and
/// copies) would have its panic continue here.
fn join(handle: ScopedJoinHandle<'_, Captured>) -> Captured {
    handle
        .join()
        .unwrap_or_else(|payload| std::panic::resume_unwind(payload))
}

/// Reads `pipe` to its end, keeping the first `limit` bytes, then says so
/// on `eof`.
fn read_capped(pipe: Option<impl PipeReader>, limit: usize, eof: mpsc::Sender<()>) -> Captured {
    let mut captured = Captured::default();
    if let Some(mut pipe) = pipe {
        let mut chunk = vec![0u8; CHUNK];
        loop {
            match pipe.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => {
                    let room = limit - captured.bytes.len();
                    if n <= room {
                        captured.bytes.extend_from_slice(&chunk[..n]);
                    } else {
                        captured.bytes.extend_from_slice(&chunk[..room]);
                        captured.truncated = true;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // A pipe read does not fail otherwise; if it did, what was
                // read so far is the output.
                Err(_) => break,
            }
        }
    }
    // The waiter may have gone (the run is ending anyway).
    let _ = eof.send(());
    captured
}

/// The two pipe ends a reader takes.
trait PipeReader: Read + Send {}
impl PipeReader for ChildStdout {}
impl PipeReader for ChildStderr {}

/// A child and its process group, killed and reaped on drop unless it has
/// been reaped already.
pub(crate) struct Group {
    /// The leader, wrapped so that signals go to the whole group.
    child: Box<dyn StdChildWrapper>,
    /// Whether the leader has been reaped (its status collected).
    reaped: bool,
}

impl Group {
    /// Spawns `command` as the leader of a new process group.
    pub(crate) fn spawn(command: Command) -> io::Result<Self> {
        let mut wrapped = StdCommandWrap::from(command);
        wrapped.wrap(ProcessGroup::leader());
        let child = wrapped.spawn()?;
        Ok(Group {
            child,
            reaped: false,
        })
    }

    /// The process group's id (the leader's pid).
    #[cfg(test)]
    pub(crate) fn id(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the leader to exit or for `deadline`; then kills what is
    /// left of the group. Returns the leader's status and whether the
    /// deadline ended it. `eof` receives one message per pipe that reached
    /// its end.
    fn wait(
        &mut self,
        deadline: Option<Instant>,
        eof: &Receiver<()>,
    ) -> io::Result<(ExitStatus, bool)> {
        let mut pipes_open = true;
        let mut nap = FIRST_NAP;
        loop {
            if let Some(status) = self.child.try_wait()? {
                self.reaped = true;
                // The leader is gone; anything it left in its group must
                // not outlive the call (and may hold the pipes open).
                self.kill();
                return Ok((status, false));
            }
            let now = Instant::now();
            let left = match deadline {
                Some(deadline) if now >= deadline => {
                    return self.kill_and_reap().map(|s| (s, true))
                }
                Some(deadline) => deadline - now,
                None => MAX_NAP,
            };
            let nap_now = nap.min(left);
            if pipes_open {
                match eof.recv_timeout(nap_now) {
                    // A pipe closed: most likely the child is exiting, so
                    // look again at once, with a fresh short interval.
                    Ok(()) => nap = FIRST_NAP,
                    Err(RecvTimeoutError::Timeout) => nap = (nap * 2).min(MAX_NAP),
                    // Both readers are done: from now on only the timer.
                    Err(RecvTimeoutError::Disconnected) => pipes_open = false,
                }
            } else {
                thread::sleep(nap_now);
                nap = (nap * 2).min(MAX_NAP);
            }
        }
    }

    /// Sends `SIGKILL` to every process in the group. A group that is
    /// already empty is no error.
    fn kill(&mut self) {
        // An error here means the group is already empty (ESRCH).
        let _ = self.child.start_kill();
    }

    /// Kills the group and reaps the leader.
    fn kill_and_reap(&mut self) -> io::Result<ExitStatus> {
        self.kill();
        let status = self.child.wait()?;
        self.reaped = true;
        Ok(status)
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        if !self.reaped {
            // Nothing to report to: the caller is failing or unwinding.
            let _ = self.kill_and_reap();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::panic::{catch_unwind, AssertUnwindSafe};

    /// Pids of processes whose command line contains `needle` as one
    /// argument (a zombie's command line is empty: it has ended).
    fn processes_with_argument(needle: &str) -> Vec<u32> {
        let mut found = Vec::new();
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            if let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) {
                if cmdline
                    .split(|b| *b == 0)
                    .any(|arg| arg == needle.as_bytes())
                {
                    found.push(pid);
                }
            }
        }
        found
    }

    #[test]
    fn a_caller_that_unwinds_mid_run_kills_and_reaps_the_whole_group() {
        let marker = format!("1000.{}1", std::process::id());
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg(format!("sleep {marker} & sleep {marker}"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut group = Group::spawn(command).unwrap();
        let leader = group.id();
        let mut stdout = group.child.stdout().take().unwrap();
        // The shell prints nothing; the sleeps hold its stdout open, so
        // end of file below means every holder has exited.
        let unwound = catch_unwind(AssertUnwindSafe(move || {
            let _group = group;
            panic!("the caller unwinds while the child runs");
        }));
        assert!(unwound.is_err());
        let mut rest = Vec::new();
        stdout.read_to_end(&mut rest).unwrap();
        assert!(processes_with_argument(&marker).is_empty());
        // The leader was reaped: no /proc entry (not even a zombie) is left.
        assert!(!std::path::Path::new(&format!("/proc/{leader}")).exists());
    }
}
