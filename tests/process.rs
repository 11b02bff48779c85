//! ProcessBulkhead with real child processes: admission, limits, timeouts
//! that leave nothing behind, output handling, stdin, and no leaks.
#![cfg(all(unix, feature = "process"))]

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::Duration;

use bulkheads::{
    BuildErrorKind, BulkheadStats, Limit, ProcessBulkhead, ProcessError, Registry, RejectReason,
};

/// The tests in this file count our process's descriptors, children and
/// peak memory, so they run one at a time.
fn serial() -> MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A generous wall-clock limit for runs that should end on their own: if
/// one hung, the test fails with `TimedOut` instead of hanging.
const SAFETY_NET: Duration = Duration::from_secs(120);

fn sh(script: &str) -> Command {
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg(script);
    cmd
}

/// A directory of its own for one test, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(test: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("bulkheads-{test}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    /// A named pipe in the directory, opened read-write by the test: it
    /// never blocks on open and never sees end of file while the test
    /// holds it, and keeps what is written to it for the children.
    fn fifo(&self, name: &str) -> (PathBuf, File) {
        let path = self.0.join(name);
        let made = Command::new("mkfifo").arg(&path).status().unwrap();
        assert!(made.success());
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .unwrap();
        (path, file)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A child that says "up" on `ready`, then blocks until it reads a line
/// from `gate`. Both are FIFOs the test holds open.
fn held_child(ready: &Path, gate: &Path) -> Command {
    sh(&format!(
        "exec 3<>'{}'; echo up >'{}'; read line <&3",
        gate.display(),
        ready.display()
    ))
}

/// Blocks until `n` held children have said "up".
fn wait_until_up(ready: &mut File, n: usize) {
    let mut ups = vec![0u8; 3 * n];
    ready.read_exact(&mut ups).unwrap();
    assert_eq!(ups, b"up\n".repeat(n));
}

/// Lets `n` held children go.
fn release(gate: &mut File, n: usize) {
    gate.write_all(&b"go\n".repeat(n)).unwrap();
}

/// Pids of live processes with `needle` as one of their arguments. A
/// process that has ended has an empty command line, even while its
/// parent has not collected it yet.
fn processes_with_argument(needle: &str) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if let Ok(cmdline) = fs::read(entry.path().join("cmdline")) {
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

/// Our own children that have ended and not been reaped.
fn our_zombies() -> Vec<u32> {
    let me = std::process::id();
    let mut zombies = Vec::new();
    for entry in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // "pid (comm) state ppid ...": comm may hold spaces, so split
        // after its closing parenthesis.
        let Some((_, rest)) = stat.rsplit_once(") ") else {
            continue;
        };
        let mut fields = rest.split(' ');
        let state = fields.next();
        let ppid = fields.next().and_then(|p| p.parse::<u32>().ok());
        if state == Some("Z") && ppid == Some(me) {
            zombies.push(pid);
        }
    }
    zombies
}

fn open_fds() -> usize {
    fs::read_dir("/proc/self/fd").unwrap().count()
}

/// Peak resident memory of this process so far, in KiB.
fn peak_rss_kib() -> u64 {
    let status = fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn one_run_more_than_the_limit_is_rejected_at_once_and_only_that_one() {
    let _serial = serial();
    const N: usize = 3;
    let scratch = Scratch::new("n-plus-one");
    let (ready_path, mut ready) = scratch.fifo("ready");
    let (gate_path, mut gate) = scratch.fifo("gate");
    let bulkhead = Arc::new(
        ProcessBulkhead::builder("held")
            .max_concurrent(N)
            .max_wait(Duration::ZERO)
            .timeout(SAFETY_NET)
            .build()
            .unwrap(),
    );

    let runs: Vec<_> = (0..N)
        .map(|_| {
            let bulkhead = Arc::clone(&bulkhead);
            let cmd = held_child(&ready_path, &gate_path);
            thread::spawn(move || bulkhead.run(cmd))
        })
        .collect();
    wait_until_up(&mut ready, N);
    assert_eq!(bulkhead.stats().active, N);

    let extra = bulkhead.run(held_child(&ready_path, &gate_path));
    assert_eq!(extra.unwrap_err().reject_reason(), Some(RejectReason::Full));

    release(&mut gate, N);
    for run in runs {
        run.join().unwrap().unwrap();
    }
    let stats = bulkhead.stats();
    assert_eq!((stats.started, stats.succeeded, stats.rejected), (N, N, 1));
    assert_eq!(stats.active, 0);
}

#[test]
fn with_a_wait_a_run_starts_once_a_place_frees() {
    let _serial = serial();
    let scratch = Scratch::new("wait");
    let (ready_path, mut ready) = scratch.fifo("ready");
    let (gate_path, mut gate) = scratch.fifo("gate");
    let bulkhead = Arc::new(
        ProcessBulkhead::builder("one-at-a-time")
            .max_concurrent(1)
            .max_wait(SAFETY_NET)
            .timeout(SAFETY_NET)
            .build()
            .unwrap(),
    );

    let first = {
        let bulkhead = Arc::clone(&bulkhead);
        let cmd = held_child(&ready_path, &gate_path);
        thread::spawn(move || bulkhead.run(cmd))
    };
    wait_until_up(&mut ready, 1);
    let second = {
        let bulkhead = Arc::clone(&bulkhead);
        thread::spawn(move || bulkhead.run(sh("echo second")))
    };
    // The second run is parked at the door, not refused.
    while bulkhead.stats().waiting == 0 {
        thread::yield_now();
    }
    assert_eq!(bulkhead.stats().started, 1);

    release(&mut gate, 1);
    first.join().unwrap().unwrap();
    let out = second.join().unwrap().unwrap();
    assert_eq!(out.stdout, b"second\n");
    let stats = bulkhead.stats();
    assert_eq!((stats.started, stats.succeeded, stats.rejected), (2, 2, 0));
}

#[test]
fn a_child_allocating_past_the_memory_limit_fails_for_want_of_memory() {
    let _serial = serial();
    // dd allocates its block (128 MiB) before copying anything.
    let dd = || {
        let mut cmd = Command::new("dd");
        cmd.args(["if=/dev/zero", "of=/dev/null", "bs=128M", "count=1"]);
        cmd
    };
    let limited = ProcessBulkhead::builder("limited")
        .memory_limit(32 << 20)
        .timeout(SAFETY_NET)
        .build()
        .unwrap();
    let err = limited.run(dd()).unwrap_err();
    let out = match &err {
        ProcessError::Failed(out) => out,
        other => panic!("expected Failed, got {other:?}"),
    };
    // How it failed: the kernel refused the allocation, dd said so on
    // stderr and exited with an error code; it was not killed.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("memory exhausted"), "{stderr}");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(err.limit_hit(), None);

    // The same program without the limit succeeds: the limit was the cause.
    let unlimited = ProcessBulkhead::builder("unlimited")
        .timeout(SAFETY_NET)
        .build()
        .unwrap();
    unlimited.run(dd()).unwrap();
}

#[test]
fn a_busy_loop_past_the_cpu_time_limit_is_ended_by_that_limit() {
    let _serial = serial();
    let bulkhead = ProcessBulkhead::builder("spinner")
        .cpu_time_limit(Duration::from_secs(1))
        .timeout(SAFETY_NET)
        .build()
        .unwrap();
    let err = bulkhead.run(sh("while :; do :; done")).unwrap_err();
    assert!(matches!(err, ProcessError::Failed(_)), "{err:?}");
    assert_eq!(err.limit_hit(), Some(Limit::CpuTime));
    assert!(err.to_string().contains("CPU-time limit"), "{err}");
    assert_eq!(bulkhead.stats().failed, 1);
}

#[test]
fn a_timed_out_child_and_its_background_grandchild_are_both_gone() {
    let _serial = serial();
    // An argument no other process has, to find the sleeps by.
    let marker = format!("1000.{}7", std::process::id());
    let bulkhead = ProcessBulkhead::builder("runaway")
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let err = bulkhead
        .run(sh(&format!("sleep {marker} & sleep {marker}")))
        .unwrap_err();
    let out = match &err {
        ProcessError::TimedOut(out) => out,
        other => panic!("expected TimedOut, got {other:?}"),
    };
    assert_eq!(out.program, "sh");
    assert_eq!(err.limit_hit(), Some(Limit::Timeout));
    assert!(processes_with_argument(&marker).is_empty());
    assert!(our_zombies().is_empty());
    let stats = bulkhead.stats();
    assert_eq!((stats.started, stats.timed_out, stats.active), (1, 1, 0));
}

#[test]
fn what_a_child_leaves_running_in_the_background_is_killed_when_it_exits() {
    let _serial = serial();
    let marker = format!("1000.{}9", std::process::id());
    let bulkhead = ProcessBulkhead::builder("leaver")
        .timeout(SAFETY_NET)
        .build()
        .unwrap();
    // The background sleep keeps stdout open: without the group kill the
    // run would last as long as the sleep.
    let out = bulkhead
        .run(sh(&format!("sleep {marker} & echo left")))
        .unwrap();
    assert_eq!(out.stdout, b"left\n");
    assert!(processes_with_argument(&marker).is_empty());
}

#[test]
fn a_flood_on_stderr_is_truncated_and_does_not_deadlock() {
    let _serial = serial();
    let bulkhead = ProcessBulkhead::builder("noisy")
        .output_limit(1 << 20)
        .timeout(SAFETY_NET)
        .build()
        .unwrap();
    let out = bulkhead.run(sh("head -c 104857600 /dev/zero >&2")).unwrap();
    assert_eq!(out.stderr.len(), 1 << 20);
    assert!(out.stderr_truncated);
    assert!(out.stdout.is_empty());
    assert!(!out.stdout_truncated);
}

#[test]
fn a_gigabyte_of_stdout_keeps_the_callers_memory_near_the_output_limit() {
    let _serial = serial();
    let bulkhead = ProcessBulkhead::builder("firehose")
        .output_limit(1 << 20)
        .timeout(SAFETY_NET)
        .build()
        .unwrap();
    let before = peak_rss_kib();
    let out = bulkhead.run(sh("head -c 1073741824 /dev/zero")).unwrap();
    let grown_kib = peak_rss_kib().saturating_sub(before);
    assert_eq!(out.stdout.len(), 1 << 20);
    assert!(out.stdout_truncated);
    // The 1 MiB kept, a read buffer per pipe and two helper stacks: far
    // under the 1 GiB written.
    assert!(grown_kib < 16 * 1024, "peak grew by {grown_kib} KiB");
}

#[test]
fn a_missing_program_is_a_spawn_error_that_names_it() {
    let _serial = serial();
    let bulkhead = ProcessBulkhead::builder("typo").build().unwrap();
    let err = bulkhead
        .run(Command::new("bulkheads-no-such-program"))
        .unwrap_err();
    match &err {
        ProcessError::Spawn(io) => assert_eq!(io.kind(), std::io::ErrorKind::NotFound),
        other => panic!("expected Spawn, got {other:?}"),
    }
    assert!(
        err.to_string().contains("bulkheads-no-such-program"),
        "{err}"
    );
    let stats = bulkhead.stats();
    assert_eq!((stats.spawn_failed, stats.started, stats.active), (1, 0, 0));
}

#[test]
fn input_is_delivered_on_stdin_and_run_gives_a_null_stdin() {
    let _serial = serial();
    let bulkhead = ProcessBulkhead::builder("filters")
        .output_limit(4 << 20)
        .timeout(SAFETY_NET)
        .build()
        .unwrap();
    // More than a pipe holds, so writing and reading must overlap.
    let input: Vec<u8> = (0..2_000_000u32).map(|i| (i % 251) as u8).collect();
    let out = bulkhead
        .run_with_input(Command::new("cat"), &input)
        .unwrap();
    assert!(out.stdout == input, "cat echoed {} bytes", out.stdout.len());

    // `run`: stdin is /dev/null, so cat sees end of file at once.
    let out = bulkhead.run(Command::new("cat")).unwrap();
    assert!(out.stdout.is_empty());

    // A child that does not read its input is not an error of the run.
    let out = bulkhead.run_with_input(sh("exit 0"), &input).unwrap();
    assert!(out.status.success());
}

#[test]
fn the_open_files_limit_applies_to_the_child() {
    let _serial = serial();
    let bulkhead = ProcessBulkhead::builder("few-files")
        .max_open_files(16)
        .timeout(SAFETY_NET)
        .build()
        .unwrap();
    // Descriptor 20 is past the limit of 16, descriptor 9 is not.
    assert!(bulkhead.run(sh("exec 9</dev/null")).is_ok());
    let err = bulkhead.run(sh("exec 20</dev/null")).unwrap_err();
    assert!(matches!(err, ProcessError::Failed(_)), "{err:?}");
}

#[test]
fn two_hundred_runs_leave_no_zombie_and_no_descriptor_behind() {
    let _serial = serial();
    let bulkhead = ProcessBulkhead::builder("loop")
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    // Warm up once, so descriptors the runtime opens lazily are counted
    // in the baseline.
    bulkhead.run(Command::new("true")).unwrap();
    let fds_before = open_fds();
    for i in 0..200 {
        let result = match i % 4 {
            0 => bulkhead.run(Command::new("true")),
            1 => bulkhead.run(sh("echo out; echo err >&2")),
            2 => bulkhead.run_with_input(Command::new("cat"), b"in"),
            _ => bulkhead.run(Command::new("false")),
        };
        assert_eq!(result.is_ok(), i % 4 != 3, "run {i}: {result:?}");
    }
    assert_eq!(open_fds(), fds_before);
    assert!(our_zombies().is_empty());
    let stats = bulkhead.stats();
    assert_eq!(stats.started, 201);
    assert_eq!(
        stats.started,
        stats.succeeded + stats.failed + stats.timed_out
    );
    assert_eq!((stats.failed, stats.active), (50, 0));
}

#[test]
fn a_closed_or_shut_down_bulkhead_refuses_and_counts_it() {
    let _serial = serial();
    let bulkhead = ProcessBulkhead::builder("gated")
        .max_concurrent(0)
        .build()
        .unwrap();
    let err = bulkhead.run(Command::new("true")).unwrap_err();
    assert_eq!(err.reject_reason(), Some(RejectReason::Full));
    bulkhead.set_max_concurrent(1);
    bulkhead.run(Command::new("true")).unwrap();
    bulkhead.shutdown();
    let err = bulkhead.run(Command::new("true")).unwrap_err();
    assert_eq!(err.reject_reason(), Some(RejectReason::ShutDown));
    let stats = bulkhead.stats();
    assert_eq!((stats.started, stats.rejected), (1, 2));
}

#[test]
fn settings_no_child_could_run_under_are_build_errors() {
    for builder in [
        ProcessBulkhead::builder("x").timeout(Duration::ZERO),
        ProcessBulkhead::builder("x").memory_limit(0),
        ProcessBulkhead::builder("x").max_open_files(0),
        ProcessBulkhead::builder("x").cpu_time_limit(Duration::ZERO),
    ] {
        let err = builder.build().unwrap_err();
        assert_eq!(err.kind(), BuildErrorKind::InvalidLimit, "{err}");
    }
    let err = ProcessBulkhead::builder(" ").build().unwrap_err();
    assert_eq!(err.kind(), BuildErrorKind::EmptyName);
}

#[test]
fn the_registry_holds_process_bulkheads_by_name() {
    let _serial = serial();
    let registry = Registry::new();
    let thumbs = registry
        .process("thumbnails", |b| b.max_concurrent(4))
        .unwrap();
    let again = registry
        .process("thumbnails", |b| b.max_concurrent(9))
        .unwrap();
    assert!(Arc::ptr_eq(&thumbs, &again));
    assert!(Arc::ptr_eq(
        &thumbs,
        &registry.get_process("thumbnails").unwrap()
    ));
    thumbs.run(Command::new("true")).unwrap();

    match &registry.stats()[..] {
        [BulkheadStats::Process(stats)] => {
            assert_eq!((stats.max_concurrent, stats.started), (4, 1));
        }
        other => panic!("{other:?}"),
    }
    assert!(registry.table().to_string().contains("process"));
    let err = registry.semaphore("thumbnails", 1).unwrap_err();
    assert_eq!(err.kind(), BuildErrorKind::KindConflict);
    registry.shutdown();
    assert!(thumbs.is_shut_down());
}
