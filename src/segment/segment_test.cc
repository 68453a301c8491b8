// Unit tests for segments (MVCC visibility, upsert semantics), the segment /
// delta file formats (round trip and corruption detection), DML messages, and
// the shared merges.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "query/reduce.h"
#include "query/retrieve.h"
#include "query/search.h"
#include "roles/api/dml_message.h"
#include "segment/segment.h"
#include "segment/index_file.h"
#include "segment/segment_file.h"
#include "storage/object/object_store.h"

namespace kite {
namespace {

std::shared_ptr<const CollectionSchema> TestSchema() {
  auto s = std::make_shared<CollectionSchema>();
  s->name = "t";
  FieldSchema pk;
  pk.id = FieldId(100);
  pk.name = "id";
  pk.type = DataType::kInt64;
  pk.is_primary = true;
  FieldSchema vec;
  vec.id = FieldId(101);
  vec.name = "v";
  vec.type = DataType::kFloatVector;
  vec.type_params["dim"] = "2";
  FieldSchema tag;
  tag.id = FieldId(102);
  tag.name = "tag";
  tag.type = DataType::kVarChar;
  tag.type_params["max_length"] = "16";
  tag.nullable = true;
  s->fields = {pk, vec, tag};
  return s;
}

ColumnBatch Rows(const CollectionSchema& s, std::vector<int64_t> ids, float base) {
  ColumnBatch b;
  Column pk = Column::ForField(s.fields[0]);
  Column vec = Column::ForField(s.fields[1]);
  Column tag = Column::ForField(s.fields[2]);
  for (int64_t id : ids) {
    pk.AppendFixed(&id);
    float v[2] = {base, static_cast<float>(id)};
    vec.AppendFixed(v);
    if (id % 2 == 0) {
      tag.AppendVar("even");
    } else {
      tag.AppendNull();
    }
  }
  b.num_rows = static_cast<int64_t>(ids.size());
  b.columns = {pk, vec, tag};
  return b;
}

SegmentMeta Meta(int64_t id) { return SegmentMeta{SegmentId(id), CollectionId(1), PartitionId(2), "ch"}; }

// BM25 statistics: rows, total length and per-term document frequency of a
// sparse term-count column, folded forward as a growing segment gains rows,
// deleted rows still counted.
TEST(SegmentTest, Bm25StatsCountEveryStoredRowAndFollowGrowth) {
  auto s = std::make_shared<CollectionSchema>();
  FieldSchema pk;
  pk.id = FieldId(100);
  pk.name = "id";
  pk.type = DataType::kInt64;
  pk.is_primary = true;
  FieldSchema sp;
  sp.id = FieldId(101);
  sp.name = "sparse";
  sp.type = DataType::kSparseFloatVector;
  s->fields = {pk, sp};
  auto rows = [&](std::vector<int64_t> ids, std::vector<std::vector<std::pair<uint32_t, float>>> docs) {
    ColumnBatch b;
    Column p = Column::ForField(s->fields[0]);
    Column v = Column::ForField(s->fields[1]);
    for (size_t i = 0; i < ids.size(); ++i) {
      p.AppendFixed(&ids[i]);
      std::string row;
      for (auto [k, x] : docs[i]) {
        row.append(reinterpret_cast<const char*>(&k), 4);
        row.append(reinterpret_cast<const char*>(&x), 4);
      }
      v.AppendVar(row);
    }
    b.num_rows = static_cast<int64_t>(ids.size());
    b.columns = {p, v};
    return b;
  };
  Segment seg(Meta(9), s);
  seg.Append(rows({1, 2}, {{{7, 2.0f}, {9, 1.0f}}, {{7, 1.0f}}}), {10, 10});
  auto c = seg.Bm25Stats(FieldId(101), {7, 9, 11});
  EXPECT_EQ(c.rows, 2);
  EXPECT_DOUBLE_EQ(c.tokens, 4.0);
  EXPECT_EQ(c.df, (std::vector<int64_t>{2, 1, 0}));
  seg.Append(rows({3}, {{{11, 3.0f}}}), {20});
  ASSERT_TRUE(seg.ApplyDelete(int64_t{1}, 30));
  c = seg.Bm25Stats(FieldId(101), {7, 11});
  EXPECT_EQ(c.rows, 3);
  EXPECT_DOUBLE_EQ(c.tokens, 7.0);
  EXPECT_EQ(c.df, (std::vector<int64_t>{2, 1}));
}

TEST(SegmentTest, RowsBecomeVisibleAtTheirTimestamp) {
  auto schema = TestSchema();
  Segment seg(Meta(1), schema);
  seg.Append(Rows(*schema, {1, 2, 3}, 0), {10, 10, 10});
  seg.Append(Rows(*schema, {4}, 0), {20});
  EXPECT_EQ(seg.AllVisible(9, 0).size(), 0u);
  EXPECT_EQ(seg.AllVisible(10, 0).size(), 3u);
  EXPECT_EQ(seg.AllVisible(25, 0).size(), 4u);
  EXPECT_EQ(seg.FindVisible(int64_t{4}, 15, 0).size(), 0u);
  EXPECT_EQ(seg.FindVisible(int64_t{4}, 20, 0).size(), 1u);
}

TEST(SegmentTest, RowsWrittenBeforeTheExpiryFloorAreHidden) {
  auto schema = TestSchema();
  Segment seg(Meta(1), schema);
  seg.Append(Rows(*schema, {1, 2}, 0), {10, 20});
  seg.Append(Rows(*schema, {3}, 0), {30});
  EXPECT_EQ(seg.AllVisible(40, 20), (std::vector<int64_t>{1, 2})) << "the row written at 10 has expired";
  EXPECT_TRUE(seg.FindVisible(int64_t{1}, 40, 11).empty());
  EXPECT_EQ(seg.FindVisible(int64_t{2}, 40, 11).size(), 1u);
  EXPECT_FALSE(seg.IsVisible(2, 40, 31));
  std::vector<uint8_t> got{9};
  auto grab = [&](const ColumnBatch&, const std::vector<uint8_t>& v) { got = v; };
  seg.WithVisibleRows(40, 10, grab);
  EXPECT_TRUE(got.empty()) << "nothing written before 10";
  seg.WithVisibleRows(40, 25, grab);
  EXPECT_EQ(got, (std::vector<uint8_t>{0, 0, 1}));
}

TEST(SegmentTest, DeleteHidesOnlyOlderVersionsFromItsTimestampOn) {
  auto schema = TestSchema();
  Segment seg(Meta(1), schema);
  seg.Append(Rows(*schema, {1, 2}, 0), {10, 10});
  EXPECT_TRUE(seg.ApplyDelete(int64_t{1}, 30));
  EXPECT_FALSE(seg.ApplyDelete(int64_t{99}, 30)) << "a key the segment does not hold";
  EXPECT_FALSE(seg.ApplyDelete(int64_t{2}, 5)) << "a delete older than every version";
  EXPECT_EQ(seg.FindVisible(int64_t{1}, 29, 0).size(), 1u) << "reads before the delete still see the row";
  EXPECT_EQ(seg.FindVisible(int64_t{1}, 30, 0).size(), 0u);
  EXPECT_EQ(seg.AllVisible(100, 0).size(), 1u);
}

TEST(SegmentTest, UpsertShowsExactlyOneVersion) {
  auto schema = TestSchema();
  Segment seg(Meta(1), schema);
  seg.Append(Rows(*schema, {7}, 1.0f), {10});
  // Upsert at ts 40: delete of key 7 and the new row, same timestamp.
  seg.ApplyDelete(int64_t{7}, 40);
  seg.Append(Rows(*schema, {7}, 2.0f), {40});
  for (Timestamp t : {Timestamp{10}, Timestamp{39}, Timestamp{40}, Timestamp{1000}}) {
    auto rows = seg.FindVisible(int64_t{7}, t, 0);
    ASSERT_EQ(rows.size(), 1u) << "at ts " << t;
    ColumnBatch out;
    seg.Gather(rows, {FieldId(101)}, &out, nullptr);
    EXPECT_EQ(out.columns[1].Get<float>(0), t < 40 ? 1.0f : 2.0f) << "at ts " << t;
  }
}

TEST(SegmentTest, RowsOfAnotherSchemaAreRefusedNotAppended) {
  auto schema = TestSchema();
  Segment seg(Meta(1), schema);
  ColumnBatch ok = Rows(*schema, {1, 2}, 1.0f);
  EXPECT_TRUE(seg.CheckAppendable(ok).ok());
  // A vector of another dim (a record written for another collection under the same channel name).
  CollectionSchema other = *schema;
  other.fields[1].type_params["dim"] = "4";
  ColumnBatch wrong_dim;
  wrong_dim.num_rows = 1;
  Column v = Column::ForField(other.fields[1]);
  float four[4] = {1, 2, 3, 4};
  v.AppendFixed(four);
  wrong_dim.columns = {v};
  Status st = seg.CheckAppendable(wrong_dim);
  EXPECT_EQ(st.code(), StatusCode::kCorruption);
  EXPECT_NE(st.message().find("field v"), std::string::npos) << st.ToString();
  // Fewer values than rows claimed.
  ColumnBatch short_rows = Rows(*schema, {1, 2}, 1.0f);
  short_rows.num_rows = 5;
  EXPECT_EQ(seg.CheckAppendable(short_rows).code(), StatusCode::kCorruption);
  // Another type for the primary key.
  ColumnBatch wrong_type = Rows(*schema, {1}, 1.0f);
  wrong_type.columns[0] = Column::ForField(schema->fields[2]);
  wrong_type.columns[0].field_id = FieldId(100);
  wrong_type.columns[0].AppendVar("x");
  EXPECT_EQ(seg.CheckAppendable(wrong_type).code(), StatusCode::kCorruption);
  EXPECT_EQ(seg.num_rows(), 0);
}

TEST(SegmentTest, ReserveKeepsColumnsInPlaceWhileAppending) {
  auto schema = TestSchema();
  Segment seg(Meta(1), schema);
  seg.Reserve(3000);
  const uint8_t* first = nullptr;
  for (int b = 0; b < 30; ++b) {
    std::vector<int64_t> ids(100);
    for (int i = 0; i < 100; ++i) ids[i] = b * 100 + i;
    seg.Append(Rows(*schema, ids, 1.0f), std::vector<Timestamp>(100, 5));
    seg.WithColumns([&](const ColumnBatch& c, const std::vector<Timestamp>&) {
      const uint8_t* p = c.columns[1].fixed.data();
      if (!first) first = p;
      EXPECT_EQ(p, first) << "the vector column moved after batch " << b;
    });
  }
  EXPECT_EQ(seg.num_rows(), 3000);
  ColumnBatch out;
  seg.Gather({2999}, {FieldId(101)}, &out, nullptr);
  EXPECT_EQ(out.columns[0].Get<int64_t>(0), 2999);
  EXPECT_EQ(seg.FindVisible(int64_t{1234}, 5, 0), std::vector<int64_t>{1234});
  EXPECT_TRUE(seg.FindVisible(int64_t{3000}, 5, 0).empty());
}

TEST(SegmentTest, SnapshotMaskMatchesVisibility) {
  auto schema = TestSchema();
  Segment seg(Meta(1), schema);
  seg.Append(Rows(*schema, {1, 2, 3}, 0), {10, 20, 30});
  seg.ApplyDelete(int64_t{1}, 25);
  std::vector<uint8_t> mask;
  seg.WithSnapshot(26, 0, [&](const ColumnBatch& b, const std::vector<uint8_t>& v) {
    EXPECT_EQ(b.num_rows, 3);
    mask = v;
  });
  EXPECT_EQ(mask, (std::vector<uint8_t>{0, 1, 0}));
}

TEST(SegmentTest, WithVisibleRowsIsEmptyOnlyWhenEveryRowIsVisible) {
  auto schema = TestSchema();
  Segment seg(Meta(1), schema);
  seg.Append(Rows(*schema, {1, 2}, 0), {10, 20});
  std::vector<uint8_t> got;
  auto grab = [&](const ColumnBatch&, const std::vector<uint8_t>& v) { got = v; };
  seg.WithVisibleRows(20, 0, grab);
  EXPECT_TRUE(got.empty()) << "every row visible at 20";
  seg.WithVisibleRows(15, 0, grab);
  EXPECT_EQ(got, (std::vector<uint8_t>{1, 0}));
  seg.ApplyDelete(int64_t{1}, 30);
  seg.WithVisibleRows(40, 0, grab);
  EXPECT_EQ(got, (std::vector<uint8_t>{0, 1}));
}

// A query at (0, id) finds the rows of `seg` nearest to it: the test vectors are (base, id).
SearchPlan PlanAt(Timestamp ts, float id) {
  SearchPlan plan;
  plan.ts = ts;
  plan.k = 100;
  plan.queries.field = FieldId(101);
  plan.queries.dim = 2;
  plan.queries.nq = 1;
  FieldSchema f;
  f.id = FieldId(101);
  f.type = DataType::kFloatVector;
  f.type_params["dim"] = "2";
  plan.queries.rows = Column::ForField(f);
  float q[2] = {0, id};
  plan.queries.rows.AppendFixed(q);
  return plan;
}

TEST(SearchSegmentTest, RowsNewerThanTheReadTimestampAreNeverReturned) {
  // Appends race with searches of a growing segment, each search reading at
  // the newest timestamp written so far (as Bounded reads do): it must never
  // see a row appended after that timestamp. Row id = its timestamp.
  auto schema = TestSchema();
  Segment seg(Meta(1), schema);
  seg.Append(Rows(*schema, {1}, 0), {1});
  std::atomic<int64_t> latest{1};
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (int64_t t = 2; t <= 3000; ++t) {
      seg.Append(Rows(*schema, {t}, 0), {static_cast<Timestamp>(t)});
      latest = t;
    }
    done = true;
  });
  int64_t searches = 0;
  while (!done || searches < 50) {
    const int64_t at = latest.load();
    SearchPlan plan = PlanAt(static_cast<Timestamp>(at), 0);
    plan.k = 10000;  // every row
    std::vector<HitList> hits;
    ASSERT_TRUE(SearchSegment(seg, 0, plan, &hits).ok());
    ASSERT_GE(static_cast<int64_t>(hits[0].size()), at);
    for (const Hit& h : hits[0]) {
      ASSERT_LE(std::get<int64_t>(h.pk), at) << "row newer than the read timestamp, search " << searches;
    }
    ++searches;
  }
  writer.join();
  std::vector<HitList> some;
  ASSERT_TRUE(SearchSegment(seg, 0, PlanAt(10, 0), &some).ok());
  EXPECT_EQ(some[0].size(), 10u);
}

class SegmentFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("kite-segfile-" + std::to_string(::getpid()) + "-" +
                                                      ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    auto s = OpenLocalObjectStore(dir_.string());
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
  std::unique_ptr<ObjectStore> store_;
};

TEST_F(SegmentFileTest, ColumnsAndTimestampsRoundTrip) {
  auto schema = TestSchema();
  ColumnBatch rows = Rows(*schema, {1, 2, 3, 4}, 0.5f);
  std::vector<Timestamp> ts = {5, 6, 7, 8};
  auto keys = WriteSegmentFiles(store_.get(), SegmentPrefix(CollectionId(1), SegmentId(9)), rows, ts);
  ASSERT_TRUE(keys.ok()) << keys.status().ToString();
  ColumnBatch back;
  std::vector<Timestamp> back_ts;
  ASSERT_TRUE(ReadSegmentFiles(store_.get(), *keys, &back, &back_ts).ok());
  EXPECT_EQ(back_ts, ts);
  ASSERT_EQ(back.num_rows, 4);
  auto seg = Segment::FromColumns(Meta(9), schema, std::move(back), back_ts);
  ASSERT_TRUE(seg.ok());
  EXPECT_EQ((*seg)->FindVisible(int64_t{3}, 100, 0).size(), 1u);
  ColumnBatch out;
  (*seg)->Gather({0, 1}, {FieldId(102)}, &out, nullptr);
  EXPECT_EQ(out.columns[1].GetBytes(1), "even");
  EXPECT_TRUE(out.columns[1].IsNull(0));
}

