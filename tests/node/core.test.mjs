// The core path through the Node SDK: create / index / load / insert / search with a filter /
// query / get / delete / flush / drop, on growing and sealed segments, plus the "loaded only"
// filter of ShowCollections and ShowPartitions.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DataType, ShowCollectionsType } from '@zilliz/milvus2-sdk-node';
import { KiteServer, ok, waitFor } from './kite.mjs';
import { assertSameHits, ids, unique, vectors } from './util.mjs';

const DIM = 8;
let server;
let client;

before(async () => {
  server = await new KiteServer({ name: 'core' }).start();
  client = server.client();
});
after(async () => {
  await server?.close();
});

function makeRows(from, n, seed) {
  const vecs = vectors(n, DIM, seed);
  return vecs.map((vec, i) => {
    const id = from + i;
    return { id, vec, tag: `tag${id % 5}`, n: id % 100, meta: { k: id % 7, name: `r${id}` }, extra: id * 2 };
  });
}

describe('core: create, insert, search, query, delete, flush, drop', () => {
  const name = unique('core');
  let live = []; // rows the collection should hold

  it('creates a collection with an index and loads it', async () => {
    ok(await client.createCollection({
      collection_name: name,
      enable_dynamic_field: true,
      fields: [
        { name: 'id', data_type: DataType.Int64, is_primary_key: true, autoID: false },
        { name: 'vec', data_type: DataType.FloatVector, dim: DIM },
        { name: 'tag', data_type: DataType.VarChar, max_length: 32 },
        { name: 'n', data_type: DataType.Int32 },
        { name: 'meta', data_type: DataType.JSON },
      ],
    }), 'createCollection');
    const d = ok(await client.describeCollection({ collection_name: name }), 'describe');
    assert.deepEqual(d.schema.fields.map(f => [f.name, f.data_type]),
      [['id', 'Int64'], ['vec', 'FloatVector'], ['tag', 'VarChar'], ['n', 'Int32'], ['meta', 'JSON']]);
    assert.equal(d.schema.enable_dynamic_field, true);
    ok(await client.createIndex({ collection_name: name, field_name: 'vec', index_type: 'FLAT', metric_type: 'L2' }), 'index');
    ok(await client.loadCollectionSync({ collection_name: name }), 'load');
    assert.equal((await client.hasCollection({ collection_name: name })).value, true);
  });

  it('inserts rows (growing) and reads them back', async () => {
    const rows = makeRows(1, 200, 11);
    const res = ok(await client.insert({ collection_name: name, data: rows }), 'insert');
    assert.equal(Number(res.insert_cnt), rows.length);
    assert.deepEqual(res.IDs.int_id.data.map(Number), rows.map(r => r.id));
    live.push(...rows);
    const count = ok(await client.count({ collection_name: name }), 'count');
    assert.equal(count.data, live.length);
    await checkReads();
  });

  it('flushes (sealed) and reads the same answers, then more growing rows', async () => {
    ok(await client.flushSync({ collection_names: [name] }), 'flush');
    const segs = await waitFor('a sealed segment on the query node', async () => {
      const info = ok(await client.getQuerySegmentInfo({ collectionName: name }), 'segment info');
      return info.infos.some(s => s.state === 'Sealed' || s.state === 'Flushed') ? info.infos : null;
    });
    assert.ok(segs.length >= 1);
    await checkReads();
    const rows = makeRows(1001, 100, 12);
    ok(await client.insert({ collection_name: name, data: rows }), 'insert 2');
    live.push(...rows);
    await checkReads();
  });

  it('deletes by ids and by filter, on sealed and growing rows', async () => {
    const byIds = [1, 2, 3, 1001, 1002];
    const del = ok(await client.delete({ collection_name: name, ids: byIds }), 'delete ids');
    assert.equal(Number(del.delete_cnt), byIds.length);
    live = live.filter(r => !byIds.includes(r.id));
    const del2 = ok(await client.deleteEntities({ collection_name: name, expr: 'n >= 90 and tag == "tag0"' }), 'delete filter');
    const gone = live.filter(r => r.n >= 90 && r.tag === 'tag0').map(r => r.id);
    assert.ok(gone.length > 0);
    assert.equal(Number(del2.delete_cnt), gone.length);
    live = live.filter(r => !gone.includes(r.id));
    await checkReads();
  });

  it('refuses a row without its vector with Milvus\'s num_rows message, storing nothing', async () => {
    // the SDK builds the vector column from the rows that carry it: one vector short
    const res = await client.insert({
      collection_name: name, data: [{ id: 5001, vec: live[0].vec, tag: 'x', n: 1, meta: {} }, { id: 5002, tag: 'y', n: 2, meta: {} }],
    });
    assert.equal(res.status.error_code, 'IllegalArgument');
    assert.equal(res.status.reason,
      'the num_rows (1) of field (vec) is not equal to passed num_rows (2): invalid parameter[expected=2][actual=1]');
    assert.deepEqual(await client.query({ collection_name: name, filter: 'id in [5001, 5002]', output_fields: ['id'] }).then(q => q.data), []);
  });

  it('upserts replace whole rows', async () => {
    const changed = live.slice(0, 3).map(r => ({ ...r, tag: 'upserted', n: 5, meta: { k: 99 } }));
    ok(await client.upsert({ collection_name: name, data: changed }), 'upsert');
    live = live.map(r => changed.find(c => c.id === r.id) || r);
    await checkReads();
  });

  it('compacts the sealed segments (deletes applied) and reads the same answers', async () => {
    ok(await client.flushSync({ collection_names: [name] }), 'flush');
    const c = ok(await client.compact({ collection_name: name }), 'compact');
    assert.ok(Number(c.compactionID) > 0, JSON.stringify(c));
    await waitFor('the compaction to complete', async () => {
      const st = ok(await client.getCompactionState({ compactionID: c.compactionID }), 'compaction state');
      return st.state === 'Completed';
    });
    await checkReads();
  });

  it('survives a restart (WAL replay + sealed segments)', async () => {
    await server.restart();
    await waitFor('the collection loaded again', async () => {
      const st = await client.getLoadState({ collection_name: name });
      return st.state === 'LoadStateLoaded';
    });
    await checkReads();
  });

  it('releases and drops the collection', async () => {
    ok(await client.releaseCollection({ collection_name: name }), 'release');
    const q = await client.query({ collection_name: name, filter: 'id > 0' });
    assert.notEqual(q.status.error_code, 'Success', 'query on a released collection must fail');
    ok(await client.dropCollection({ collection_name: name }), 'drop');
    assert.equal((await client.hasCollection({ collection_name: name })).value, false);
  });

  async function checkReads() {
    // count
    const count = ok(await client.count({ collection_name: name }), 'count');
    assert.equal(count.data, live.length);
    // query with a filter, every field and the dynamic one
    const want = live.filter(r => r.n < 30 && r.tag !== 'tag1');
    const q = ok(await client.query({
      collection_name: name, filter: 'n < 30 and tag != "tag1"', output_fields: ['id', 'vec', 'tag', 'n', 'meta', 'extra'],
    }), 'query');
    assert.deepEqual(ids(q.data), ids(want));
    for (const row of q.data) {
      const exp = live.find(r => r.id === Number(row.id));
      assert.deepEqual(row.vec, exp.vec, `row ${row.id}: ${JSON.stringify(row.vec)} vs ${JSON.stringify(exp.vec)} ${exp.vec.map(x => Object.is(x, -0))} ${row.vec.map(x => Object.is(x, -0))}`);
      assert.equal(row.tag, exp.tag);
      assert.equal(row.n, exp.n);
      assert.deepEqual(row.meta, exp.meta);
      // the SDK's query names columns after fields_data: dynamic keys come in the $meta column
      assert.deepEqual(row.$meta, { extra: exp.extra });
    }
    // JSON and dynamic-field filters
    const qj = ok(await client.query({ collection_name: name, filter: 'meta["k"] == 3 and extra > 100', output_fields: ['id'] }), 'query json');
    assert.deepEqual(ids(qj.data), ids(live.filter(r => r.meta.k === 3 && r.extra > 100)));
    // get by ids
    const some = [live[0].id, live[live.length - 1].id, 999999];
    const g = ok(await client.get({ collection_name: name, ids: some, output_fields: ['id', 'tag'] }), 'get');
    assert.deepEqual(ids(g.data), some.filter(i => live.some(r => r.id === i)).sort((a, b) => a - b));
    // search with and without a filter, against brute force
    for (const q of [live[7].vec, [0.5, -0.25, 0, 0.125, 1, -1, 0.75, 0]]) {
      const all = ok(await client.search({ collection_name: name, data: q, limit: 10, output_fields: ['id', 'tag'] }), 'search');
      assertSameHits(all, live, q, 10);
      const filtered = ok(await client.search({
        collection_name: name, data: q, limit: 10, filter: 'tag in ["tag2", "tag3"] and n > 20', output_fields: ['id', 'tag', 'n'],
      }), 'filtered search');
      const match = live.filter(r => (r.tag === 'tag2' || r.tag === 'tag3') && r.n > 20);
      assertSameHits(filtered, match, q, 10);
      for (const h of filtered.results) {
        const exp = live.find(r => r.id === Number(h.id));
        assert.equal(h.tag, exp.tag);
        assert.equal(h.n, exp.n);
      }
    }
    // nq = 2
    const two = ok(await client.search({ collection_name: name, data: [live[0].vec, live[1].vec], limit: 3 }), 'nq=2');
    assert.equal(two.results.length, 2);
    assert.equal(Number(two.results[0][0].id), live[0].id);
    assert.equal(Number(two.results[1][0].id), live[1].id);
  }
});

