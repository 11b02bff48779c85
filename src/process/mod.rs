//! Process isolation: [`ProcessBulkhead`] runs child processes under a
//! concurrency limit, a wall-clock timeout and per-process resource limits,
//! and leaves nothing behind (feature `process`, Unix).
//!
//! # Design
//!
//! A process bulkhead is a semaphore's admission around a child process:
//! it holds a [`SemaphoreBulkhead`] (unfair, with the configured
//! `max_wait`), so the decision to admit is the same lock-free
//! compare-and-swap on the crate's slot counter, and a refusal takes no
//! lock and starts nothing. The place is held from spawn to reap and given
//! back before `run` returns.
//!
//! * `child.rs`: one run from spawn to reap (process group, pipe readers,
//!   deadline, and the guard that kills and reaps the group on any exit
//!   path, unwinding included).
//! * `limits.rs`: the rlimits, set in the child between fork and exec; the
//!   crate's only `unsafe`.
//! * `builder.rs`: [`ProcessBuilder`]; `error.rs`: [`ProcessOutput`],
//!   [`ProcessError`], [`Limit`].

use std::fmt;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use crate::compartment::Compartment;
use crate::error::BuildError;
use crate::registry::Registry;
use crate::semaphore::{Permit, SemaphoreBulkhead};
use crate::stats::{BulkheadStats, ProcessStats};
use crate::sync::{AtomicUsize, Ordering};

mod builder;
mod child;
mod error;
mod limits;

pub use builder::ProcessBuilder;
pub use error::{Limit, ProcessError, ProcessOutput};

use child::{Finished, Plan};
use limits::Limits;

/// A bulkhead that runs child processes: at most `max_concurrent` at once,
/// each under a wall-clock timeout and resource limits, with nothing left
/// behind.
///
/// A run happens on the caller's thread, like a semaphore's call; to run it
/// in the background, submit it to a
/// [`ThreadPoolBulkhead`](crate::ThreadPoolBulkhead).
///
/// * **Admission.** When `max_concurrent` children are running, a run is
///   refused at once ([`RejectReason::Full`](crate::RejectReason::Full)) or, with a `max_wait`, after
///   waiting that long for a place ([`RejectReason::Timeout`](crate::RejectReason::Timeout)); nothing is
///   started. A limit of 0 refuses every run until raised.
/// * **Standard streams.** [`run`](Self::run) gives the child a null stdin
///   (never the caller's terminal); [`run_with_input`](Self::run_with_input)
///   writes the bytes to its stdin and closes it. stdout and stderr are
///   read at the same time while the child runs, so a child that fills one
///   pipe never deadlocks; beyond `output_limit` bytes each, output is read
///   and dropped. Each run reads its pipes on two threads of its own.
///   Whatever the `Command` was told about its standard streams is
///   replaced.
/// * **Nothing outlives the call.** The child leads a process group of its
///   own. When the timeout passes, the whole group is killed with
///   `SIGKILL` and the child reaped; when the child exits, whatever it left
///   running in its group is killed too; and if the calling thread unwinds
///   mid-run, a guard kills the group and reaps the child. A descendant
///   that leaves the group on purpose (`setsid`) escapes this, as it
///   escapes any process-group kill. Killed descendants other than the
///   child itself are orphans and are reaped by the system's init (or
///   subreaper), as every orphan is.
/// * **Limits** (`memory_limit`, `cpu_time_limit`, `max_open_files`) are
///   rlimits set in the child between fork and exec; cgroups are not used.
///
/// # Examples
///
/// ```
/// use bulkheads::{ProcessBulkhead, ProcessError};
/// use std::{process::Command, time::Duration};
///
/// let scripts = ProcessBulkhead::builder("scripts")
///     .max_concurrent(4)
///     .timeout(Duration::from_secs(10))
///     .build()?;
///
/// let mut cmd = Command::new("sh");
/// cmd.args(["-c", "echo converted"]);
/// let out = scripts.run(cmd)?;
/// assert_eq!(out.stdout, b"converted\n");
///
/// let mut wc = Command::new("wc");
/// wc.arg("-c");
/// let out = scripts.run_with_input(wc, b"12345")?;
/// assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "5");
///
/// let stats = scripts.stats();
/// assert_eq!((stats.started, stats.succeeded), (2, 2));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ProcessBulkhead {
    /// Decides who may run: its slot counter holds the places taken, its
    /// `max_wait` how long a run waits for one, its closed bit whether the
    /// bulkhead was shut down. Its name is the bulkhead's. Never fair.
    admission: SemaphoreBulkhead,
    /// The wall-clock limit of a run. Fixed at build time.
    timeout: Option<Duration>,
    /// The rlimits set in every child. Fixed at build time.
    limits: Limits,
    /// Bytes kept of each of stdout and stderr. Fixed at build time.
    output_limit: usize,
    /// Outcome counters: each written once per run by the running caller,
    /// read by `stats()`.
    counters: Counters,
}

