//! The file's layout as serde structs. Every section denies unknown keys,
//! and every value type checks its range as it is read, so a typo or an
//! out-of-range value is an error at its own key path and position.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::values::{Bytes, Count, Dur, Int, Positive, PositiveDur, Rate};
use crate::admission::MAX_SLOTS;
use crate::thread_pool::MAX_STACK_SIZE;

/// The whole document.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct File {
    /// The seed's section: defaults for every bulkhead, and monitoring.
    pub(crate) bulkhead: Option<Defaults>,
    /// Named bulkheads, with per-name overrides.
    pub(crate) bulkheads: Option<BTreeMap<String, Named>>,
}

/// `bulkhead:` — the seed's keys.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Defaults {
    pub(crate) enabled: Option<bool>,
    pub(crate) thresholds: Option<Thresholds>,
    pub(crate) timeouts: Option<Timeouts>,
    pub(crate) fallback: Option<Fallback>,
    pub(crate) monitoring: Option<Monitoring>,
}

/// `thresholds:` — when the health gate opens.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Thresholds {
    /// Failed calls / calls in the window that open the gate.
    pub(crate) failure_rate: Option<Rate>,
    /// Slow calls / calls in the window that open the gate.
    pub(crate) slow_call_rate: Option<Rate>,
    /// A call this long or longer is slow (zero would make every call
    /// slow).
    pub(crate) response_time: Option<PositiveDur>,
    /// Failures in the window that open the gate whatever the rate.
    pub(crate) error_count: Option<Positive>,
    /// No verdict on fewer calls.
    pub(crate) minimum_calls: Option<Count>,
    /// The sliding window the rates and counts cover.
    pub(crate) window: Option<PositiveDur>,
    /// Probes that must succeed to close the gate again.
    pub(crate) half_open_calls: Option<Positive>,
}

/// `timeouts:` — how long a call may take, how long the gate stays open.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Timeouts {
    pub(crate) operation: Option<PositiveDur>,
    pub(crate) recovery: Option<Dur>,
}

/// `fallback:` — what a refused or failed call gets.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Fallback {
    pub(crate) enabled: Option<bool>,
    pub(crate) strategy: Option<Strategy>,
}

/// `fallback.strategy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Strategy {
    None,
    CachedResponse,
}

/// `monitoring:`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Monitoring {
    pub(crate) metrics_enabled: Option<bool>,
    pub(crate) health_check_interval: Option<PositiveDur>,
}

/// `kind:` of a named bulkhead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Kind {
    ThreadPool,
    Semaphore,
    Process,
}

/// One entry of `bulkheads:`. The settings of every kind are listed here;
/// those of another kind than `kind` are rejected after reading (see
/// `Named::foreign_key`).
///
/// Each setting is bounded as its builder bounds it, so a value the
/// builder would refuse is an error at its own key: at most
/// [`MAX_SLOTS`] threads, queue places or concurrent calls, a stack of at
/// most [`MAX_STACK_SIZE`] bytes, and no zero process timeout or memory
/// limit. Threads plus queue places over [`MAX_SLOTS`] is checked after
/// reading (see `Named::too_many_slots`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Named {
    pub(crate) kind: Kind,
    // thread_pool
    pub(crate) threads: Option<Int<1, MAX_SLOTS>>,
    pub(crate) queue_capacity: Option<Int<0, MAX_SLOTS>>,
    pub(crate) stack_size: Option<Bytes<0, { MAX_STACK_SIZE as u64 }>>,
    // semaphore and process
    pub(crate) max_concurrent: Option<Int<0, MAX_SLOTS>>,
    pub(crate) max_wait: Option<Dur>,
    // semaphore
    pub(crate) fair: Option<bool>,
    // process
    pub(crate) timeout: Option<PositiveDur>,
    pub(crate) memory_limit: Option<Bytes<1>>,
    pub(crate) cpu_time_limit: Option<PositiveDur>,
    pub(crate) max_open_files: Option<Positive>,
    pub(crate) output_limit: Option<Bytes>,
    // policy overrides
    pub(crate) thresholds: Option<Thresholds>,
    pub(crate) timeouts: Option<Timeouts>,
    pub(crate) fallback: Option<Fallback>,
}

impl Kind {
    /// The name written in the file.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Kind::ThreadPool => "thread_pool",
            Kind::Semaphore => "semaphore",
            Kind::Process => "process",
        }
    }

    /// The kind-specific keys this kind accepts.
    pub(crate) fn keys(self) -> &'static [&'static str] {
        match self {
            Kind::ThreadPool => &["threads", "queue_capacity", "stack_size"],
            Kind::Semaphore => &["max_concurrent", "max_wait", "fair"],
            Kind::Process => &[
                "max_concurrent",
                "max_wait",
                "timeout",
                "memory_limit",
                "cpu_time_limit",
                "max_open_files",
                "output_limit",
            ],
        }
    }
}

impl Named {
    /// The kind-specific keys that are set, by name.
    pub(crate) fn set_keys(&self) -> impl Iterator<Item = &'static str> + '_ {
        [
            ("threads", self.threads.is_some()),
            ("queue_capacity", self.queue_capacity.is_some()),
            ("stack_size", self.stack_size.is_some()),
            ("max_concurrent", self.max_concurrent.is_some()),
            ("max_wait", self.max_wait.is_some()),
            ("fair", self.fair.is_some()),
            ("timeout", self.timeout.is_some()),
            ("memory_limit", self.memory_limit.is_some()),
            ("cpu_time_limit", self.cpu_time_limit.is_some()),
            ("max_open_files", self.max_open_files.is_some()),
            ("output_limit", self.output_limit.is_some()),
        ]
        .into_iter()
        .filter_map(|(key, set)| set.then_some(key))
    }

    /// The first key set that belongs to another kind, if any.
    pub(crate) fn foreign_key(&self) -> Option<&'static str> {
        let allowed = self.kind.keys();
        self.set_keys().find(|key| !allowed.contains(key))
    }

    /// For a thread pool whose `queue_capacity` takes threads plus queue
    /// places over [`MAX_SLOTS`], the builder's limit: that sum. `threads`
    /// counts as the number of CPUs when not given, as on the builder.
    pub(crate) fn too_many_slots(&self) -> Option<usize> {
        let queue = self.queue_capacity?.0;
        let threads = self.threads.map_or_else(num_cpus::get, |n| n.0);
        let total = threads.saturating_add(queue);
        (total > MAX_SLOTS).then_some(total)
    }
}
