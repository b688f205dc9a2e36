// Nothing can leave: the wasm module imports no network capability at all.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { root } from "./helpers.mjs";

test("the wasm module imports no fetch, XHR, WebSocket, beacon or EventSource", () => {
  const module = new WebAssembly.Module(readFileSync(path.join(root, "pkg/pocketrank_bg.wasm")));
  const imports = WebAssembly.Module.imports(module).map((i) => `${i.module}.${i.name}`);
  assert.ok(imports.length > 0, "the module has imports to check");
  const network = imports.filter((name) => /fetch|xmlhttprequest|websocket|sendbeacon|beacon|eventsource|request|webtransport|rtc/i.test(name));
  assert.deepEqual(network, [], `network imports: ${network.join(", ")}`);
  // The glue can only call what the module imports; it must not reach for the network either.
  const glue = readFileSync(path.join(root, "pkg/pocketrank.js"), "utf8");
  for (const api of ["XMLHttpRequest", "WebSocket", "sendBeacon", "EventSource"]) assert.ok(!glue.includes(api), `glue mentions ${api}`);
});
