// TIMESTAMPTZ and GEOMETRY (Milvus 2.6) through the Node SDK, as its own suite uses them: ISO-8601
// text in (the SDK sends it as string_data), UTC / the collection's time zone out, ISO and
// INTERVAL filters, STL_SORT on TIMESTAMPTZ; WKT in and out, the ST_ predicates with and without
// an RTREE index; growing and sealed segments. Expected answers are computed here (JS Date for
// instants, plain arithmetic on integer points and axis-aligned boxes for geometry).

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DataType } from '@zilliz/milvus2-sdk-node';
import { KiteServer, ok, waitFor } from './kite.mjs';
import { ids, rng, unique, vectors } from './util.mjs';

const DIM = 4;
let server;
let client;

before(async () => {
  server = await new KiteServer({ name: 'types' }).start();
  client = server.client();
});
after(async () => {
  await server?.close();
});

const sortedIds = xs => [...xs].sort((a, b) => a - b);

async function queryIds(name, filter) {
  const q = ok(await client.query({ collection_name: name, filter, output_fields: ['id'] }), `query ${filter}`);
  return ids(q.data);
}

// ---------------------------------------------------------------------------------------------
// TIMESTAMPTZ

// How Milvus writes an instant (ms since the epoch) in a zone `offMin` minutes east of UTC:
// RFC 3339, no fractional part when it is zero, 'Z' at offset zero.
function milvusText(ms, offMin = 0) {
  let s = new Date(ms + offMin * 60_000).toISOString().replace(/\.000Z$/, 'Z').replace(/(\.\d*?)0+Z$/, '$1Z');
  if (offMin === 0) return s;
  const sign = offMin > 0 ? '+' : '-';
  const a = Math.abs(offMin);
  return s.replace(/Z$/, `${sign}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`);
}

function tsRows(from, n, seed) {
  const r = rng(seed);
  const offsets = ['Z', '+08:00', '-05:00', '+05:30', '+14:00', '-11:00'];
  return vectors(n, DIM, seed).map((vec, i) => {
    const id = from + i;
    // instants in 2024-2026 on whole seconds, sometimes with milliseconds
    const ms = Date.UTC(2024, 0, 1) + Math.floor(r() * 3 * 365 * 86400) * 1000 + (i % 3 === 0 ? 250 : 0);
    const off = offsets[id % offsets.length];
    const offMin = off === 'Z' ? 0 : (off[0] === '-' ? -1 : 1) * (Number(off.slice(1, 3)) * 60 + Number(off.slice(4, 6)));
    const text = milvusText(ms, offMin); // the same instant written in another zone
    const row = { id, vec, ms, text };
    if (id % 7 !== 0) row.ts = text; // every 7th row leaves the nullable field out: null
    return row;
  });
}