TEST_F(SegmentFileTest, EveryFlippedByteIsDetected) {
  auto schema = TestSchema();
  auto keys = WriteSegmentFiles(store_.get(), "c/", Rows(*schema, {1, 2}, 0), {1, 2});
  ASSERT_TRUE(keys.ok());
  for (const auto& key : *keys) {
    std::string good = *store_->Get(key);
    for (size_t i = 0; i < good.size(); ++i) {
      std::string bad = good;
      bad[i] = static_cast<char>(bad[i] ^ 0x5a);
      ASSERT_TRUE(store_->Put(key, bad).ok());
      ColumnBatch b;
      std::vector<Timestamp> t;
      Status st = ReadSegmentFiles(store_.get(), *keys, &b, &t);
      EXPECT_EQ(st.code(), StatusCode::kCorruption) << key << " byte " << i;
    }
    ASSERT_TRUE(store_->Put(key, good).ok());
  }
}

// An index file read whole: its header, then the payload through ReadToEnd (the CRC checked).
Result<IndexFileHeader> ReadWholeIndexFile(ObjectStore* store, const std::string& key, std::string* payload) {
  std::unique_ptr<FramedReader> in;
  auto h = OpenIndexFile(store, key, &in);
  if (!h.ok()) return h.status();
  auto body = in->ReadToEnd();
  if (!body.ok()) return body.status();
  *payload = std::move(body).value();
  return h;
}

