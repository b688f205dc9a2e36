// Memory and order under load in Node (CPU build): N re-ranks (default 100,000; 100 candidates,
// 50 events) with the wasm memory after a 1,000-call warm-up and at the end, the same with the
// candidates sliding over 20,000 distinct items (the item cache full and evicting); 100 calls
// fired without awaiting; 100 personalizers created and freed.
//   node benches/load.mjs [N]        (after ./build.sh; real Games titles from ../shared/data)
import os from "node:os";
import { loadPackage, shippedBundle, gamesItems, cpuMemory } from "../tests/node/helpers.mjs";
import { sustained, unawaited, createFree } from "./load-core.mjs";

const calls = Number(process.argv[2] ?? 100_000);
const items = gamesItems();
const { Personalizer } = await loadPackage();
const bytes = await cpuMemory();
const bundle = shippedBundle();
const f = (x) => x.toFixed(2);
console.log(`machine: ${os.cpus()[0].model}, ${os.cpus().length} cores; Node ${process.version}`);
const s = await sustained(Personalizer, bundle, items, { calls, memory: bytes });
console.log(`${s.calls} re-ranks after ${s.warmup} warm-up (${s.backend}): wasm memory ${f(s.memoryWarmMB)} MB warm, ${f(s.memoryEndMB)} MB at the end, growth ${f(s.growthMB)} MB; every ranking the first: ${s.sameRanking}; ${f(s.ms / s.calls)} ms a call`);
const d = await sustained(Personalizer, bundle, items, { calls, warmup: 2_000, memory: bytes, distinct: 20_000 });
console.log(`${d.calls} re-ranks over ${d.distinct} distinct items (100 a call, after ${d.warmup} warm-up calls that fill the item cache): wasm memory ${f(d.memoryWarmMB)} MB warm, ${f(d.memoryEndMB)} MB at the end, growth ${f(d.growthMB)} MB; ${f(d.ms / d.calls)} ms a call`);
const u = await unawaited(Personalizer, bundle, items);
console.log(`${u.n} calls fired without awaiting: settled in order ${u.inOrder}, answers as awaited ${u.sameAnswers}`);
const c = await createFree(Personalizer, bundle, items, { memory: bytes });
console.log(`${c.n} personalizers created and freed: wasm memory ${f(c.memoryAfter10MB)} MB after 10, ${f(c.memoryEndMB)} MB after ${c.n}, growth ${f(c.growthMB)} MB`);