describe('TIMESTAMPTZ', () => {
  const name = unique('tz');
  let rows = [];
  const defaultText = '2020-01-01T00:00:00+01:00';
  const defaultMs = Date.parse(defaultText);

  it('creates a collection with TIMESTAMPTZ fields (nullable, default) and an STL_SORT index', async () => {
    ok(await client.createCollection({
      collection_name: name,
      fields: [
        { name: 'id', data_type: DataType.Int64, is_primary_key: true },
        { name: 'vec', data_type: DataType.FloatVector, dim: DIM },
        { name: 'ts', data_type: DataType.Timestamptz, nullable: true },
        { name: 'created', data_type: DataType.Timestamptz, default_value: defaultText },
      ],
    }), 'create');
    const d = ok(await client.describeCollection({ collection_name: name }), 'describe');
    const ts = d.schema.fields.find(f => f.name === 'ts');
    assert.equal(ts.data_type, 'Timestamptz');
    assert.equal(ts.nullable, true);
    ok(await client.createIndex([
      { collection_name: name, field_name: 'vec', index_type: 'FLAT', metric_type: 'L2' },
      { collection_name: name, field_name: 'ts', index_type: 'STL_SORT' },
    ]), 'index');
    const idx = ok(await client.describeIndex({ collection_name: name, field_name: 'ts' }), 'describe index');
    assert.equal(idx.index_descriptions[0].params.find(p => p.key === 'index_type').value, 'STL_SORT');
    ok(await client.loadCollectionSync({ collection_name: name }), 'load');
  });

  it('stores ISO text with offsets as UTC instants (growing, then sealed)', async () => {
    const first = tsRows(1, 40, 3);
    ok(await client.insert({ collection_name: name, data: first.map(({ id, vec, ts }) => (ts === undefined ? { id, vec } : { id, vec, ts })) }), 'insert');
    rows.push(...first);
    await check();
    ok(await client.flushSync({ collection_names: [name] }), 'flush');
    const more = tsRows(101, 30, 4);
    ok(await client.insert({ collection_name: name, data: more.map(({ id, vec, ts }) => (ts === undefined ? { id, vec } : { id, vec, ts })) }), 'insert 2');
    rows.push(...more);
    await check(); // sealed + growing
  });

  it('reads the same after a restart', async () => {
    await server.restart();
    await waitFor('reload', async () => (await client.getLoadState({ collection_name: name })).state === 'LoadStateLoaded');
    await check();
  });

  it('formats output in the collection time zone property', async () => {
    ok(await client.releaseCollection({ collection_name: name }), 'release');
    ok(await client.alterCollectionProperties({ collection_name: name, properties: { timezone: 'Asia/Kolkata' } }), 'alter tz');
    ok(await client.loadCollectionSync({ collection_name: name }), 'load');
    const q = ok(await client.query({ collection_name: name, filter: 'id > 0', output_fields: ['id', 'ts', 'created'] }), 'query');
    for (const got of q.data) {
      const exp = rows.find(r => r.id === Number(got.id));
      assert.equal(got.ts, exp.ts === undefined ? null : milvusText(exp.ms, 330), `row ${got.id}`);
      assert.equal(got.created, milvusText(defaultMs, 330));
    }
    // a naive literal in a filter is read in the collection's zone too
    const pivot = rows[5].ms;
    const naive = new Date(pivot + 330 * 60_000).toISOString().replace(/\.\d+Z$/, '');
    const want = rows.filter(r => r.ts !== undefined && r.ms >= Math.floor(pivot / 1000) * 1000).map(r => r.id);
    assert.deepEqual(await queryIds(name, `ts >= ISO '${naive}'`), sortedIds(want));
  });

  async function check() {
    const q = ok(await client.query({ collection_name: name, filter: 'id > 0', output_fields: ['id', 'ts', 'created'] }), 'query');
    assert.deepEqual(ids(q.data), sortedIds(rows.map(r => r.id)));
    for (const got of q.data) {
      const exp = rows.find(r => r.id === Number(got.id));
      assert.equal(got.ts, exp.ts === undefined ? null : milvusText(exp.ms, 0), `row ${got.id} (sent ${exp.ts})`);
      assert.equal(got.created, milvusText(defaultMs, 0), `default of row ${got.id}`);
    }
    const set = rows.filter(r => r.ts !== undefined);
    const pivot = rows[3].ms;
    const pivotText = milvusText(pivot, 480); // the pivot written at +08:00
    const day = 86400_000;
    const cases = {
      [`ts > ISO '${pivotText}'`]: r => r.ms > pivot,
      [`ts <= ISO '${pivotText}'`]: r => r.ms <= pivot,
      [`ts == ISO '${rows[1].text}'`]: r => r.ms === rows[1].ms,
      [`ts != ISO '${rows[1].text}'`]: r => r.ms !== rows[1].ms,
      [`ts + INTERVAL 'P1D' > ISO '${milvusText(pivot + day, -300)}'`]: r => r.ms + day > pivot + day,
      [`ts - INTERVAL 'PT36H' >= ISO '${milvusText(pivot, 0)}'`]: r => r.ms - 36 * 3600_000 >= pivot,
      [`ts > ISO '${pivotText}' and id < 120`]: r => r.ms > pivot && r.id < 120,
    };
    for (const [expr, pred] of Object.entries(cases)) {
      assert.deepEqual(await queryIds(name, expr), sortedIds(set.filter(pred).map(r => r.id)), expr);
    }
    assert.deepEqual(await queryIds(name, 'ts is null'), sortedIds(rows.filter(r => r.ts === undefined).map(r => r.id)));
    // filtered search carries the text out too
    const s = ok(await client.search({
      collection_name: name, data: rows[2].vec, limit: 5, filter: `ts <= ISO '${pivotText}'`, output_fields: ['id', 'ts'],
    }), 'search');
    assert.ok(s.results.length > 0);
    for (const h of s.results) {
      const exp = rows.find(r => r.id === Number(h.id));
      assert.ok(exp.ts !== undefined && exp.ms <= pivot, `hit ${h.id} does not match the filter`);
      assert.equal(h.ts, milvusText(exp.ms, 0));
    }
  }
});

// ---------------------------------------------------------------------------------------------
// GEOMETRY

// Shapes: integer points and axis-aligned boxes [x1,x2]x[y1,y2] (x1<x2, y1<y2).
const wktBox = ([x1, y1, x2, y2], space = ' ') =>
  `POLYGON${space}((${x1} ${y1}, ${x2} ${y1}, ${x2} ${y2}, ${x1} ${y2}, ${x1} ${y1}))`;
