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
//! 2. Two reader threads, started for the run, read
//!    stdout and stderr at the same time, each keeping at most
//!    `output_limit` bytes and dropping the rest, and send what they kept
//!    back when their pipe ends. Reading both pipes at once is what keeps
//!    a child that fills one pipe from deadlocking. Input up to
//!    [`INLINE_INPUT`] bytes is written at once (it fits an empty pipe);
//!    more is written by a scoped thread while the child runs.
//! 3. The calling thread waits for the leader to exit or the deadline to
//!    pass. It wakes when a pipe ends (the usual sign of an exit) and
//!    otherwise checks at growing intervals (up to [`MAX_NAP`]), since a
//!    child may exit while something it started still holds its pipes.
//! 4. At the deadline the whole group gets `SIGKILL` and the leader is
//!    reaped. After a normal exit the group gets `SIGKILL` too, so nothing
//!    the program left running in the background outlives the call. The
//!    readers then reach the end of their pipes and report.
//!
//! The guard is dropped before anything else can block (inside the
//! writer's thread scope, when there is one), so if the calling thread
//! unwinds, the group is killed and the leader reaped first.

use std::io::{self, Read, Write};
use std::process::{Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use process_wrap::std::{ProcessGroup, StdChildWrapper, StdCommandWrap};

use super::limits::Limits;

/// The first interval between two checks on a child whose pipes are quiet.
const FIRST_NAP: Duration = Duration::from_micros(50);
/// The longest interval between two checks: how late, at worst, the end of
/// a child whose pipes are held open by something else is noticed.
const MAX_NAP: Duration = Duration::from_millis(20);
/// Checks right after a pipe ends that only yield the CPU instead of
/// sleeping: the child is most likely a few microseconds from exiting.
const QUICK_CHECKS: u32 = 16;
/// Bytes read from a pipe at a time.
const CHUNK: usize = 16 * 1024;
/// Input this small is written before the wait begins: POSIX guarantees a
/// pipe holds at least this much (`_POSIX_PIPE_BUF`), and the child's
/// stdin pipe is new and empty, so the write cannot block.
const INLINE_INPUT: usize = 512;
/// Stack of the input writer: it only passes a borrowed slice on.
const WRITER_STACK: usize = 64 * 1024;

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

/// Which pipe a reader read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stream {
    Stdout,
    Stderr,
}

/// Runs `command` to its end as `plan` says. `started` is called once the
/// child and its reader threads are up.
///
/// # Errors
///
/// The error that kept the program from starting (or, rarely, a helper
/// thread the system would not create; the child is then killed and
/// reaped before returning). After `started`, only a failure to wait for
/// the child (which is then killed and reaped too).
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
    let (done_tx, done) = crossbeam_channel::bounded::<(Stream, Captured)>(2);
    if let Some(pipe) = group.child.stdout().take() {
        read_on_helper(pipe, Stream::Stdout, plan.output_limit, done_tx.clone())?;
    }
    if let Some(pipe) = group.child.stderr().take() {
        read_on_helper(pipe, Stream::Stderr, plan.output_limit, done_tx)?;
    }
    let deadline = plan.timeout.and_then(|t| begun.checked_add(t));
    match (stdin, plan.input) {
        (Some(mut pipe), Some(input)) if input.len() > INLINE_INPUT => thread::scope(|s| {
            // Moved in: dropped (kill + reap) before the scope joins the
            // writer, also when this closure unwinds; the kill breaks the
            // writer's pipe.
            let mut group = group;
            thread::Builder::new()
                .name("bulkheads-process-stdin".into())
                .stack_size(WRITER_STACK)
                .spawn_scoped(s, move || {
                    // A child that exits without reading all of it closes
                    // the pipe: the write fails, and that is no error of
                    // the run.
                    let _ = pipe.write_all(input);
                })?;
            started();
            group.finish(deadline, &done, begun)
        }),
        (stdin, input) => {
            if let (Some(mut pipe), Some(input)) = (stdin, input) {
                // Fits the new, empty pipe: does not block. Closed on drop.
                let _ = pipe.write_all(input);
            }
            started();
            group.finish(deadline, &done, begun)
        }
    }
}

/// A reader thread's stack: its read buffer is on the heap.
const READER_STACK: usize = 64 * 1024;