TEST_F(SegmentFileTest, IndexFileStreamsItsPayload) {
  IndexFileHeader h;
  h.segment = SegmentId(9);
  h.index = IndexId(4);
  h.field = FieldId(102);
  h.params = {{"index_type", "HNSW"}};
  h.rows = 77;
  std::string payload(3 << 20, '\0');
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(i * 37 % 253);
  ASSERT_TRUE(WriteIndexFile(store_.get(), "s.idx", h, payload).ok());
  const std::string good = *store_->Get("s.idx");

  std::unique_ptr<FramedReader> in;
  auto hb = OpenIndexFile(store_.get(), "s.idx", &in);
  ASSERT_TRUE(hb.ok()) << hb.status().ToString();
  EXPECT_EQ(hb->segment, h.segment);
  EXPECT_EQ(hb->rows, 77);
  ASSERT_EQ(in->remaining(), payload.size());
  std::string back(payload.size(), '\0');
  ASSERT_TRUE(in->Read(back.data(), 5).ok());  // in uneven pieces
  ASSERT_TRUE(in->Read(back.data() + 5, (1 << 20) + 3).ok());
  EXPECT_EQ(in->Finish().code(), StatusCode::kCorruption) << "bytes left unread";
  ASSERT_TRUE(in->Read(back.data() + 5 + (1 << 20) + 3, in->remaining()).ok());
  EXPECT_TRUE(in->Finish().ok());
  EXPECT_EQ(back, payload);
  EXPECT_EQ(in->Read(back.data(), 1).code(), StatusCode::kCorruption) << "reading past the body";

  // A damaged payload byte opens fine and is caught by Finish, also after SkipRest.
  std::string bad = good;
  bad[good.size() / 2] = static_cast<char>(bad[good.size() / 2] ^ 0x20);
  ASSERT_TRUE(store_->Put("s.idx", bad).ok());
  ASSERT_TRUE(OpenIndexFile(store_.get(), "s.idx", &in).ok());
  ASSERT_TRUE(in->Read(back.data(), 100).ok());
  ASSERT_TRUE(in->SkipRest().ok());
  EXPECT_EQ(in->remaining(), 0u);
  Status st = in->Finish();
  EXPECT_EQ(st.code(), StatusCode::kCorruption);
  EXPECT_NE(st.message().find("checksum"), std::string::npos) << st.ToString();
  ASSERT_TRUE(store_->Put("s.idx", good).ok());
  ASSERT_TRUE(OpenIndexFile(store_.get(), "s.idx", &in).ok());
  ASSERT_TRUE(in->SkipRest().ok());
  EXPECT_TRUE(in->Finish().ok());
}

