//! The WebGPU build's half of backend choice: acquire the page's device, put the bundle on it,
//! and keep it only when asked for or when a warm-up shows it faster than the CPU.

use std::cell::RefCell;

use wasm_bindgen::prelude::*;

use super::{Backend, CreateOptions, js_error};

/// Candidates in the warm-up that chooses a backend: the size of a typical server list.
const WARMUP_CANDIDATES: usize = 100;

/// Kernel launches gathered into one GPU submission, above the ~120 of one re-rank. Measured
/// with `node benches/browser.mjs webgpu`: 8 submissions a re-rank at burn's default of 32, 5
/// with this (uploads of the inputs end a submission too).
const TASKS_PER_SUBMIT: usize = 256;

/// Milliseconds from the page's monotonic clock.
fn now_ms() -> f64 {
    let global = js_sys::global();
    let performance = js_sys::Reflect::get(&global, &"performance".into()).unwrap_or(JsValue::UNDEFINED);
    js_sys::Reflect::get(&performance, &"now".into())
        .ok()
        .and_then(|now| now.dyn_into::<js_sys::Function>().ok())
        .and_then(|now| now.call0(&performance).ok())
        .and_then(|ms| ms.as_f64())
        .unwrap_or_else(js_sys::Date::now)
}

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

/// Put the bundle on the GPU when asked, or when the warm-up shows it faster.
pub(super) async fn choose_backend(personalizer: &mut crate::Personalizer, bundle: &crate::Bundle, options: &CreateOptions) -> Result<(), JsError> {
    if options.backend == Backend::Cpu {
        personalizer.use_cpu("the CPU was asked for", None);
        return Ok(());
    }
    let device = match gpu_device().await {
        Ok(device) => device,
        Err(e) if options.backend == Backend::Webgpu => return Err(JsError::new(&format!("options.backend: WebGPU is not available here: {e}"))),
        Err(e) => {
            personalizer.use_cpu(format!("no WebGPU device ({e})"), None);
            return Ok(());
        }
    };
    let accelerator = crate::Ranker::from_bundle(bundle, device).map_err(js_error)?;
    if options.backend == Backend::Webgpu {
        return personalizer.use_accelerator(accelerator, "WebGPU was asked for", None).map_err(js_error);
    }
    let timings = match personalizer.time_backends(&accelerator, WARMUP_CANDIDATES, options.warmup_runs, &now_ms).await {
        Ok(timings) => timings,
        Err(e) => {
            personalizer.use_cpu(format!("WebGPU failed its warm-up ({e})"), None);
            return Ok(());
        }
    };
    let (cpu, gpu) = timings;
    let measured = format!("warm-up, one re-rank of {WARMUP_CANDIDATES} candidates: WebGPU {gpu:.2} ms, CPU {cpu:.2} ms");
    if gpu < cpu {
        personalizer.use_accelerator(accelerator, format!("WebGPU is faster here ({measured})"), Some(timings)).map_err(js_error)
    } else {
        personalizer.use_cpu(format!("the CPU is faster here ({measured})"), Some(timings));
        Ok(())
    }
}
