//! Per-child resource limits (rlimits), set in the child between `fork` and
//! `exec`.
//!
//! This file holds the crate's only `unsafe` code: [`Limits::apply`], which
//! registers the closure that sets the limits with
//! [`CommandExt::pre_exec`]. Everything else in the crate is checked by
//! `#![deny(unsafe_code)]`.

use std::io;
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::time::Duration;

use crate::error::{BuildError, BuildErrorKind};

/// Whether this platform enforces `RLIMIT_AS` and `RLIMIT_CPU` the way the
/// builder documents them. Elsewhere (macOS does not enforce `RLIMIT_AS`)
/// `build()` refuses those settings rather than pretend.
const ADDRESS_SPACE_AND_CPU_ENFORCED: bool = cfg!(any(target_os = "linux", target_os = "android"));

/// The rlimits a bulkhead's children run under; `None` leaves a limit as
/// the child inherits it. Fixed at build time and copied into each child.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Limits {
    /// `RLIMIT_AS`: bytes of address space.
    pub(crate) memory: Option<u64>,
    /// `RLIMIT_CPU`: whole seconds of CPU time (soft limit; the hard limit
    /// is one second more, so a child that ignores `SIGXCPU` is killed).
    pub(crate) cpu_seconds: Option<u64>,
    /// `RLIMIT_NOFILE`: the highest file descriptor number plus one.
    pub(crate) open_files: Option<u64>,
}

impl Limits {
    /// The limits from the builder's settings, or the `BuildError` naming
    /// the setting that cannot be honoured.
    pub(crate) fn new(
        name: &str,
        memory: Option<u64>,
        cpu_time: Option<Duration>,
        open_files: Option<u64>,
    ) -> Result<Self, BuildError> {
        let invalid = |detail| {
            Err(BuildError::setting(
                BuildErrorKind::InvalidLimit,
                name,
                detail,
            ))
        };
        let unsupported = |detail| {
            Err(BuildError::setting(
                BuildErrorKind::Unsupported,
                name,
                detail,
            ))
        };
        if memory == Some(0) {
            return invalid(
                "memory_limit(0) leaves no room to start a program; give it at least a few MiB",
            );
        }
        if cpu_time == Some(Duration::ZERO) {
            return invalid(
                "cpu_time_limit(0) leaves no time to run a program; give it at least one second",
            );
        }
        if open_files == Some(0) {
            return invalid(
                "max_open_files(0) leaves no descriptor to load a program; give it at least 16",
            );
        }
        if memory.is_some() && !ADDRESS_SPACE_AND_CPU_ENFORCED {
            return unsupported("memory_limit (RLIMIT_AS) is only enforced on Linux");
        }
        if cpu_time.is_some() && !ADDRESS_SPACE_AND_CPU_ENFORCED {
            return unsupported("cpu_time_limit (RLIMIT_CPU) is only supported on Linux");
        }
        // RLIMIT_CPU counts whole seconds: round up, so the child gets at
        // least the time it was given.
        let cpu_seconds =
            cpu_time.map(|t| t.as_secs().saturating_add(u64::from(t.subsec_nanos() > 0)));
        Ok(Limits {
            memory,
            cpu_seconds,
            open_files,
        })
    }

    /// Arranges for `command`'s child to set these limits on itself after
    /// `fork`, before `exec`. Does nothing when no limit is set.
    ///
    /// A limit above the hard limit the caller itself runs under is lowered
    /// to that hard limit (an unprivileged process cannot raise it, and the
    /// child is then bounded by the stricter one). A `setrlimit` the system
    /// refuses fails the spawn with that error.
    #[allow(unsafe_code)]
    pub(crate) fn apply(self, command: &mut Command) {
        if self == Limits::default() {
            return;
        }
        // The closure owns a copy of `self` (plain integers): it touches no
        // memory shared with the parent's other threads.
        let limits = self;
        let child_side = move || -> io::Result<()> {
            // One resource: clamp to the inherited hard limit, then set.
            let set = |resource, soft: u64, hard: u64| -> io::Result<()> {
                let mut current = libc::rlimit {
                    rlim_cur: 0,
                    rlim_max: 0,
                };
                // SAFETY: `getrlimit` writes one `rlimit` through a pointer
                // to a live, properly aligned local; it is a bare system
                // call wrapper (no lock, no allocation), safe between fork
                // and exec.
                if unsafe { libc::getrlimit(resource, &mut current) } != 0 {
                    return Err(io::Error::last_os_error());
                }
                // `rlim_t` is `u64` on Linux, another integer elsewhere;
                // RLIM_INFINITY is its maximum, so `min` leaves it alone.
                #[allow(clippy::unnecessary_cast)]
                let ceiling = current.rlim_max as u64;
                let hard = hard.min(ceiling);
                let wanted = libc::rlimit {
                    rlim_cur: soft.min(hard) as libc::rlim_t,
                    rlim_max: hard as libc::rlim_t,
                };
                // SAFETY: `setrlimit` reads one `rlimit` from a live local;
                // like `getrlimit` it is a bare system call wrapper that
                // takes no lock and allocates nothing, so calling it in the
                // forked child of a multi-threaded parent is sound.
                if unsafe { libc::setrlimit(resource, &wanted) } != 0 {
                    // `last_os_error` only reads errno: no allocation.
                    return Err(io::Error::last_os_error());
                }
                Ok(())
            };
            if let Some(bytes) = limits.memory {
                set(libc::RLIMIT_AS, bytes, bytes)?;
            }
            if let Some(seconds) = limits.cpu_seconds {
                // Soft: SIGXCPU at `seconds`; hard: SIGKILL one second on.
                set(libc::RLIMIT_CPU, seconds, seconds.saturating_add(1))?;
            }
            if let Some(files) = limits.open_files {
                set(libc::RLIMIT_NOFILE, files, files)?;
            }
            Ok(())
        };
        // SAFETY: `pre_exec` runs `child_side` in the forked child, where
        // only async-signal-safe work is allowed, because another thread of
        // the parent may have held a lock (the allocator's, stdio's) at the
        // fork. `child_side` allocates nothing, takes no lock and touches
        // no shared state: it reads its own copy of `limits` and calls only
        // `getrlimit`/`setrlimit`, which are direct system calls in glibc
        // and musl (they set errno and nothing else), and builds its error
        // with `io::Error::last_os_error`, which stores the errno inline.
        unsafe {
            command.pre_exec(child_side);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_time_rounds_up_to_whole_seconds() {
        let limits = Limits::new("x", None, Some(Duration::from_millis(1500)), None).unwrap();
        assert_eq!(limits.cpu_seconds, Some(2));
        let limits = Limits::new("x", None, Some(Duration::from_secs(3)), None).unwrap();
        assert_eq!(limits.cpu_seconds, Some(3));
    }

    #[test]
    fn zero_limits_are_refused_with_the_setting_named() {
        let err = Limits::new("x", Some(0), None, None).unwrap_err();
        assert_eq!(err.kind(), BuildErrorKind::InvalidLimit);
        assert!(err.to_string().contains("memory_limit"), "{err}");
        let err = Limits::new("x", None, None, Some(0)).unwrap_err();
        assert!(err.to_string().contains("max_open_files"), "{err}");
        let err = Limits::new("x", None, Some(Duration::ZERO), None).unwrap_err();
        assert!(err.to_string().contains("cpu_time_limit"), "{err}");
    }
}