TEST_F(SegmentFileTest, IndexFileRoundTripAndDamage) {
  IndexFileHeader h;
  h.segment = SegmentId(7);
  h.index = IndexId(3);
  h.field = FieldId(101);
  h.params = {{"M", "16"}, {"index_type", "HNSW"}};
  h.rows = 1234;
  std::string payload(100000, '\0');
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(i * 131 % 251);
  auto size = WriteIndexFile(store_.get(), "i.idx", h, payload);
  ASSERT_TRUE(size.ok()) << size.status().ToString();
  std::string good = *store_->Get("i.idx");
  EXPECT_EQ(static_cast<size_t>(*size), good.size());
  std::string back;
  auto hb = ReadWholeIndexFile(store_.get(), "i.idx", &back);
  ASSERT_TRUE(hb.ok()) << hb.status().ToString();
  EXPECT_EQ(back, payload);
  EXPECT_EQ(hb->segment, h.segment);
  EXPECT_EQ(hb->params, h.params);
  EXPECT_EQ(hb->rows, 1234);
  // Damage anywhere (every header byte, a sample of the payload, the CRC) and truncation are Corruption.
  std::vector<size_t> at;
  for (size_t i = 0; i < 200; ++i) at.push_back(i);
  for (size_t i = 200; i < good.size(); i += 997) at.push_back(i);
  for (size_t i = good.size() - 4; i < good.size(); ++i) at.push_back(i);
  for (size_t i : at) {
    std::string bad = good;
    bad[i] = static_cast<char>(bad[i] ^ 0x5a);
    ASSERT_TRUE(store_->Put("i.idx", bad).ok());
    EXPECT_EQ(ReadWholeIndexFile(store_.get(), "i.idx", &back).status().code(), StatusCode::kCorruption) << "byte " << i;
  }
  ASSERT_TRUE(store_->Put("i.idx", good.substr(0, good.size() - 1)).ok());
  EXPECT_EQ(ReadWholeIndexFile(store_.get(), "i.idx", &back).status().code(), StatusCode::kCorruption);
  EXPECT_EQ(ReadWholeIndexFile(store_.get(), "nope.idx", &back).status().code(), StatusCode::kNotFound);
}