const wktPoint = ([x, y], space = ' ') => `POINT${space}(${x} ${y})`;

// DE-9IM relations of a shape with a query box q, by arithmetic.
function relations(shape, q) {
  const [qx1, qy1, qx2, qy2] = q;
  if (shape.kind === 'point') {
    const [x, y] = shape.c;
    const inClosed = x >= qx1 && x <= qx2 && y >= qy1 && y <= qy2;
    const inOpen = x > qx1 && x < qx2 && y > qy1 && y < qy2;
    return {
      intersects: inClosed, within: inOpen, touches: inClosed && !inOpen,
      contains: false, equals: false, overlaps: false, crosses: false,
    };
  }
  const [x1, y1, x2, y2] = shape.c;
  const closed = x1 <= qx2 && qx1 <= x2 && y1 <= qy2 && qy1 <= y2;
  const open = x1 < qx2 && qx1 < x2 && y1 < qy2 && qy1 < y2;
  const within = x1 >= qx1 && x2 <= qx2 && y1 >= qy1 && y2 <= qy2;
  const contains = qx1 >= x1 && qx2 <= x2 && qy1 >= y1 && qy2 <= y2;
  return {
    intersects: closed, touches: closed && !open, within, contains,
    equals: within && contains, overlaps: open && !within && !contains, crosses: false,
  };
}

function geoRows(from, n, seed) {
  const r = rng(seed);
  const int = (lo, hi) => lo + Math.floor(r() * (hi - lo + 1));
  return vectors(n, DIM, seed).map((vec, i) => {
    const id = from + i;
    let shape = null;
    if (id % 9 === 0) shape = null; // null geometry
    else if (id % 2 === 0) shape = { kind: 'point', c: [int(0, 20), int(0, 20)] };
    else {
      const x1 = int(0, 17); const y1 = int(0, 17);
      shape = { kind: 'box', c: [x1, y1, x1 + int(1, 6), y1 + int(1, 6)] };
    }
    return { id, vec, shape };
  });
}

const wktOf = (shape, space) => (shape.kind === 'point' ? wktPoint(shape.c, space) : wktBox(shape.c, space));

