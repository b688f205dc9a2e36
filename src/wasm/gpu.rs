//! The WebGPU build's half of backend choice: acquire the page's device, put the bundle on it,
//! and keep it only when asked for or when a warm-up shows it faster than the CPU.

use std::cell::RefCell;

use wasm_bindgen::prelude::*;

use super::{CreateOptions, apply, js_error, now_ms};
use crate::backend::{Asked, BackendName, Decision, Evidence, WARMUP_CANDIDATES, decide};

/// Kernel launches gathered into one GPU submission, above the ~120 of one re-rank. Measured
/// with `node benches/browser.mjs webgpu`: 8 submissions a re-rank at burn's default of 32, 5
/// with this (uploads of the inputs end a submission too).
const TASKS_PER_SUBMIT: usize = 256;

thread_local! {
    /// burn registers one wgpu runtime per page; every personalizer shares its device.
    static GPU: RefCell<Option<burn::tensor::Device>> = const { RefCell::new(None) };
}

/// The page's WebGPU device, acquired on first use.
async fn gpu_device() -> Result<burn::tensor::Device, String> {
    if let Some(device) = GPU.with(|gpu| gpu.borrow().clone()) {
        return Ok(device);
    }
    let device = burn::tensor::Device::wgpu_options()
        .tasks_max(TASKS_PER_SUBMIT)
        .init_async()
        .await
        .map_err(|e| format!("{e}"))?;
    GPU.with(|gpu| *gpu.borrow_mut() = Some(device.clone()));
    Ok(device)
}

/// Put the bundle on the GPU when asked, or when the warm-up shows it faster: the evidence is
/// gathered here, the choice is [`crate::backend::decide`]'s.
pub(super) async fn choose_backend(personalizer: &mut crate::Personalizer, bundle: &crate::Bundle, options: &CreateOptions) -> Result<(), JsValue> {
    let asked = options.backend;
    if let Some(problem) = &options.adapter_problem {
        return apply(personalizer, decide(asked, Evidence::Absent(problem)));
    }
    if asked == Asked::Cpu {
        return apply(personalizer, decide(asked, Evidence::Ready));
    }
    let device = match gpu_device().await {
        Ok(device) => device,
        Err(e) => return apply(personalizer, decide(asked, Evidence::DeviceFailed(&e))),
    };
    let accelerator = personalizer.accelerator(bundle, device).map_err(js_error)?;
    let decision = match decide(asked, Evidence::Ready) {
        Decision::Measure => match personalizer.time_backends(&accelerator, WARMUP_CANDIDATES, options.warmup_runs, &now_ms).await {
            Ok(timings) => decide(asked, Evidence::Timed(timings)),
            Err(e) => decide(asked, Evidence::WarmupFailed(&e.to_string())),
        },
        other => other,
    };
    match decision {
        Decision::Use(report) if report.name == BackendName::Webgpu => personalizer.use_accelerator(accelerator, report).map_err(js_error),
        other => apply(personalizer, other),
    }
}