TEST_F(SegmentFileTest, LargeColumnsRoundTripThroughStreamedFiles) {
  // Columns written from their own buffers and read straight into new ones
  // (PutParts / ObjectStore::Open): bytes equal the in-memory encoding.
  auto schema = TestSchema();
  std::vector<int64_t> ids(20000);
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<int64_t>(i) * 3 - 7;
  ColumnBatch rows = Rows(*schema, ids, 0.25f);
  std::vector<Timestamp> ts(ids.size());
  for (size_t i = 0; i < ts.size(); ++i) ts[i] = 100 + i;
  auto keys = WriteSegmentFiles(store_.get(), "big/", rows, ts);
  ASSERT_TRUE(keys.ok()) << keys.status().ToString();
  for (const auto& col : rows.columns) {
    std::string encoded;
    EncodeColumn(col, &encoded);
    std::string file = *store_->Get("big/" + std::to_string(col.field_id.value) + ".col");
    std::string want = FrameFile(FileKind::kColumn, encoded);
    size_t diff = 0;
    while (diff < std::min(file.size(), want.size()) && file[diff] == want[diff]) ++diff;
    EXPECT_TRUE(file == want) << "field " << col.field_id.value << ": " << file.size() << " bytes, "
                              << want.size() << " wanted, first difference at " << diff;
  }
  ColumnBatch back;
  std::vector<Timestamp> back_ts;
  Status st = ReadSegmentFiles(store_.get(), *keys, &back, &back_ts);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(back_ts, ts);
  ASSERT_EQ(back.columns.size(), rows.columns.size());
  for (size_t c = 0; c < rows.columns.size(); ++c) {
    EXPECT_EQ(back.columns[c].fixed, rows.columns[c].fixed);
    EXPECT_EQ(back.columns[c].offsets, rows.columns[c].offsets);
    EXPECT_EQ(back.columns[c].bytes, rows.columns[c].bytes);
    EXPECT_EQ(back.columns[c].valid, rows.columns[c].valid);
  }
}