for (const rtree of [false, true]) {
  describe(`GEOMETRY${rtree ? ' with an RTREE index' : ''}`, () => {
    const name = unique(rtree ? 'geo_rtree' : 'geo');
    let rows = [];

    it('creates a collection with GEOMETRY fields', async () => {
      ok(await client.createCollection({
        collection_name: name,
        fields: [
          { name: 'id', data_type: DataType.Int64, is_primary_key: true },
          { name: 'vec', data_type: DataType.FloatVector, dim: DIM },
          { name: 'geo', data_type: DataType.Geometry, nullable: true },
          // no GEOMETRY default here: SDK 2.6.17 sends it in a ValueField member its own
          // proto lacks (geometryWktData), so the server receives an empty default and refuses
          // it ("default value type mismatches field schema type")
        ],
      }), 'create');
      const d = ok(await client.describeCollection({ collection_name: name }), 'describe');
      assert.equal(d.schema.fields.find(f => f.name === 'geo').data_type, 'Geometry');
      const indexes = [{ collection_name: name, field_name: 'vec', index_type: 'FLAT', metric_type: 'L2' }];
      if (rtree) indexes.push({ collection_name: name, field_name: 'geo', index_type: 'RTREE' });
      ok(await client.createIndex(indexes), 'index');
      ok(await client.loadCollectionSync({ collection_name: name }), 'load');
    });

    it('stores WKT and answers the ST_ predicates (growing, sealed, both)', async () => {
      const first = geoRows(1, 60, rtree ? 21 : 20);
      ok(await client.insert({
        collection_name: name,
        data: first.map(r => (r.shape ? { id: r.id, vec: r.vec, geo: wktOf(r.shape, '') } : { id: r.id, vec: r.vec, geo: null })),
      }), 'insert');
      rows.push(...first);
      await check();
      ok(await client.flushSync({ collection_names: [name] }), 'flush');
      await check();
      const more = geoRows(201, 40, 22);
      ok(await client.insert({
        collection_name: name,
        // null as a missing key this time (the first batch sent an explicit null)
        data: more.map(r => (r.shape ? { id: r.id, vec: r.vec, geo: wktOf(r.shape, ' ') } : { id: r.id, vec: r.vec })),
      }), 'insert 2');
      rows.push(...more);
      await check();
      if (rtree) { // after a restart: WAL replay for the growing rows, the RTREE index reloaded
        await server.restart();
        await waitFor('reload', async () => (await client.getLoadState({ collection_name: name })).state === 'LoadStateLoaded');
        await check();
      }
    });

    async function check() {
      const q = ok(await client.query({ collection_name: name, filter: 'id > 0', output_fields: ['id', 'geo'] }), 'query');
      assert.deepEqual(ids(q.data), sortedIds(rows.map(r => r.id)));
      for (const got of q.data) {
        const exp = rows.find(r => r.id === Number(got.id));
        assert.equal(got.geo, exp.shape ? wktOf(exp.shape, ' ') : null, `row ${got.id}`);
      }
      const withShape = rows.filter(r => r.shape);
      for (const qbox of [[4, 4, 10, 12], [0, 0, 20, 20], [7, 3, 9, 5]]) {
        const wq = wktBox(qbox, '');
        for (const [fn, rel] of [['ST_INTERSECTS', 'intersects'], ['ST_WITHIN', 'within'], ['ST_CONTAINS', 'contains'],
          ['ST_TOUCHES', 'touches'], ['ST_OVERLAPS', 'overlaps'], ['ST_EQUALS', 'equals'], ['ST_CROSSES', 'crosses']]) {
          const want = withShape.filter(r => relations(r.shape, qbox)[rel]).map(r => r.id);
          assert.deepEqual(await queryIds(name, `${fn}(geo, '${wq}')`), sortedIds(want), `${fn} ${wq}`);
        }
        const want = withShape.filter(r => relations(r.shape, qbox).intersects && r.id % 3 === 0).map(r => r.id);
        assert.deepEqual(await queryIds(name, `ST_INTERSECTS(geo, '${wq}') and id % 3 == 0`), sortedIds(want));
      }
      // a shape equal to a stored box
      const someBox = withShape.find(r => r.shape.kind === 'box');
      const eq = withShape.filter(r => relations(r.shape, someBox.shape.c).equals).map(r => r.id);
      assert.deepEqual(await queryIds(name, `ST_EQUALS(geo, '${wktBox(someBox.shape.c)}')`), sortedIds(eq));
      assert.deepEqual(await queryIds(name, 'geo is null'), sortedIds(rows.filter(r => !r.shape).map(r => r.id)));
      // filtered search
      const qbox = [4, 4, 10, 12];
      const s = ok(await client.search({
        collection_name: name, data: rows[0].vec, limit: 5, filter: `ST_INTERSECTS(geo, '${wktBox(qbox)}')`, output_fields: ['id', 'geo'],
      }), 'search');
      assert.ok(s.results.length > 0);
      for (const h of s.results) {
        const exp = rows.find(r => r.id === Number(h.id));
        assert.ok(exp.shape && relations(exp.shape, qbox).intersects, `hit ${h.id}`);
        assert.equal(h.geo, wktOf(exp.shape, ' '));
      }
    }
  });
}

describe('GEOMETRY ST_DWITHIN', () => {
  it('measures great-circle meters', async () => {
    const name = unique('geo_dwithin');
    ok(await client.createCollection({
      collection_name: name,
      fields: [
        { name: 'id', data_type: DataType.Int64, is_primary_key: true },
        { name: 'vec', data_type: DataType.FloatVector, dim: DIM },
        { name: 'geo', data_type: DataType.Geometry },
      ],
    }), 'create');
    ok(await client.createIndex({ collection_name: name, field_name: 'vec', index_type: 'FLAT', metric_type: 'L2' }), 'index');
    ok(await client.loadCollectionSync({ collection_name: name }), 'load');
    const pts = Array.from({ length: 12 }, (_, i) => [116.4 + 0.01 * i, 39.9 + 0.005 * i]);
    ok(await client.insert({ collection_name: name, data: pts.map((p, i) => ({ id: i, vec: [0, 0, 0, 0], geo: wktPoint(p) })) }), 'insert');
    const hav = (lat1, lon1, lat2, lon2) => {
      const rad = x => (x * Math.PI) / 180;
      const a = Math.sin(rad(lat2 - lat1) / 2) ** 2 + Math.cos(rad(lat1)) * Math.cos(rad(lat2)) * Math.sin(rad(lon2 - lon1) / 2) ** 2;
      return 6371000 * 2 * Math.atan2(Math.sqrt(a), Math.sqrt(1 - a));
    };
    for (const dist of [0, 1500, 4000, 9000]) {
      const want = pts.map((p, i) => [i, hav(p[1], p[0], 39.9, 116.4)]).filter(([, d]) => d <= dist).map(([i]) => i);
      const q = ok(await client.query({ collection_name: name, filter: `ST_DWITHIN(geo, 'POINT(116.4 39.9)', ${dist})`, output_fields: ['id'] }), 'dwithin');
      assert.deepEqual(ids(q.data), want, `within ${dist} m`);
    }
  });
});
