// Asserts a replay of the golden corpus (replay.mjs) against the native answers it holds:
// orders exactly, scores and heads within the corpus's tolerance, errors word for word with
// their code, and the probe ranking unchanged after every error. Returns the largest score
// and head differences.
import assert from "node:assert/strict";

/** Assert one ranking against its expected items: the order exactly, scores within `tolerance`; the largest difference. */
export function assertRanking(got, want, tolerance, where) {
  assert.deepEqual(got.map((r) => r.id), want.map((r) => r.id), `order differs: ${where}`);
  let worst = 0;
  got.forEach((r, i) => (worst = Math.max(worst, Math.abs(r.score - want[i].score))));
  // Explanations: the same terms (kind, event, item) in the same order, weights within tolerance.
  got.forEach((r, i) => {
    const term = (w) => ({ kind: w.kind, itemId: w.itemId, eventIndex: w.eventIndex });
    assert.deepEqual((r.why ?? []).map(term), (want[i].why ?? []).map(term), `${where}: why of ${r.id}`);
    assert.equal(r.why === undefined, want[i].why === undefined, `${where}: why of ${r.id} present`);
    (r.why ?? []).forEach((w, k) => (worst = Math.max(worst, Math.abs(w.weight - want[i].why[k].weight))));
  });
  assert.ok(worst <= tolerance, `${where}: score difference ${worst} > ${tolerance}`);
  return worst;
}

export function checkReplay(corpus, got) {
  const tol = corpus.tolerance;
  let scores = 0;
  let head = 0;
  assert.equal(got.reranks.length, corpus.reranks.length);
  corpus.reranks.forEach((r, i) => (scores = Math.max(scores, assertRanking(got.reranks[i], r.expected, tol, r.name))));
  corpus.learning.forEach((run, i) => {
    const expected = run.steps.filter((s) => s.call === "rerank").map((s) => s.expected);
    assert.equal(got.learning[i].answers.length, expected.length, run.name);
    expected.forEach((want, j) => (scores = Math.max(scores, assertRanking(got.learning[i].answers[j], want, tol, `${run.name}, re-rank ${j + 1}`))));
    assert.equal(got.learning[i].head.length, run.head.length, `${run.name}: head size`);
    run.head.forEach((x, k) => (head = Math.max(head, Math.abs(got.learning[i].head[k] - x))));
    assert.ok(head <= tol, `${run.name}: head differs by ${head}`);
  });
  assertRanking(got.probe, corpus.errors.probe.expected, tol, "error probe");
  corpus.errors.cases.forEach((c, i) => {
    const { error, probe } = got.errors[i];
    assert.ok(error, `${c.call}(${JSON.stringify(c.args)}) must fail`);
    assert.ok(error.isError, `${c.call}: a real Error`);
    assert.equal(error.message, c.message, `${c.call}(${JSON.stringify(c.args)})`);
    assert.equal(error.code, c.code, `${c.call}: code`);
    assert.deepEqual(probe, got.probe, `the ranking changed after ${c.call}(${JSON.stringify(c.args)})`);
  });
  return { scores, head };
}