TEST_F(SegmentFileTest, DeltaFileRoundTripAndTruncation) {
  std::vector<DeleteRecord> dels = {{int64_t{5}, 10, 0}, {std::string("abc"), 11, 42}};
  ASSERT_TRUE(WriteDeltaFile(store_.get(), "d.del", dels).ok());
  auto back = ReadDeltaFile(store_.get(), "d.del");
  ASSERT_TRUE(back.ok());
  ASSERT_EQ(back->size(), 2u);
  EXPECT_EQ(std::get<int64_t>((*back)[0].pk), 5);
  EXPECT_EQ(std::get<std::string>((*back)[1].pk), "abc");
  EXPECT_EQ((*back)[1].ts, 11u);
  EXPECT_EQ((*back)[1].partition, 42);
  std::string file = *store_->Get("d.del");
  ASSERT_TRUE(store_->Put("d.del", file.substr(0, file.size() - 3)).ok());
  EXPECT_EQ(ReadDeltaFile(store_.get(), "d.del").status().code(), StatusCode::kCorruption);
}

// Storage damage (issue #20): every truncation of every segment file -- at
// every byte, so at every field boundary and inside the frame header -- is
// Corruption, never a crash or short data.
TEST_F(SegmentFileTest, EveryTruncationOfEverySegmentFileIsDetected) {
  auto schema = TestSchema();
  auto keys = WriteSegmentFiles(store_.get(), "c/", Rows(*schema, {1, 2, 3}, 0), {1, 2, 3});
  ASSERT_TRUE(keys.ok());
  for (const auto& key : *keys) {
    const std::string good = *store_->Get(key);
    for (size_t n = 0; n < good.size(); ++n) {
      ASSERT_TRUE(store_->Put(key, good.substr(0, n)).ok());
      ColumnBatch b;
      std::vector<Timestamp> t;
      Status st = ReadSegmentFiles(store_.get(), *keys, &b, &t);
      EXPECT_EQ(st.code(), StatusCode::kCorruption) << key << " cut at " << n << ": " << st.ToString();
    }
    ASSERT_TRUE(store_->Put(key, good + "x").ok());
    ColumnBatch b;
    std::vector<Timestamp> t;
    EXPECT_EQ(ReadSegmentFiles(store_.get(), *keys, &b, &t).code(), StatusCode::kCorruption) << key << " + 1 byte";
    ASSERT_TRUE(store_->Put(key, good).ok());
  }
  ColumnBatch b;
  std::vector<Timestamp> t;
  EXPECT_TRUE(ReadSegmentFiles(store_.get(), *keys, &b, &t).ok());
}

TEST_F(SegmentFileTest, EveryFlippedByteAndTruncationOfADeltaFileIsDetected) {
  std::vector<DeleteRecord> dels = {{int64_t{5}, 10, 0}, {std::string("abc"), 11, 42}, {int64_t{-9}, 12, 3}};
  ASSERT_TRUE(WriteDeltaFile(store_.get(), "d.del", dels).ok());
  const std::string good = *store_->Get("d.del");
  for (size_t i = 0; i < good.size(); ++i) {
    std::string bad = good;
    bad[i] = static_cast<char>(bad[i] ^ 0x21);
    ASSERT_TRUE(store_->Put("d.del", bad).ok());
    EXPECT_EQ(ReadDeltaFile(store_.get(), "d.del").status().code(), StatusCode::kCorruption) << "byte " << i;
  }
  for (size_t n = 0; n < good.size(); ++n) {
    ASSERT_TRUE(store_->Put("d.del", good.substr(0, n)).ok());
    EXPECT_EQ(ReadDeltaFile(store_.get(), "d.del").status().code(), StatusCode::kCorruption) << "cut at " << n;
  }
  ASSERT_TRUE(store_->Put("d.del", good).ok());
  EXPECT_TRUE(ReadDeltaFile(store_.get(), "d.del").ok());
}

