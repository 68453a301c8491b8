// Helpers shared by the Node SDK tests: deterministic data, brute-force expectations.

import assert from 'node:assert/strict';

// A small seeded PRNG (mulberry32), so every run inserts the same rows.
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Float32-exact vectors (values k/64), so what the server stores equals what the test holds.
// No -0: the SDK copies rows of a dynamic-field collection through JSON, which writes -0 as 0.
export function vectors(n, dim, seed) {
  const r = rng(seed);
  return Array.from({ length: n }, () => Array.from({ length: dim }, () => Math.round((r() * 2 - 1) * 64) / 64 + 0));
}

export function l2(a, b) {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return s;
}

// The ids of the k rows nearest (squared L2) to q among `rows` (each {id, vec}), ties by id.
export function nearestIds(rows, q, k, vecKey = 'vec') {
  return rows
    .map(r => ({ id: r.id, d: l2(r[vecKey], q) }))
    .sort((x, y) => x.d - y.d || x.id - y.id)
    .slice(0, k)
    .map(x => x.id);
}

let counter = 0;
export function unique(prefix) {
  counter += 1;
  return `${prefix}_${process.pid}_${counter}`;
}

export const ids = rows => rows.map(r => Number(r.id)).sort((a, b) => a - b);
export const sorted = xs => [...xs].sort((a, b) => a - b);

// search results of one query (SDK 2.6: results is an array of hits for nq=1).
export function hitIds(res) {
  return res.results.map(h => Number(h.id));
}

// Compares a search's hits with the brute-force answer: the same distances in order (ids may
// swap only where distances tie), and the same id set where there are no ties at the cut.
export function assertSameHits(res, rows, q, k, vecKey = 'vec') {
  const want = rows
    .map(r => ({ id: r.id, d: l2(r[vecKey], q) }))
    .sort((x, y) => x.d - y.d || x.id - y.id)
    .slice(0, k);
  const got = res.results.map(h => ({ id: Number(h.id), d: Number(h.score) }));
  assert.equal(got.length, want.length, `hit count: got ${JSON.stringify(got)} want ${JSON.stringify(want)}`);
  for (let i = 0; i < want.length; i++) {
    assert.ok(Math.abs(got[i].d - want[i].d) < 1e-4,
      `hit ${i}: distance ${got[i].d} (id ${got[i].id}), expected ${want[i].d} (id ${want[i].id})`);
    const d = rows.find(r => r.id === got[i].id);
    assert.ok(d, `hit ${got[i].id} is not a row that should match: ${JSON.stringify(res.results[i])}`);
    assert.ok(Math.abs(l2(d[vecKey], q) - got[i].d) < 1e-4, `hit ${got[i].id}'s distance is not its own`);
  }
}