/// The per-outcome statistics of a [`ProcessBulkhead`].
#[derive(Default)]
struct Counters {
    started: AtomicUsize,
    succeeded: AtomicUsize,
    failed: AtomicUsize,
    timed_out: AtomicUsize,
    spawn_failed: AtomicUsize,
}

impl Counters {
    fn bump(counter: &AtomicUsize) {
        // Relaxed: a statistic; it orders nothing else.
        counter.fetch_add(1, Ordering::Relaxed);
    }

    fn read(counter: &AtomicUsize) -> usize {
        // Relaxed: a statistic.
        counter.load(Ordering::Relaxed)
    }
}

impl ProcessBulkhead {
    /// Starts configuring a process bulkhead named `name`.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::ProcessBulkhead;
    /// use std::time::Duration;
    ///
    /// let pdf = ProcessBulkhead::builder("pdf")
    ///     .max_concurrent(2)
    ///     .timeout(Duration::from_secs(60))
    ///     .build()?;
    /// assert_eq!(pdf.name(), "pdf");
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn builder(name: impl Into<String>) -> ProcessBuilder {
        ProcessBuilder::new(name.into())
    }

    fn from_parts(
        admission: SemaphoreBulkhead,
        timeout: Option<Duration>,
        limits: Limits,
        output_limit: usize,
    ) -> Self {
        ProcessBulkhead {
            admission,
            timeout,
            limits,
            output_limit,
            counters: Counters::default(),
        }
    }

    /// The bulkhead's name.
    ///
    /// # Examples
    ///
    /// ```
    /// let b = bulkheads::ProcessBulkhead::builder("thumbnails").build()?;
    /// assert_eq!(b.name(), "thumbnails");
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn name(&self) -> &str {
        self.admission.name()
    }

    /// The current limit of children running at once.
    ///
    /// # Examples
    ///
    /// ```
    /// let b = bulkheads::ProcessBulkhead::builder("pdf").max_concurrent(3).build()?;
    /// assert_eq!(b.max_concurrent(), 3);
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn max_concurrent(&self) -> usize {
        self.admission.max_concurrent()
    }

    /// How long a run waits for a free place.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let b = bulkheads::ProcessBulkhead::builder("pdf").build()?;
    /// assert_eq!(b.max_wait(), Duration::ZERO);
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn max_wait(&self) -> Duration {
        self.admission.max_wait()
    }

    /// The wall-clock limit of one run, if any.
    ///
    /// # Examples
    ///
    /// ```
    /// let b = bulkheads::ProcessBulkhead::builder("pdf").build()?;
    /// assert_eq!(b.timeout(), None);
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    /// Bytes kept of stdout, and of stderr, per run.
    ///
    /// # Examples
    ///
    /// ```
    /// let b = bulkheads::ProcessBulkhead::builder("pdf").output_limit(4096).build()?;
    /// assert_eq!(b.output_limit(), 4096);
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn output_limit(&self) -> usize {
        self.output_limit
    }