/// Starts a thread that reads `pipe` to its end, keeping the first `limit`
/// bytes, and sends them on `done`. The thread ends when the pipe closes
/// (the child's group exited or was killed).
fn read_on_helper(
    mut pipe: impl Read + Send + 'static,
    stream: Stream,
    limit: usize,
    done: Sender<(Stream, Captured)>,
) -> io::Result<()> {
    std::thread::Builder::new()
        .name("bulkheads-process-io".into())
        .stack_size(READER_STACK)
        .spawn(move || {
            let captured = read_capped(&mut pipe, limit);
            drop(pipe);
            // The caller may have gone (it unwound); the output has no
            // reader.
            let _ = done.send((stream, captured));
        })
        .map(drop)
}

/// Reads `pipe` to its end, keeping the first `limit` bytes.
fn read_capped(pipe: &mut impl Read, limit: usize) -> Captured {
    let mut captured = Captured::default();
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
            // A pipe read does not fail otherwise; if it did, what was read
            // so far is the output.
            Err(_) => break,
        }
    }
    captured
}

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

    /// Waits for the leader to exit or for `deadline` (killing the group
    /// either way), then for both readers' output.
    fn finish(
        &mut self,
        deadline: Option<Instant>,
        done: &Receiver<(Stream, Captured)>,
        begun: Instant,
    ) -> io::Result<Finished> {
        let mut stdout = None;
        let mut stderr = None;
        let mut keep = |(stream, captured): (Stream, Captured)| match stream {
            Stream::Stdout => stdout = Some(captured),
            Stream::Stderr => stderr = Some(captured),
        };
        let (status, timed_out) = self.wait(deadline, done, &mut keep)?;
        // The group is dead now, so the pipes end: wait for what is left.
        // A reader that is gone without reporting (it cannot panic: it only
        // reads and copies) disconnects the channel and counts as empty.
        while let Ok(report) = done.recv() {
            keep(report);
        }
        Ok(Finished {
            status,
            timed_out,
            stdout: stdout.unwrap_or_default(),
            stderr: stderr.unwrap_or_default(),
            elapsed: begun.elapsed(),
        })
    }

    /// Waits for the leader to exit or for `deadline`; then kills what is
    /// left of the group. Returns the leader's status and whether the
    /// deadline ended it. Readers' reports arriving meanwhile go to `keep`.
    fn wait(
        &mut self,
        deadline: Option<Instant>,
        done: &Receiver<(Stream, Captured)>,
        keep: &mut impl FnMut((Stream, Captured)),
    ) -> io::Result<(ExitStatus, bool)> {
        let mut pipes_open = true;
        let mut nap = FIRST_NAP;
        let mut quick_checks = 0;
        loop {
            // The leader is waited for by its pid (std's `Child`), so its
            // end is seen even if it moved itself to another group.
            if let Some(status) = self.child.inner_mut().try_wait()? {
                self.reaped = true;
                // The leader is gone; anything it left in its group must
                // not outlive the call (and may hold the pipes open). The
                // group id stays reserved while any member lives. If none
                // does, the kill finds no one, unless the id was handed to
                // a new group leader in between, which takes the kernel's
                // rising pid counter a full wrap-around in that instant.
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
            if quick_checks > 0 {
                quick_checks -= 1;
                thread::yield_now();
                continue;
            }
            let nap_now = nap.min(left);
            nap = (nap * 2).min(MAX_NAP);
            if pipes_open {
                match done.recv_timeout(nap_now) {
                    // A pipe ended: most likely the child is exiting, so
                    // look again at once, then often, for a moment.
                    Ok(report) => {
                        keep(report);
                        quick_checks = QUICK_CHECKS;
                        nap = FIRST_NAP;
                    }
                    Err(RecvTimeoutError::Timeout) => {}
                    // Both readers are done: from now on only the timer.
                    Err(RecvTimeoutError::Disconnected) => pipes_open = false,
                }
            } else {
                thread::sleep(nap_now);
            }
        }
    }

    /// Sends `SIGKILL` to every process in the group. A group that is
    /// already empty is no error.
    fn kill(&mut self) {
        // An error here means the group is already empty (ESRCH).
        let _ = self.child.start_kill();
    }

    /// Kills the group and reaps the leader. The leader is not reaped
    /// before the kill, so the group id cannot have been reused.
    fn kill_and_reap(&mut self) -> io::Result<ExitStatus> {
        self.kill();
        let status = self.child.inner_mut().wait()?;
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
