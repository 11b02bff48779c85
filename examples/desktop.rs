//! A desktop-style program: a 60 Hz UI loop that stays responsive while
//! heavy jobs run beside it in their own compartment.
//!
//! The "user" asks for a job every few frames: rendering a thumbnail
//! (CPU-heavy) or fetching a feed (slow I/O). The jobs go to a
//! `ThreadPoolBulkhead` of 2 threads and 2 queue places with
//! `try_submit_with`, which never blocks the UI thread: when the
//! compartment is full the job's description comes back in the rejection
//! and the UI shows "busy" instead of freezing. Halfway through, the user
//! closes one pending job (`TaskHandle::cancel`) and then clears the whole
//! queue (`cancel_queued`), neither of which waits for running jobs. At the
//! end the UI stops the pool with `shutdown_timeout(Duration::ZERO)`, which
//! does not wait for running jobs either (`shutdown_now` would).
//!
//! It prints what happened, frame by frame where something did, and the
//! worst delay of a frame behind its 60 Hz schedule; it exits by itself
//! after about two seconds.
//!
//! ```text
//! cargo run --release --example desktop
//! ```

use std::time::{Duration, Instant};

use bulkheads::{TaskHandle, ThreadPoolBulkhead};

/// One frame at 60 Hz.
const FRAME: Duration = Duration::from_micros(16_667);
/// How long the demo runs.
const FRAMES: u32 = 120;

/// A job the user asked for, as the UI describes it.
#[derive(Debug)]
enum Job {
    /// CPU-heavy: counts primes below a bound.
    Thumbnail(u32),
    /// Slow I/O: waits on a (simulated) server.
    Feed(&'static str),
}

impl Job {
    /// Runs the job on a worker of the jobs compartment.
    fn run(self) -> String {
        match self {
            Job::Thumbnail(n) => {
                let primes = (2..n * 1_000).filter(|&k| is_prime(k)).count();
                format!("thumbnail {n} rendered ({primes} primes)")
            }
            Job::Feed(name) => {
                std::thread::sleep(Duration::from_millis(250));
                format!("feed {name} fetched")
            }
        }
    }
}

fn is_prime(k: u32) -> bool {
    k >= 2 && (2..).take_while(|d| d * d <= k).all(|d| k % d != 0)
}

/// What the user asks for on frame `frame`, if anything.
fn user_input(frame: u32) -> Option<Job> {
    match frame % 6 {
        0 => Some(Job::Thumbnail(20 + frame / 6)),
        3 => Some(Job::Feed(
            ["news", "weather", "mail"][(frame / 6 % 3) as usize],
        )),
        _ => None,
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let jobs = ThreadPoolBulkhead::builder("jobs")
        .threads(2)
        .queue_capacity(2)
        .build()?;

    let mut pending: Vec<(String, TaskHandle<String>)> = Vec::new();
    let (mut busy, mut done, mut cancelled) = (0, 0, 0);
    let mut worst = Duration::ZERO;
    let start = Instant::now();

    for frame in 0..FRAMES {
        // Wait for this frame's slot, then measure how late it came.
        let due = start + FRAME * frame;
        if let Some(early) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(early);
        }
        worst = worst.max(Instant::now().saturating_duration_since(due));

        if let Some(job) = user_input(frame) {
            let label = format!("{job:?}");
            // Never blocks: admitted, or refused at once with the job back.
            match jobs.try_submit_with(job, Job::run) {
                Ok(handle) => pending.push((label, handle)),
                Err(rejected) => {
                    busy += 1;
                    println!(
                        "frame {frame:3}: busy, {:?} not started",
                        rejected.into_inner()
                    );
                }
            }
        }

        // The user closes the newest pending job's tab...
        if frame == FRAMES / 2 {
            if let Some((label, handle)) = pending.last() {
                if handle.cancel() {
                    cancelled += 1;
                    println!("frame {frame:3}: cancelled {label} before it started");
                }
            }
        }
        // ...and a little later clears everything still waiting.
        if frame == FRAMES / 2 + 12 {
            let n = jobs.cancel_queued();
            cancelled += n;
            println!("frame {frame:3}: cleared the queue, {n} jobs cancelled");
        }

        // Show finished jobs without ever waiting for one.
        let mut i = 0;
        while i < pending.len() {
            if !pending[i].1.is_finished() {
                i += 1;
                continue;
            }
            let (label, handle) = pending.swap_remove(i);
            match handle.join() {
                Ok(text) => {
                    done += 1;
                    println!("frame {frame:3}: {text}");
                }
                Err(err) if err.is_cancelled() => {}
                Err(err) => println!("frame {frame:3}: {label} failed: {err}"),
            }
        }
    }

    // Leave without waiting for the jobs still running.
    let stopped = Instant::now();
    let all_finished = jobs.shutdown_timeout(Duration::ZERO);
    let stop_took = stopped.elapsed();

    println!();
    println!("{done} jobs done, {busy} refused as busy, {cancelled} cancelled");
    println!("{}", jobs.stats());
    println!(
        "stopping took {stop_took:?} (all finished: {all_finished}); worst frame delay: {worst:?} (a frame is {FRAME:?})"
    );
    Ok(())
}