    /// Runs `command` with a null stdin, once a place is free, and waits
    /// for it to end.
    ///
    /// Returns the output when the child exited with status 0.
    ///
    /// # Errors
    ///
    /// * [`ProcessError::Rejected`]: no place (at once, or after
    ///   `max_wait`), or the bulkhead is shut down; nothing was started.
    /// * [`ProcessError::Spawn`]: the program could not be started.
    /// * [`ProcessError::TimedOut`]: killed, with its process group, at the
    ///   timeout; the output read until then is kept.
    /// * [`ProcessError::Failed`]: a non-zero exit or a fatal signal.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::ProcessBulkhead;
    /// use std::process::Command;
    ///
    /// let b = ProcessBulkhead::builder("tools").build()?;
    /// let mut cmd = Command::new("printf");
    /// cmd.arg("%s-%s").arg("a").arg("b");
    /// assert_eq!(b.run(cmd)?.stdout, b"a-b");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn run(&self, command: Command) -> Result<ProcessOutput, ProcessError> {
        self.run_inner(command, None)
    }

    /// Runs `command` as [`run`](Self::run) does, writing `input` to its
    /// stdin and then closing it. A child that exits without reading all
    /// of it is not an error of the run (the write fails with a broken
    /// pipe, which is ignored; like `std::process::Command::output`, this
    /// relies on `SIGPIPE` being ignored, as it is in Rust programs).
    ///
    /// # Errors
    ///
    /// As [`run`](Self::run).
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::ProcessBulkhead;
    /// use std::process::Command;
    ///
    /// let b = ProcessBulkhead::builder("tools").build()?;
    /// let mut tr = Command::new("tr");
    /// tr.args(["a-z", "A-Z"]);
    /// let out = b.run_with_input(tr, b"shout")?;
    /// assert_eq!(out.stdout, b"SHOUT");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn run_with_input(
        &self,
        command: Command,
        input: &[u8],
    ) -> Result<ProcessOutput, ProcessError> {
        self.run_inner(command, Some(input))
    }

    fn run_inner(
        &self,
        command: Command,
        input: Option<&[u8]>,
    ) -> Result<ProcessOutput, ProcessError> {
        let permit = self.admit()?;
        let program = command.get_program().to_string_lossy().into_owned();
        let plan = Plan {
            input,
            timeout: self.timeout,
            output_limit: self.output_limit,
            limits: self.limits,
        };
        let mut started = false;
        let ran = child::run(command, plan, || {
            Counters::bump(&self.counters.started);
            started = true;
        });
        let result = match ran {
            Ok(finished) => Ok(self.outcome(program, finished)),
            Err(e) => {
                // Not started: the program (or a helper thread for its
                // pipes) could not be. Started: it could not be waited for
                // (the system lost track of it); it was killed and reaped.
                Counters::bump(if started {
                    &self.counters.failed
                } else {
                    &self.counters.spawn_failed
                });
                Err(ProcessError::Spawn(error::unstartable(&program, e)))
            }
        };
        // The place is free before the result is visible to the caller.
        drop(permit);
        result?
    }

    /// Takes a place, as configured: at once or within `max_wait`.
    fn admit(&self) -> Result<Permit<'_>, ProcessError> {
        let max_wait = self.admission.max_wait();
        if max_wait.is_zero() {
            self.admission.try_acquire()
        } else {
            self.admission.acquire_timeout(max_wait)
        }
        .map_err(|rejected| ProcessError::Rejected(rejected.reason()))
    }

    /// Counts a finished run and shapes its result.
    fn outcome(&self, program: String, finished: Finished) -> Result<ProcessOutput, ProcessError> {
        let output = ProcessOutput {
            program,
            status: finished.status,
            stdout: finished.stdout.bytes,
            stderr: finished.stderr.bytes,
            stdout_truncated: finished.stdout.truncated,
            stderr_truncated: finished.stderr.truncated,
            elapsed: finished.elapsed,
        };
        if finished.timed_out {
            Counters::bump(&self.counters.timed_out);
            Err(ProcessError::TimedOut(output))
        } else if output.status.success() {
            Counters::bump(&self.counters.succeeded);
            Ok(output)
        } else {
            Counters::bump(&self.counters.failed);
            Err(ProcessError::Failed(output))
        }
    }

    /// Changes the limit of children running at once, live; returns at
    /// once. Shrinking never kills: children above the new limit run to
    /// their end, and nobody new starts until fewer than the limit run.
    /// Growing lets waiting runs start at once. 0 closes the compartment.
    /// A limit above 2^30 - 1 is clamped to that maximum.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::ProcessBulkhead;
    /// use std::process::Command;
    ///
    /// let b = ProcessBulkhead::builder("pdf").max_concurrent(0).build()?;
    /// assert!(b.run(Command::new("true")).is_err()); // closed
    /// b.set_max_concurrent(1);
    /// assert!(b.run(Command::new("true")).is_ok());
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn set_max_concurrent(&self, max_concurrent: usize) {
        self.admission.set_max_concurrent(max_concurrent);
    }

    /// Stops admitting: every later run, and every run still waiting for a
    /// place, is refused with
    /// [`RejectReason::ShutDown`](crate::RejectReason::ShutDown). Runs in
    /// progress go on to their end; this returns at once. Permanent.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::{ProcessBulkhead, RejectReason};
    /// use std::process::Command;
    ///
    /// let b = ProcessBulkhead::builder("pdf").build()?;
    /// b.shutdown();
    /// assert!(b.is_shut_down());
    /// let err = b.run(Command::new("true")).unwrap_err();
    /// assert_eq!(err.reject_reason(), Some(RejectReason::ShutDown));
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn shutdown(&self) {
        self.admission.close();
    }

    /// Whether [`shutdown`](Self::shutdown) has been called.
    ///
    /// # Examples
    ///
    /// ```
    /// let b = bulkheads::ProcessBulkhead::builder("pdf").build()?;
    /// assert!(!b.is_shut_down());
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn is_shut_down(&self) -> bool {
        self.admission.is_closed()
    }

    /// A snapshot of the limit and counters. Cheap: a few atomic loads and
    /// a clone of the name.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::ProcessBulkhead;
    /// use std::process::Command;
    ///
    /// let b = ProcessBulkhead::builder("pdf").max_concurrent(0).build()?;
    /// assert!(b.run(Command::new("true")).is_err());
    /// let s = b.stats();
    /// assert_eq!((s.started, s.rejected, s.active), (0, 1, 0));
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn stats(&self) -> ProcessStats {
        let admission = self.admission.stats();
        let c = &self.counters;
        ProcessStats {
            name: admission.name,
            max_concurrent: admission.max_concurrent,
            active: admission.active,
            waiting: admission.waiting,
            started: Counters::read(&c.started),
            succeeded: Counters::read(&c.succeeded),
            failed: Counters::read(&c.failed),
            timed_out: Counters::read(&c.timed_out),
            spawn_failed: Counters::read(&c.spawn_failed),
            rejected: admission.rejected,
        }
    }
}

