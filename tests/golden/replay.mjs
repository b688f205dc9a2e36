// Replays the golden corpus (tests/golden/games.json) through the public JS API of one
// personalizer. The same module runs in Node and in chromium; `check.mjs` compares what it
// answers with what the native build answered when the corpus was made.

/** The personal head stored in exportState() bytes: MAGIC (8) | version (u32) | model (32) | n (u32) | n × f32. */
export function headOf(state) {
  const view = new DataView(state.buffer, state.byteOffset, state.byteLength);
  const n = view.getUint32(44, true);
  return Array.from({ length: n }, (_, i) => view.getFloat32(48 + 4 * i, true));
}

const items = (ranking) => ranking.map(({ id, score, why }) => (why === undefined ? { id, score } : { id, score, why }));

async function step(p, s) {
  if (s.call === "observe") {
    await p.observe(s.event);
    return null;
  }
  if (s.call === "clearSession") {
    await p.clearSession();
    return null;
  }
  return items(await p.rerank(s.candidates, s.options ?? undefined));
}

/** Everything the personalizer `p` answers to `corpus`, in the corpus's shape. */
export async function replay(corpus, p) {
  const reranks = [];
  await p.setLearning({});
  for (const r of corpus.reranks) {
    await p.forget();
    for (const e of r.events) await p.observe(e);
    reranks.push(items(await p.rerank(r.candidates, r.options ?? undefined)));
  }
  const learning = [];
  for (const run of corpus.learning) {
    await p.forget();
    await p.setLearning(run.learning);
    const answers = [];
    for (const s of run.steps) {
      const answer = await step(p, s);
      if (answer) answers.push(answer);
    }
    learning.push({ answers, head: headOf(await p.exportState()) });
  }
  await p.forget();
  await p.setLearning({});
  for (const s of corpus.errors.setup) await step(p, s);
  const probe = await step(p, corpus.errors.probe);
  const errors = [];
  for (const c of corpus.errors.cases) {
    let error = null;
    try {
      await p[c.call](...c.args);
    } catch (e) {
      error = { isError: e instanceof Error, message: e.message, code: e.code };
    }
    errors.push({ error, probe: await step(p, corpus.errors.probe) });
  }
  return { reranks, learning, probe, errors };
}
