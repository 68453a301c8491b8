// Nullable and default values as the Node SDK 2.6 sends them (a valid_data array on every
// nullable/defaulted column; scalar nulls left out of the column; a null JSON value kept in the
// column as zero bytes with valid_data false), nullable vector fields, and add_collection_field
// on a loaded collection (old rows read the default or null). Growing and sealed segments.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DataType } from '@zilliz/milvus2-sdk-node';
import { KiteServer, ok, waitFor } from './kite.mjs';
import { assertSameHits, ids, rng, unique, vectors } from './util.mjs';

const DIM = 4;
let server;
let client;

before(async () => {
  server = await new KiteServer({ name: 'nullable' }).start();
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
const f32 = x => Math.fround(x);

describe('nullable and default values on every scalar type', () => {
  const name = unique('nullable');
  // field -> [type extras, default value, value generator]
  const FIELDS = {
    b: [{ data_type: DataType.Bool }, true, (i) => i % 2 === 0],
    i8: [{ data_type: DataType.Int8 }, -8, i => (i % 200) - 100],
    i16: [{ data_type: DataType.Int16 }, 1600, i => i * 3 - 500],
    i32: [{ data_type: DataType.Int32 }, 32, i => i * 1000],
    i64: [{ data_type: DataType.Int64 }, 64, i => i * 7],
    fl: [{ data_type: DataType.Float }, 1.5, i => f32(i / 4)],
    db: [{ data_type: DataType.Double }, 2.25, i => i / 3],
    s: [{ data_type: DataType.VarChar, max_length: 16 }, 'dflt', i => `s${i}`],
  };
  let rows = [];

  it('creates nullable fields and fields with defaults', async () => {
    const fields = [
      { name: 'id', data_type: DataType.Int64, is_primary_key: true },
      { name: 'vec', data_type: DataType.FloatVector, dim: DIM },
      { name: 'j', data_type: DataType.JSON, nullable: true },
      { name: 'arr', data_type: DataType.Array, element_type: DataType.Int64, max_capacity: 8, nullable: true },
    ];
    for (const [f, [extra, dflt]] of Object.entries(FIELDS)) {
      fields.push({ name: `n_${f}`, nullable: true, ...extra });
      fields.push({ name: `d_${f}`, default_value: dflt, ...extra });
    }
    ok(await client.createCollection({ collection_name: name, fields }), 'create');
    const d = ok(await client.describeCollection({ collection_name: name }), 'describe');
    for (const [f, [, dflt]] of Object.entries(FIELDS)) {
      const nf = d.schema.fields.find(x => x.name === `n_${f}`);
      assert.equal(nf.nullable, true, `n_${f}`);
      const df = d.schema.fields.find(x => x.name === `d_${f}`);
      const got = typeof dflt === 'bigint' ? BigInt(df.default_value) : df.default_value;
      assert.equal(typeof dflt === 'number' ? Number(got) : got, dflt, `default of d_${f}: ${JSON.stringify(df.default_value)}`);
    }
    ok(await client.createIndex({ collection_name: name, field_name: 'vec', index_type: 'FLAT', metric_type: 'L2' }), 'index');
    ok(await client.loadCollectionSync({ collection_name: name }), 'load');
  });

  function makeRows(from, n, seed) {
    const r = rng(seed);
    return vectors(n, DIM, seed).map((vec, k) => {
      const id = from + k;
      const row = { id, vec };
      for (const [f, [, , gen]] of Object.entries(FIELDS)) {
        // three ways to leave a value out: an explicit null, a missing key, or a value
        const pick = Math.floor(r() * 3);
        if (pick === 0) row[`n_${f}`] = null;
        else if (pick === 2) row[`n_${f}`] = gen(id);
        const pickD = Math.floor(r() * 3);
        if (pickD === 0) row[`d_${f}`] = null;
        else if (pickD === 2) row[`d_${f}`] = gen(id);
      }
      // The SDK keeps a null JSON value in the column as zero bytes but drops a missing key,
      // so one JSON column is neither dense nor compacted: valid_data says which rows are
      // null (an old Kite refused such inserts as "invalid JSON in field j").
      const pj = id % 4;
      if (pj === 0) row.j = null; // the SDK sends zero bytes with valid_data false
      else if (pj === 1) row.j = { k: id, tag: `t${id % 3}` };
      else if (pj === 2) row.j = [id, 'x']; // a JSON array is a value too
      // pj === 3: key left out
      if (id % 3 === 0) row.arr = null;
      else if (id % 3 === 1) row.arr = [id, id + 1];
      return row;
    });
  }

  const expected = (row, field) => {
    if (field.startsWith('n_')) return row[field] === undefined ? null : row[field];
    const dflt = FIELDS[field.slice(2)][1];
    return row[field] === undefined || row[field] === null ? dflt : row[field];
  };

  async function check() {
    const out = ['id', 'j', 'arr', ...Object.keys(FIELDS).flatMap(f => [`n_${f}`, `d_${f}`])];
    const q = ok(await client.query({ collection_name: name, filter: 'id > 0', output_fields: out }), 'query');
    assert.deepEqual(ids(q.data), sortedIds(rows.map(r => r.id)));
    for (const got of q.data) {
      const row = rows.find(r => r.id === Number(got.id));
      for (const f of Object.keys(FIELDS)) {
        for (const name of [`n_${f}`, `d_${f}`]) {
          let v = got[name];
          if (f === 'i64' && v !== null) v = Number(v);
          assert.deepEqual(v, expected(row, name), `row ${row.id} field ${name}`);
        }
      }
      assert.deepEqual(got.j, row.j === undefined ? null : row.j, `row ${row.id} json`);
      assert.deepEqual(got.arr === null ? null : got.arr.map(Number), row.arr === undefined ? null : row.arr, `row ${row.id} array`);
    }
    // filters on nulls and on defaults
    for (const f of Object.keys(FIELDS)) {
      assert.deepEqual(await queryIds(name, `n_${f} is null`), sortedIds(rows.filter(r => expected(r, `n_${f}`) === null).map(r => r.id)), `n_${f} is null`);
      assert.deepEqual(await queryIds(name, `n_${f} is not null`), sortedIds(rows.filter(r => expected(r, `n_${f}`) !== null).map(r => r.id)), `n_${f} is not null`);
    }
    const dflt32 = FIELDS.i32[1];
    assert.deepEqual(await queryIds(name, `d_i32 == ${dflt32}`), sortedIds(rows.filter(r => expected(r, 'd_i32') === dflt32).map(r => r.id)));
    assert.deepEqual(await queryIds(name, 'd_s == "dflt"'), sortedIds(rows.filter(r => expected(r, 'd_s') === 'dflt').map(r => r.id)));
    // comparisons never match a null
    assert.deepEqual(await queryIds(name, 'n_i32 >= 0'), sortedIds(rows.filter(r => expected(r, 'n_i32') !== null).map(r => r.id)));
    assert.deepEqual(await queryIds(name, 'j is null'), sortedIds(rows.filter(r => r.j === undefined || r.j === null).map(r => r.id)));
    assert.deepEqual(await queryIds(name, 'j["tag"] == "t1"'), sortedIds(rows.filter(r => r.j && r.j.tag === 't1').map(r => r.id)));
    assert.deepEqual(await queryIds(name, 'arr is null'), sortedIds(rows.filter(r => !r.arr).map(r => r.id)));
  }

  it('stores what was sent (growing, sealed, both)', async () => {
    const first = makeRows(1, 60, 5);
    ok(await client.insert({ collection_name: name, data: first }), 'insert');
    rows.push(...first);
    await check();
    ok(await client.flushSync({ collection_names: [name] }), 'flush');
    await check();
    const more = makeRows(101, 30, 6);
    ok(await client.insert({ collection_name: name, data: more }), 'insert 2');
    rows.push(...more);
    await check();
  });

  it('upserts nulls over values and values over nulls', async () => {
    const changed = rows.slice(0, 6).map(r => {
      const c = { ...r };
      for (const f of Object.keys(FIELDS)) {
        c[`n_${f}`] = r[`n_${f}`] === undefined || r[`n_${f}`] === null ? FIELDS[f][2](r.id + 1) : null;
        c[`d_${f}`] = null;
      }
      c.j = r.j ? null : { k: -1 };
      return c;
    });
    ok(await client.upsert({ collection_name: name, data: changed }), 'upsert');
    rows = rows.map(r => changed.find(c => c.id === r.id) || r);
    await check();
  });

  it('reads the same after a restart', async () => {
    await server.restart();
    await waitFor('reload', async () => (await client.getLoadState({ collection_name: name })).state === 'LoadStateLoaded');
    await check();
  });

  it('refuses a null in a field that is neither nullable nor defaulted', async () => {
    const res = await client.insert({ collection_name: name, data: [{ id: 999, vec: null }] }).catch(e => ({ thrown: String(e) }));
    // the SDK itself cannot build a null float vector column (it spreads the value)
    assert.ok(res.thrown || res.status.error_code !== 'Success', JSON.stringify(res));
  });
});

describe('nullable vector fields', () => {
  it('a vector field added as nullable reads null for old rows and never searches them', async () => {
    const name = unique('nullvec');
    ok(await client.createCollection({
      collection_name: name,
      fields: [
        { name: 'id', data_type: DataType.Int64, is_primary_key: true },
        { name: 'vec', data_type: DataType.FloatVector, dim: DIM },
      ],
    }), 'create');
    ok(await client.createIndex({ collection_name: name, field_name: 'vec', index_type: 'FLAT', metric_type: 'L2' }), 'index');
    const old = vectors(20, DIM, 8).map((vec, i) => ({ id: i + 1, vec }));
    ok(await client.insert({ collection_name: name, data: old }), 'insert old');
    ok(await client.flushSync({ collection_names: [name] }), 'flush');

    ok(await client.addCollectionField({
      collection_name: name,
      field: { name: 'vec2', data_type: DataType.FloatVector, dim: DIM, nullable: true },
    }), 'add nullable vector field');
    const refused = await client.addCollectionField({
      collection_name: name,
      field: { name: 'vec3', data_type: DataType.FloatVector, dim: DIM },
    });
    assert.notEqual(refused.error_code, 'Success', 'a vector field added without nullable must be refused');
    ok(await client.createIndex({ collection_name: name, field_name: 'vec2', index_type: 'FLAT', metric_type: 'L2' }), 'index vec2');
    ok(await client.loadCollectionSync({ collection_name: name }), 'load');

    // new rows carry vec2 (SDK 2.6 sends every vector column dense: all rows of one insert
    // must have it)
    const fresh = vectors(10, DIM, 9).map((vec, i) => ({ id: 101 + i, vec, vec2: vectors(1, DIM, 100 + i)[0] }));
    // a fresh client: this one's cached schema (from the first insert) predates vec2, and the
    // SDK checks row keys against it before sending
    const c2 = server.client();
    ok(await c2.insert({ collection_name: name, data: fresh }), 'insert new');

    const q = ok(await client.query({ collection_name: name, filter: 'id <= 20', output_fields: ['id', 'vec2'] }), 'query old');
    assert.equal(q.data.length, old.length);
    assert.ok(q.data.every(r => r.vec2 === null || r.vec2 === undefined), JSON.stringify(q.data.slice(0, 2)));
    const qn = ok(await client.query({ collection_name: name, filter: 'id > 100', output_fields: ['id', 'vec2'] }), 'query new');
    for (const r of qn.data) assert.deepEqual(r.vec2, fresh.find(x => x.id === Number(r.id)).vec2);

    // searching vec2 finds only rows that have one; vec still finds everything
    const q2 = [0.25, -0.5, 0.75, 0];
    const s = ok(await c2.search({ collection_name: name, anns_field: 'vec2', data: q2, limit: 15, output_fields: ['id'] }), 'search vec2');
    assertSameHits(s, fresh, q2, 15, 'vec2');
    const s1 = ok(await c2.search({ collection_name: name, anns_field: 'vec', data: q2, limit: 5, output_fields: ['id'] }), 'search vec');
    assertSameHits(s1, [...old, ...fresh], q2, 5, 'vec');

    ok(await client.flushSync({ collection_names: [name] }), 'flush 2');
    const s2 = ok(await c2.search({ collection_name: name, anns_field: 'vec2', data: q2, limit: 15, output_fields: ['id'] }), 'search vec2 sealed');
    assertSameHits(s2, fresh, q2, 15, 'vec2');
  });
});

describe('add_collection_field on a loaded collection', () => {
  it('old rows read the default or null, new rows what they carry; filters agree', async () => {
    const name = unique('addfield');
    ok(await client.createCollection({
      collection_name: name,
      fields: [
        { name: 'id', data_type: DataType.Int64, is_primary_key: true },
        { name: 'vec', data_type: DataType.FloatVector, dim: DIM },
      ],
    }), 'create');
    ok(await client.createIndex({ collection_name: name, field_name: 'vec', index_type: 'FLAT', metric_type: 'L2' }), 'index');
    ok(await client.loadCollectionSync({ collection_name: name }), 'load');
    const sealed = vectors(10, DIM, 30).map((vec, i) => ({ id: i + 1, vec }));
    ok(await client.insert({ collection_name: name, data: sealed }), 'insert');
    ok(await client.flushSync({ collection_names: [name] }), 'flush');
    const growing = vectors(10, DIM, 31).map((vec, i) => ({ id: i + 11, vec }));
    ok(await client.insert({ collection_name: name, data: growing }), 'insert growing');

    ok(await client.addCollectionField({
      collection_name: name, field: { name: 'score', data_type: DataType.Int32, nullable: true, default_value: 7 },
    }), 'add score');
    ok(await client.addCollectionField({
      collection_name: name, field: { name: 'note', data_type: DataType.VarChar, max_length: 20, nullable: true },
    }), 'add note');
    const d = ok(await client.describeCollection({ collection_name: name }), 'describe');
    assert.deepEqual(d.schema.fields.map(f => f.name), ['id', 'vec', 'score', 'note']);

    const fresh = vectors(5, DIM, 32).map((vec, i) => ({ id: i + 21, vec, score: i, note: i % 2 ? `n${i}` : null }));
    ok(await client.insert({ collection_name: name, data: fresh }), 'insert new');
    const check = async () => {
      const q = ok(await client.query({ collection_name: name, filter: 'id > 0', output_fields: ['id', 'score', 'note'] }), 'query');
      assert.equal(q.data.length, 25);
      for (const r of q.data) {
        const id = Number(r.id);
        const f = fresh.find(x => x.id === id);
        assert.equal(r.score, f ? f.score : 7, `score of ${id}`);
        assert.equal(r.note, f ? f.note : null, `note of ${id}`);
      }
      assert.deepEqual(await queryIds(name, 'score == 7'), sortedIds([...sealed, ...growing].map(r => r.id)));
      assert.deepEqual(await queryIds(name, 'note is null'), sortedIds([...sealed, ...growing, ...fresh.filter(x => !x.note)].map(r => r.id)));
    };
    await check();
    ok(await client.flushSync({ collection_names: [name] }), 'flush 2');
    await check();
  });
});