impl fmt::Debug for ProcessBulkhead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProcessBulkhead")
            .field("timeout", &self.timeout)
            .field("limits", &self.limits)
            .field("output_limit", &self.output_limit)
            .field("stats", &self.stats())
            .finish()
    }
}

impl Compartment for ProcessBulkhead {
    fn name(&self) -> &str {
        ProcessBulkhead::name(self)
    }
    fn stats(&self) -> BulkheadStats {
        ProcessBulkhead::stats(self).into()
    }
    fn shutdown(&self) {
        ProcessBulkhead::shutdown(self)
    }
}

impl Registry {
    /// The process bulkhead named `name`, created with `configure` if there
    /// is none yet. `configure` receives
    /// [`ProcessBulkhead::builder(name)`](ProcessBulkhead::builder) and is
    /// called only when the bulkhead does not exist yet, outside the
    /// registry's lock; later calls' configuration is ignored.
    ///
    /// # Errors
    ///
    /// [`BuildError`] of kind
    /// [`KindConflict`](crate::BuildErrorKind::KindConflict) when `name` is
    /// another kind of bulkhead, or whatever [`ProcessBuilder::build`]
    /// reports.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::{BulkheadStats, Registry};
    /// use std::sync::Arc;
    ///
    /// let registry = Registry::new();
    /// let thumbs = registry.process("thumbnails", |b| b.max_concurrent(4))?;
    /// assert!(Arc::ptr_eq(&thumbs, &registry.process("thumbnails", |b| b)?));
    /// assert!(matches!(registry.stats()[0], BulkheadStats::Process(_)));
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn process<C>(&self, name: &str, configure: C) -> Result<Arc<ProcessBulkhead>, BuildError>
    where
        C: FnOnce(ProcessBuilder) -> ProcessBuilder,
    {
        self.get_or_create(
            name,
            || configure(ProcessBulkhead::builder(name)),
            ProcessBuilder::build,
        )
    }

    /// The process bulkhead named `name`, if there is one (`None` also when
    /// the name holds another kind).
    ///
    /// # Examples
    ///
    /// ```
    /// let registry = bulkheads::Registry::new();
    /// registry.process("thumbnails", |b| b.max_concurrent(2))?;
    /// assert_eq!(registry.get_process("thumbnails").unwrap().max_concurrent(), 2);
    /// assert!(registry.get_process("pdf").is_none());
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn get_process(&self, name: &str) -> Option<Arc<ProcessBulkhead>> {
        self.lookup(name).ok().flatten()
    }
}
