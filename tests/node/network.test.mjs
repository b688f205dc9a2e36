// Nothing can leave: neither wasm build imports a network capability. The WebGPU build
// imports WebGPU (requestAdapter, requestDevice, ...), which is not a network.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { root } from "./helpers.mjs";

const NETWORK = /fetch|xmlhttprequest|websocket|sendbeacon|beacon|eventsource|request|webtransport|rtc/i;
const WEBGPU = /request_?adapter|request_?device/i;

for (const build of ["cpu", "webgpu"]) {
  const file = path.join(root, `pkg/${build}/pocketrank_${build}_bg.wasm`);
  test(`the ${build} wasm imports no fetch, XHR, WebSocket, beacon or EventSource`, () => {
    const module = new WebAssembly.Module(readFileSync(file));
    const imports = WebAssembly.Module.imports(module).map((i) => `${i.module}.${i.name}`);
    assert.ok(imports.length > 0, "the module has imports to check");
    const network = imports.filter((name) => NETWORK.test(name.replace(WEBGPU, "")));
    assert.deepEqual(network, [], `network imports: ${network.join(", ")}`);
    // The glue can only call what the module imports; it must not reach for the network either.
    const glue = readFileSync(path.join(root, `pkg/${build}/pocketrank_${build}.js`), "utf8");
    for (const api of ["XMLHttpRequest", "WebSocket", "sendBeacon", "EventSource"]) assert.ok(!glue.includes(api), `glue mentions ${api}`);
  });
}
