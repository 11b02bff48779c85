//! Thumbnail-style work in child processes, behind a ProcessBulkhead.
//!
//! A batch of jobs is submitted to a `ThreadPoolBulkhead` (the background
//! workers); each job shells out — `gzip` piped into `sha256sum` over a
//! generated file — through one shared `ProcessBulkhead`, which lets at
//! most three children run at once, each under a timeout and CPU, memory
//! and open-file limits. One job is a runaway (a busy loop): its CPU-time
//! limit ends it while the others finish. A table of outcomes follows.
//!
//! Run it with `cargo run --release --example sandbox` (Linux: the memory
//! and CPU-time limits are Linux-only).

use std::error::Error;
use std::fs;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use bulkheads::{ProcessBulkhead, ProcessError, ThreadPoolBulkhead};

/// Writes `count` files of pseudo-random lines to a fresh directory.
fn generate_inputs(count: usize) -> Result<(PathBuf, Vec<PathBuf>), Box<dyn Error>> {
    let dir = std::env::temp_dir().join(format!("bulkheads-sandbox-{}", std::process::id()));
    fs::create_dir_all(&dir)?;
    let mut files = Vec::new();
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in 0..count {
        let mut text = String::new();
        for line in 0..20_000 * (i + 1) {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            text.push_str(&format!("{line:06} {seed:016x}\n"));
        }
        let path = dir.join(format!("image-{i}.txt"));
        fs::write(&path, text)?;
        files.push(path);
    }
    Ok((dir, files))
}

fn main() -> Result<(), Box<dyn Error>> {
    let (dir, files) = generate_inputs(6)?;

    let converters = Arc::new(
        ProcessBulkhead::builder("thumbnails")
            .max_concurrent(3)
            .max_wait(Duration::from_secs(30)) // jobs wait their turn for a place
            .timeout(Duration::from_secs(10))
            .cpu_time_limit(Duration::from_secs(1))
            .memory_limit(256 << 20)
            .max_open_files(64)
            .output_limit(4096)
            .build()?,
    );
    let workers = ThreadPoolBulkhead::builder("jobs")
        .threads(4)
        .queue_capacity(16)
        .build()?;

    let mut jobs: Vec<(String, Command)> = files
        .iter()
        .map(|file| {
            let mut cmd = Command::new("sh");
            cmd.arg("-c")
                .arg("gzip -9 -c \"$1\" | sha256sum")
                .arg("sh")
                .arg(file);
            (
                file.file_name().unwrap().to_string_lossy().into_owned(),
                cmd,
            )
        })
        .collect();
    let mut runaway = Command::new("sh");
    runaway.args(["-c", "while :; do :; done"]);
    jobs.insert(2, ("runaway".to_owned(), runaway));

    let handles = jobs
        .into_iter()
        .map(|(name, cmd)| {
            let converters = Arc::clone(&converters);
            let handle = workers
                .submit(move || converters.run(cmd))
                .map_err(|rejected| format!("{name}: {rejected}"))?;
            Ok((name, handle))
        })
        .collect::<Result<Vec<_>, String>>()?;

    println!("{:<12}  {:<44}  {:>8}", "job", "outcome", "ms");
    for (name, handle) in handles {
        let (outcome, ms) = match handle.join()? {
            Ok(out) => {
                let text = String::from_utf8_lossy(&out.stdout);
                let digest = text.split_whitespace().next().unwrap_or("");
                (
                    format!("ok, sha256 {}…", &digest[..16.min(digest.len())]),
                    out.elapsed,
                )
            }
            Err(err @ (ProcessError::Failed(_) | ProcessError::TimedOut(_))) => {
                let limit = err
                    .limit_hit()
                    .map_or_else(|| "failed".to_owned(), |l| format!("ended by {l}"));
                let elapsed = err.output().map(|o| o.elapsed).unwrap_or_default();
                (limit, elapsed)
            }
            Err(other) => (other.to_string(), Duration::ZERO),
        };
        println!("{name:<12}  {outcome:<44}  {:>8}", ms.as_millis());
    }
    println!();
    println!("{}", converters.stats());

    workers.shutdown();
    fs::remove_dir_all(dir)?;
    Ok(())
}
