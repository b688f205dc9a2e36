// Golden-corpus checks shared by the browser tests: rankings against the native ones.
import assert from "node:assert/strict";

/** Assert the native order on every session and scores within `tolerance`; the largest difference. */
export function assertGolden(sessions, rankings, tolerance) {
  let worst = 0;
  sessions.forEach((session, i) => {
    assert.deepEqual(rankings[i].map((r) => r.id), session.expected.map((e) => e.id), `order differs for user ${session.user}`);
    rankings[i].forEach((r, j) => (worst = Math.max(worst, Math.abs(r.score - session.expected[j].score))));
  });
  assert.ok(worst <= tolerance, `largest score difference ${worst} > ${tolerance}`);
  return worst;
}