TEST_F(SegmentFileTest, EveryTruncationOfAnIndexFileIsDetected) {
  IndexFileHeader h;
  h.segment = SegmentId(7);
  h.index = IndexId(3);
  h.field = FieldId(101);
  h.params = {{"index_type", "HNSW"}};
  h.rows = 12;
  std::string payload(3000, '\0');
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(i * 7 % 251);
  ASSERT_TRUE(WriteIndexFile(store_.get(), "t.idx", h, payload).ok());
  const std::string good = *store_->Get("t.idx");
  std::string back;
  for (size_t n = 0; n < good.size(); ++n) {
    ASSERT_TRUE(store_->Put("t.idx", good.substr(0, n)).ok());
    EXPECT_EQ(ReadWholeIndexFile(store_.get(), "t.idx", &back).status().code(), StatusCode::kCorruption)
        << "cut at " << n;
  }
}

TEST(DmlMessageTest, RoundTripsEveryType) {
  auto schema = TestSchema();
  for (DmlType type : {DmlType::kInsert, DmlType::kDelete, DmlType::kUpsert}) {
    DmlMessage m;
    m.type = type;
    m.collection = CollectionId(3);
    m.partition = PartitionId(4);
    m.delete_partition = PartitionId(type == DmlType::kDelete ? 4 : 0);
    m.ts = 123456;
    if (type != DmlType::kDelete) m.rows = Rows(*schema, {1, 2}, 1);
    if (type != DmlType::kInsert) m.delete_pks = Rows(*schema, {1, 2}, 1).columns[0];
    std::string enc = EncodeDml(m);
    auto back = DecodeDml(enc);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(back->type, type);
    EXPECT_EQ(back->ts, 123456u);
    EXPECT_EQ(back->delete_partition, m.delete_partition);
    EXPECT_EQ(back->rows.num_rows, m.rows.num_rows);
    EXPECT_EQ(back->delete_pks.num_rows, m.delete_pks.num_rows);
    // Every strict prefix is rejected, never misread.
    for (size_t n = 0; n < enc.size(); ++n) {
      EXPECT_FALSE(DecodeDml(std::string_view(enc).substr(0, n)).ok()) << "prefix " << n;
    }
  }
}

TEST(MergeTest, MergeHitsKeepsBestAndDropsDuplicateKeys) {
  HitList a = {{0.1f, int64_t{1}, {}}, {0.5f, int64_t{2}, {}}};
  HitList b = {{0.2f, int64_t{3}, {}}, {0.3f, int64_t{1}, {}}, {0.9f, int64_t{4}, {}}};
  HitList out = MergeHits({a, b}, MergeOptions{3, false});
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(std::get<int64_t>(out[0].pk), 1);
  EXPECT_EQ(std::get<int64_t>(out[1].pk), 3);
  EXPECT_EQ(std::get<int64_t>(out[2].pk), 2);
  HitList ip = MergeHits({{{0.9f, int64_t{1}, {}}}, {{0.95f, int64_t{2}, {}}}}, MergeOptions{1, true});
  ASSERT_EQ(ip.size(), 1u);
  EXPECT_EQ(std::get<int64_t>(ip[0].pk), 2) << "higher is better for IP/COSINE";
}

TEST(MergeTest, MergeRetrievedKeepsNewestVersionOrderedByKey) {
  auto schema = TestSchema();
  Segment old_seg(Meta(1), schema), new_seg(Meta(2), schema);
  old_seg.Append(Rows(*schema, {3, 1}, 1.0f), {10, 10});
  new_seg.Append(Rows(*schema, {1}, 2.0f), {20});
  RetrievePlan plan;
  plan.ts = 100;
  plan.output_fields = {FieldId(101)};
  std::vector<Retrieved> parts(2);
  ASSERT_TRUE(RetrieveFromSegment(old_seg, plan, &parts[0]).ok());
  ASSERT_TRUE(RetrieveFromSegment(new_seg, plan, &parts[1]).ok());
  Retrieved m = MergeRetrieved(std::move(parts), plan);
  ASSERT_EQ(m.rows.num_rows, 2);
  EXPECT_EQ(m.rows.columns[0].Get<int64_t>(0), 1);
  EXPECT_EQ(m.rows.columns[1].Get<float>(0), 2.0f) << "newest version of key 1";
  EXPECT_EQ(m.rows.columns[0].Get<int64_t>(1), 3);
}

}  // namespace
}  // namespace kite
