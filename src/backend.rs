//! Which backend scores, and why: the one place the choice is made. The page (or the wasm
//! layer) only reports what it found (no WebGPU, a device that failed, warm-up timings);
//! [`decide`] turns the shopper's request and that evidence into the backend and its reason.

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// A compute backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendName {
    /// burn's flex backend, in wasm or natively.
    Cpu,
    /// burn-wgpu on the browser's WebGPU device.
    Webgpu,
}

/// What the page asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Asked {
    /// WebGPU only where an adapter exists and a warm-up shows it faster.
    #[default]
    Auto,
    /// The CPU.
    Cpu,
    /// WebGPU, or an error.
    Webgpu,
}

/// Warm-up medians, ms: (CPU, accelerator).
pub type Timings = (f64, f64);

/// Which backend scores, and why. `cpu_ms`/`webgpu_ms` are the warm-up timings the choice
/// was made on (median milliseconds of one re-rank), when it was measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BackendReport {
    /// The backend that scores.
    pub name: BackendName,
    /// Why this backend.
    pub reason: String,
    /// Warm-up median on the CPU, ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_ms: Option<f64>,
    /// Warm-up median on WebGPU, ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webgpu_ms: Option<f64>,
}

impl BackendReport {
    /// A report of `name` for `reason`, with the timings it was chosen on.
    pub fn new(name: BackendName, reason: impl Into<String>, timings: Option<Timings>) -> BackendReport {
        BackendReport { name, reason: reason.into(), cpu_ms: timings.map(|t| t.0), webgpu_ms: timings.map(|t| t.1) }
    }

    /// The CPU, after the accelerator failed with `problem` in the middle of a call.
    pub fn after_failure(problem: impl std::fmt::Display) -> BackendReport {
        BackendReport::new(BackendName::Cpu, format!("WebGPU failed ({problem}); switched to the CPU"), None)
    }
}

/// What is known about WebGPU so far.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Evidence<'a> {
    /// There is none here: the page's reason (no `navigator.gpu`, no adapter), or this build
    /// has none.
    Absent(&'a str),
    /// Requesting the device failed.
    DeviceFailed(&'a str),
    /// A device is ready; nothing measured yet.
    Ready,
    /// The warm-up on the device failed.
    WarmupFailed(&'a str),
    /// The warm-up's medians.
    Timed(Timings),
}

/// What to do next.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Score with this backend.
    Use(BackendReport),
    /// Time both backends (a warm-up) and decide again with [`Evidence::Timed`].
    Measure,
    /// The request cannot be met.
    Refuse(Error),
}

/// The warm-up: candidates of a typical server list.
pub const WARMUP_CANDIDATES: usize = 100;

/// The choice for `asked`, given `evidence`.
pub fn decide(asked: Asked, evidence: Evidence) -> Decision {
    let cpu = |reason: String, timings| Decision::Use(BackendReport::new(BackendName::Cpu, reason, timings));
    let gpu = |reason: String, timings| Decision::Use(BackendReport::new(BackendName::Webgpu, reason, timings));
    match (asked, evidence) {
        (Asked::Cpu, _) => cpu("the CPU was asked for".into(), None),
        (Asked::Webgpu, Evidence::Absent(problem)) => Decision::Refuse(Error::invalid("options.backend", format!("\"webgpu\" was asked for, but {problem}"))),
        (Asked::Webgpu, Evidence::DeviceFailed(problem)) => Decision::Refuse(Error::invalid("options.backend", format!("WebGPU is not available here: {problem}"))),
        (Asked::Webgpu, _) => gpu("WebGPU was asked for".into(), None),
        (Asked::Auto, Evidence::Absent(problem)) => cpu(problem.into(), None),
        (Asked::Auto, Evidence::DeviceFailed(problem)) => cpu(format!("no WebGPU device ({problem})"), None),
        (Asked::Auto, Evidence::Ready) => Decision::Measure,
        (Asked::Auto, Evidence::WarmupFailed(problem)) => cpu(format!("WebGPU failed its warm-up ({problem})"), None),
        (Asked::Auto, Evidence::Timed(timings)) => {
            let (cpu_ms, gpu_ms) = timings;
            let measured = format!("warm-up, one re-rank of {WARMUP_CANDIDATES} candidates after a new event: WebGPU {gpu_ms:.2} ms, CPU {cpu_ms:.2} ms");
            if gpu_ms < cpu_ms { gpu(format!("WebGPU is faster here ({measured})"), Some(timings)) } else { cpu(format!("the CPU is faster here ({measured})"), Some(timings)) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(d: Decision) -> Option<BackendName> {
        match d {
            Decision::Use(report) => Some(report.name),
            _ => None,
        }
    }

    #[test]
    fn every_request_meets_its_evidence() {
        assert_eq!(name(decide(Asked::Cpu, Evidence::Ready)), Some(BackendName::Cpu));
        assert_eq!(decide(Asked::Auto, Evidence::Absent("no adapter")), Decision::Use(BackendReport::new(BackendName::Cpu, "no adapter", None)));
        let Decision::Refuse(e) = decide(Asked::Webgpu, Evidence::Absent("this browser has no WebGPU")) else { panic!("refused") };
        assert_eq!(e.to_string(), "options.backend: \"webgpu\" was asked for, but this browser has no WebGPU");
        assert_eq!(decide(Asked::Auto, Evidence::Ready), Decision::Measure);
        assert_eq!(name(decide(Asked::Webgpu, Evidence::Ready)), Some(BackendName::Webgpu));
        assert_eq!(name(decide(Asked::Auto, Evidence::Timed((10.0, 5.0)))), Some(BackendName::Webgpu));
        // A tie goes to the CPU: it needs no device that can be lost.
        assert_eq!(name(decide(Asked::Auto, Evidence::Timed((5.0, 5.0)))), Some(BackendName::Cpu));
        assert_eq!(name(decide(Asked::Auto, Evidence::WarmupFailed("lost"))), Some(BackendName::Cpu));
    }
}
