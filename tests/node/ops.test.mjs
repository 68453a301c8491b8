// Collection operations of Milvus 2.6 through the Node SDK: truncate_collection, JSON path
// indexes (several on one JSON field, a dynamic key), partial upsert (partial_update and the
// ARRAY_APPEND / ARRAY_REMOVE field ops). Growing and sealed segments; expectations computed here.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DataType } from '@zilliz/milvus2-sdk-node';
import { KiteServer, ok, waitFor } from './kite.mjs';
import { assertSameHits, ids, rng, unique, vectors } from './util.mjs';

const DIM = 4;
let server;
let client;

before(async () => {
  server = await new KiteServer({ name: 'ops' }).start();
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

async function simpleCollection(name, extraFields = [], opts = {}) {
  ok(await client.createCollection({
    collection_name: name,
    ...opts,
    fields: [
      { name: 'id', data_type: DataType.Int64, is_primary_key: true },
      { name: 'vec', data_type: DataType.FloatVector, dim: DIM },
      ...extraFields,
    ],
  }), `create ${name}`);
  ok(await client.createIndex({ collection_name: name, field_name: 'vec', index_type: 'FLAT', metric_type: 'L2' }), 'index');
  ok(await client.loadCollectionSync({ collection_name: name }), 'load');
}

describe('truncate_collection', () => {
  it('removes every row (sealed and growing), keeps the collection, its schema and index, and takes new rows', async () => {
    const name = unique('trunc');
    await simpleCollection(name, [{ name: 'n', data_type: DataType.Int32 }]);
    const rows = vectors(30, DIM, 40).map((vec, i) => ({ id: i + 1, vec, n: i }));
    ok(await client.insert({ collection_name: name, data: rows.slice(0, 20) }), 'insert');
    ok(await client.flushSync({ collection_names: [name] }), 'flush');
    ok(await client.insert({ collection_name: name, data: rows.slice(20) }), 'insert growing');
    assert.equal(ok(await client.count({ collection_name: name }), 'count').data, 30);

    ok(await client.truncateCollection({ collection_name: name }), 'truncate');
    assert.equal(ok(await client.count({ collection_name: name }), 'count').data, 0);
    assert.deepEqual(await queryIds(name, 'id > 0'), []);
    const s = ok(await client.search({ collection_name: name, data: rows[0].vec, limit: 5, output_fields: ['id'] }), 'search');
    assert.equal(s.results.length, 0);
    assert.equal((await client.hasCollection({ collection_name: name })).value, true);
    const idx = ok(await client.describeIndex({ collection_name: name, field_name: 'vec' }), 'describe index');
    assert.equal(idx.index_descriptions.length, 1);

    const again = rows.slice(0, 5).map(r => ({ ...r, n: r.n + 100 }));
    ok(await client.insert({ collection_name: name, data: again }), 'insert after truncate');
    const q = ok(await client.query({ collection_name: name, filter: 'id > 0', output_fields: ['id', 'n'] }), 'query');
    assert.deepEqual(q.data.map(r => [Number(r.id), r.n]).sort((a, b) => a[0] - b[0]), again.map(r => [r.id, r.n]));
    // the old rows stay gone after a restart (truncation is durable)
    await server.restart();
    await waitFor('reload', async () => (await client.getLoadState({ collection_name: name })).state === 'LoadStateLoaded');
    assert.deepEqual(await queryIds(name, 'id > 0'), again.map(r => r.id));

    const missing = await client.truncateCollection({ collection_name: unique('nope') });
    assert.notEqual(missing.error_code, 'Success');
  });
});

describe('JSON path indexes', () => {
  it('several indexes on one JSON field and one on a dynamic key answer as the unindexed filters', async () => {
    const name = unique('jsonidx');
    await simpleCollection(name, [{ name: 'meta', data_type: DataType.JSON }], { enable_dynamic_field: true });
    const r = rng(50);
    const makeRows = (from, n) => vectors(n, DIM, from).map((vec, i) => {
      const id = from + i;
      return {
        id, vec,
        meta: { a: Math.floor(r() * 50), s: `s${Math.floor(r() * 6)}`, nested: { b: r() < 0.5 }, ...(id % 5 ? {} : { a: `text${id}` }) },
        color: ['red', 'blue', 'green'][id % 3],
      };
    });
    const FILTERS = {
      'meta["a"] > 20': x => typeof x.meta.a === 'number' && x.meta.a > 20,
      'meta["a"] in [1, 2, 3, 40]': x => [1, 2, 3, 40].includes(x.meta.a),
      'meta["s"] == "s2"': x => x.meta.s === 's2',
      'meta["nested"]["b"] == true': x => x.meta.nested.b === true,
      'color == "red"': x => x.color === 'red',
      'meta["a"] <= 10 and color != "blue"': x => typeof x.meta.a === 'number' && x.meta.a <= 10 && x.color !== 'blue',
    };
    let rows = makeRows(1, 60);
    ok(await client.insert({ collection_name: name, data: rows.slice(0, 40) }), 'insert');
    ok(await client.flushSync({ collection_names: [name] }), 'flush');
    ok(await client.insert({ collection_name: name, data: rows.slice(40) }), 'insert growing');
    const check = async () => {
      for (const [f, pred] of Object.entries(FILTERS)) {
        assert.deepEqual(await queryIds(name, f), sortedIds(rows.filter(pred).map(x => x.id)), f);
      }
    };
    await check();

    ok(await client.releaseCollection({ collection_name: name }), 'release');
    // the Node SDK sends `params` as one JSON-encoded "params" key-value pair
    ok(await client.createIndex([
      { collection_name: name, field_name: 'meta', index_name: 'a_idx', index_type: 'INVERTED', params: { json_path: 'meta["a"]', json_cast_type: 'double' } },
      { collection_name: name, field_name: 'meta', index_name: 's_idx', index_type: 'AUTOINDEX', params: { json_path: 'meta["s"]', json_cast_type: 'varchar' } },
      { collection_name: name, field_name: 'meta', index_name: 'b_idx', index_type: 'INVERTED', params: { json_path: 'meta["nested"]["b"]', json_cast_type: 'bool' } },
    ]), 'json path indexes');
    // and `extra_params` as key-value pairs, as pymilvus does
    ok(await client.createIndex({
      collection_name: name, field_name: 'color', index_name: 'color_idx', index_type: 'INVERTED',
      extra_params: { json_cast_type: 'varchar' },
    }), 'dynamic key index');
    const list = ok(await client.listIndexes({ collection_name: name }), 'list indexes');
    assert.deepEqual([...list.indexes].sort(), ['a_idx', 'b_idx', 'color_idx', 's_idx', 'vec'].sort());
    const a = ok(await client.describeIndex({ collection_name: name, index_name: 'a_idx' }), 'describe a_idx');
    const p = Object.fromEntries(a.index_descriptions[0].params.map(kv => [kv.key, kv.value]));
    assert.equal(a.index_descriptions[0].field_name, 'meta');
    assert.equal(p.json_path, 'meta["a"]');
    assert.equal(p.json_cast_type.toUpperCase(), 'DOUBLE');
    assert.equal(p.index_type, 'INVERTED');

    ok(await client.loadCollectionSync({ collection_name: name }), 'load');
    await check();
    const more = makeRows(101, 40);
    ok(await client.insert({ collection_name: name, data: more }), 'insert after index');
    rows = rows.concat(more);
    await check();
    ok(await client.flushSync({ collection_names: [name] }), 'flush 2');
    await check();
    ok(await client.releaseCollection({ collection_name: name }), 'release');
    ok(await client.dropIndex({ collection_name: name, field_name: 'meta', index_name: 'a_idx' }), 'drop a_idx');
    ok(await client.loadCollectionSync({ collection_name: name }), 'load');
    await check();
  });
});

describe('partial upsert', () => {
  // (no field named `score`: the SDK's search hits keep the distance under that key)
  it('partial_update changes only the given fields, on sealed and growing rows', async () => {
    const name = unique('partial');
    await simpleCollection(name, [
      { name: 'title', data_type: DataType.VarChar, max_length: 32 },
      { name: 'rating', data_type: DataType.Double },
      { name: 'note', data_type: DataType.VarChar, max_length: 32, nullable: true },
      { name: 'tags', data_type: DataType.Array, element_type: DataType.Int64, max_capacity: 8 },
    ], { enable_dynamic_field: true });
    const base = vectors(10, DIM, 60).map((vec, i) => ({ id: i, vec, title: `t${i}`, rating: i + 0.5, note: `n${i}`, tags: [i], color: 'red' }));
    ok(await client.insert({ collection_name: name, data: base.slice(0, 6) }), 'insert');
    ok(await client.flushSync({ collection_names: [name] }), 'flush');
    ok(await client.insert({ collection_name: name, data: base.slice(6) }), 'insert growing');
    const expected = new Map(base.map(r => [r.id, { ...r }]));

    ok(await client.upsert({ collection_name: name, partial_update: true, data: [{ id: 2, rating: 20.25 }, { id: 7, rating: 70.25 }] }), 'partial rating');
    expected.get(2).rating = 20.25;
    expected.get(7).rating = 70.25;
    ok(await client.upsert({ collection_name: name, partial_update: true, data: [{ id: 3, title: 'changed', note: null }, { id: 8, title: 'changed8', color: 'blue' }] }), 'partial title');
    Object.assign(expected.get(3), { title: 'changed', note: null });
    // the SDK sends every column any row of the request names, for every row: row 8 leaves
    // `note` out, so its `note` goes as null (valid_data false), and null is what it stores
    Object.assign(expected.get(8), { title: 'changed8', color: 'blue', note: null });
    // a new key with every required field: inserted, the nullable one null
    const v42 = vectors(1, DIM, 42)[0];
    ok(await client.upsert({ collection_name: name, partial_update: true, data: [{ id: 42, vec: v42, title: 'new', rating: 4.25, tags: [4, 2] }] }), 'partial new');
    expected.set(42, { id: 42, vec: v42, title: 'new', rating: 4.25, note: null, tags: [4, 2] });

    const check = async () => {
      const q = ok(await client.query({ collection_name: name, filter: 'id >= 0', output_fields: ['*'] }), 'query');
      assert.deepEqual(ids(q.data), sortedIds([...expected.keys()]));
      for (const got of q.data) {
        const want = expected.get(Number(got.id));
        assert.deepEqual(got.vec, want.vec, `vec of ${got.id}`);
        assert.equal(got.title, want.title, `title of ${got.id}`);
        assert.equal(got.rating, want.rating, `rating of ${got.id}`);
        assert.equal(got.note, want.note, `note of ${got.id}`);
        assert.deepEqual(got.tags.map(Number), want.tags, `tags of ${got.id}`);
        assert.equal(got.$meta?.color, want.color, `dynamic color of ${got.id}`);
      }
      assert.equal(ok(await client.count({ collection_name: name }), 'count').data, expected.size);
      // search sees each merged row once
      const s = ok(await client.search({ collection_name: name, data: base[2].vec, limit: 20, output_fields: ['id', 'rating'] }), 'search');
      assertSameHits(s, [...expected.values()], base[2].vec, 20);
      assert.equal(s.results.find(h => Number(h.id) === 2).rating, 20.25);
    };
    await check();
    ok(await client.flushSync({ collection_names: [name] }), 'flush 2');
    await check();
  });

  it('ARRAY_APPEND and ARRAY_REMOVE field ops', async () => {
    const name = unique('arrops');
    await simpleCollection(name, [
      { name: 'tags', data_type: DataType.Array, element_type: DataType.VarChar, max_capacity: 4, max_length: 16 },
      { name: 'nums', data_type: DataType.Array, element_type: DataType.Int64, max_capacity: 8 },
    ]);
    const [v1, v2] = vectors(2, DIM, 70);
    ok(await client.insert({ collection_name: name, data: [{ id: 1, vec: v1, tags: ['new'], nums: [1, 2, 2, 3] }] }), 'insert');
    ok(await client.flushSync({ collection_names: [name] }), 'flush'); // sealed
    ok(await client.insert({ collection_name: name, data: [{ id: 2, vec: v2, tags: ['new', 'trial'], nums: [5] }] }), 'insert growing');
    const expected = { 1: [['new'], [1, 2, 2, 3]], 2: [['new', 'trial'], [5]] };
    const check = async () => {
      const q = ok(await client.query({ collection_name: name, filter: 'id > 0', output_fields: ['id', 'tags', 'nums'] }), 'query');
      const got = Object.fromEntries(q.data.map(r => [Number(r.id), [r.tags, r.nums.map(Number)]]));
      assert.deepEqual(got, expected);
    };
    const apply = (op, given) => {
      for (const [id, [tags, nums]] of Object.entries(given)) {
        const [ot, on] = expected[id];
        expected[id] = op === 'append' ? [ot.concat(tags), on.concat(nums)] : [ot.filter(t => !tags.includes(t)), on.filter(x => !nums.includes(x))];
      }
    };
    let given = { 1: [['premium', 'vip'], [4]], 2: [['premium'], [5, 6]] };
    ok(await client.upsert({
      collection_name: name,
      data: Object.entries(given).map(([id, [tags, nums]]) => ({ id: Number(id), tags, nums })),
      field_ops: [{ field_name: 'tags', op: 'ARRAY_APPEND' }, { field_name: 'nums', op: 'ARRAY_APPEND' }],
    }), 'append');
    apply('append', given);
    await check();
    given = { 1: [['new'], [2]], 2: [['trial', 'absent'], [5]] };
    ok(await client.upsert({
      collection_name: name,
      data: Object.entries(given).map(([id, [tags, nums]]) => ({ id: Number(id), tags, nums })),
      field_ops: [{ field_name: 'tags', op: 'ARRAY_REMOVE' }, { field_name: 'nums', op: 'ARRAY_REMOVE' }],
    }), 'remove');
    apply('remove', given);
    await check();
    // an append past max_capacity is refused and changes nothing
    const over = await client.upsert({ collection_name: name, data: [{ id: 1, tags: ['a', 'b', 'c', 'd'] }], field_ops: [{ field_name: 'tags', op: 'ARRAY_APPEND' }] });
    assert.notEqual(over.status.error_code, 'Success');
    assert.match(over.status.reason, /max capacity/);
    await check();
  });
});
