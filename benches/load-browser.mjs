// Runs www/load.html in headless chromium: 10,000 re-ranks on the CPU build and 1,000 on
// WebGPU (SwiftShader here), each with the same slate and with slates sliding over 20,000
// items (new items every call: the encoders run, on the GPU for WebGPU), with wasm memory and
// live GPU buffers (createBuffer minus destroy, counted at the browser's API) after warm-up and
// at the end; 100 calls fired without awaiting; 100 personalizers (40 on WebGPU) created and
// freed.
//   node benches/load-browser.mjs [cpu|webgpu ...]     (after ./build.sh)
import os from "node:os";
import { serve, launch } from "../tests/browser/harness.mjs";

const CALLS = { cpu: 10_000, webgpu: 1_000 };
const CREATES = { cpu: 100, webgpu: 40 };
const server = await serve();
console.log(`machine: ${os.cpus()[0].model}, ${os.cpus().length} cores`);
try {
  const asked = process.argv.slice(2);
  for (const backend of asked.length ? asked : ["cpu", "webgpu"]) {
    const browser = await launch({ webgpu: backend === "webgpu" });
    const page = await browser.newPage();
    await page.goto(`${server.url}/www/load.html?backend=${backend}&calls=${CALLS[backend]}&creates=${CREATES[backend]}`);
    await page.waitForFunction(() => window.result !== undefined, null, { timeout: 3_600_000 });
    const r = await page.evaluate(() => window.result);
    console.log(`${backend} (${await browser.version()}):`, JSON.stringify(r, null, 1));
    await browser.close();
  }
} finally {
  await server.close();
}