describe('ShowCollections / ShowPartitions "loaded only"', () => {
  it('lists only the loaded collections and partitions', async () => {
    const loaded = unique('loaded');
    const released = unique('released');
    for (const c of [loaded, released]) {
      ok(await client.createCollection({
        collection_name: c,
        fields: [
          { name: 'id', data_type: DataType.Int64, is_primary_key: true },
          { name: 'vec', data_type: DataType.FloatVector, dim: DIM },
        ],
      }), `create ${c}`);
      ok(await client.createIndex({ collection_name: c, field_name: 'vec', index_type: 'FLAT', metric_type: 'L2' }), 'index');
    }
    ok(await client.createPartition({ collection_name: loaded, partition_name: 'p_loaded' }), 'partition');
    ok(await client.createPartition({ collection_name: loaded, partition_name: 'p_released' }), 'partition');
    ok(await client.loadPartitionsSync({ collection_name: loaded, partition_names: ['p_loaded'] }), 'load partition');

    const all = ok(await client.showCollections(), 'show all');
    assert.ok(all.data.some(c => c.name === loaded) && all.data.some(c => c.name === released));
    const onlyLoaded = ok(await client.showCollections({ type: ShowCollectionsType.Loaded }), 'show loaded');
    const names = onlyLoaded.data.map(c => c.name);
    assert.ok(names.includes(loaded), `loaded list ${names}`);
    assert.ok(!names.includes(released), `loaded list ${names} has the released collection`);

    const allParts = ok(await client.listPartitions({ collection_name: loaded }), 'partitions');
    assert.deepEqual(allParts.data.map(p => p.name).sort(), ['_default', 'p_loaded', 'p_released']);
    // ShowPartitions' type 1 is InMemory (Milvus's ShowType)
    const loadedParts = ok(await client.listPartitions({ collection_name: loaded, type: 1 }), 'loaded partitions');
    assert.deepEqual(loadedParts.data.map(p => p.name), ['p_loaded']);
    assert.deepEqual(loadedParts.data.map(p => Number(p.loadedPercentage)), [100]);

    ok(await client.releaseCollection({ collection_name: loaded }), 'release');
    const none = ok(await client.showCollections({ type: ShowCollectionsType.Loaded }), 'show loaded after release');
    assert.ok(!none.data.some(c => c.name === loaded || c.name === released));
  });
});
