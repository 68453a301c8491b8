#include "rpc/rest/rest_rows.h"

#include <gtest/gtest.h>

#include <cmath>

namespace kite::rest {
namespace {

FieldSchema Field(int64_t id, const char* name, DataType type, std::map<std::string, std::string> params = {}) {
  FieldSchema f;
  f.id = FieldId(id);
  f.name = name;
  f.type = type;
  f.type_params = std::move(params);
  return f;
}

CollectionSchema Schema() {
  CollectionSchema s;
  s.name = "c";
  s.enable_dynamic_field = true;
  FieldSchema pk = Field(100, "id", DataType::kInt64);
  pk.is_primary = true;
  s.fields.push_back(pk);
  s.fields.push_back(Field(101, "v", DataType::kFloatVector, {{"dim", "2"}}));
  s.fields.push_back(Field(102, "h", DataType::kFloat16Vector, {{"dim", "2"}}));
  FieldSchema arr = Field(103, "arr", DataType::kArray, {{"max_capacity", "4"}});
  arr.element_type = DataType::kVarChar;
  s.fields.push_back(arr);
  FieldSchema n = Field(104, "n", DataType::kInt8);
  n.nullable = true;
  s.fields.push_back(n);
  s.fields.push_back(Field(105, "sp", DataType::kSparseFloatVector));
  FieldSchema meta = Field(106, "$meta", DataType::kJson);
  meta.is_dynamic = true;
  s.fields.push_back(meta);
  return s;
}

// An Array of Structs field: rows' [{sub: value}, ...] become one column per
// sub-field (Array / ArrayOfVector, element j of each from struct j) and come
// back the same; Milvus's messages name the field, element and value.
TEST(RestRows, StructArraysRoundTrip) {
  CollectionSchema s;
  s.name = "c";
  FieldSchema pk = Field(100, "id", DataType::kInt64);
  pk.is_primary = true;
  s.fields.push_back(pk);
  StructFieldSchema st;
  st.id = FieldId(101);
  st.name = "clips";
  s.structs.push_back(st);
  FieldSchema text = Field(102, "clips[text]", DataType::kArray, {{"max_capacity", "4"}, {"max_length", "8"}});
  text.element_type = DataType::kVarChar;
  text.struct_name = "clips";
  FieldSchema n = Field(103, "clips[n]", DataType::kArray, {{"max_capacity", "4"}});
  n.element_type = DataType::kInt32;
  n.struct_name = "clips";
  FieldSchema emb = Field(104, "clips[emb]", DataType::kArrayOfVector, {{"max_capacity", "4"}, {"dim", "2"}});
  emb.element_type = DataType::kFloatVector;
  emb.struct_name = "clips";
  s.fields.push_back(text);
  s.fields.push_back(n);
  s.fields.push_back(emb);
  Json rows = Json::parse(R"([
    {"id": 1, "clips": [{"text": "a", "n": 3, "emb": [0.5, 1]}, {"text": "bc", "n": -1, "emb": [2, 0.25], "x": 0}]},
    {"id": 2, "clips": []}
  ])");
  ColumnBatch batch;
  ASSERT_TRUE(RowsToColumns(rows, s, false, &batch).ok());
  ASSERT_EQ(batch.columns.size(), 4u);
  std::vector<const FieldSchema*> subs = s.SubFields("clips");
  std::vector<const Column*> cols = {&batch.columns[1], &batch.columns[2], &batch.columns[3]};
  EXPECT_EQ(StructCellToJson(subs, cols, 0, true), Json::parse(R"([{"text": "a", "n": 3, "emb": [0.5, 1.0]},
                                                                    {"text": "bc", "n": -1, "emb": [2.0, 0.25]}])"));
  EXPECT_EQ(StructCellToJson(subs, cols, 1, true), Json::array());

  auto fails = [&](const char* row) {
    ColumnBatch b;
    Status st = RowsToColumns(Json::parse(row), s, false, &b);
    EXPECT_FALSE(st.ok()) << row;
    return std::string(st.message());
  };
  EXPECT_EQ(fails(R"([{"id": 1}])"), "missing struct array field: clips: invalid parameter");
  EXPECT_EQ(fails(R"([{"id": 1, "clips": [{"text": "a", "n": 1}]}])"),
            "struct array field clips element #0 missing sub-field emb: invalid parameter");
  EXPECT_EQ(fails(R"([{"id": 1, "clips": [{"text": "a", "n": 1, "emb": [1, 2]}, {"text": 1, "n": 1, "emb": [1, 2]}]}])"),
            "sub-field text parse error: expect string (value=1): invalid parameter");
  EXPECT_EQ(fails(R"([{"id": 1, "clips": [{"text": "a", "n": 1, "emb": [1]}]}])"),
            "sub-field emb vector dim mismatch: expect 2, got 1: invalid parameter");
}

TEST(RestRows, HalfAndBFloat16RoundTrip) {
  for (float f : {0.0f, 1.0f, -2.5f, 0.5f, 65504.0f, 6.1035156e-05f, 5.9604645e-08f}) {
    EXPECT_EQ(HalfToFloat(FloatToHalf(f)), f) << f;
  }
  EXPECT_TRUE(std::isinf(HalfToFloat(FloatToHalf(70000.0f))));
  EXPECT_EQ(HalfToFloat(FloatToHalf(1.0009765625f)), 1.0009765625f);  // 1 + 2^-10
  EXPECT_EQ(HalfToFloat(FloatToHalf(1.00048828125f)), 1.0f);          // halfway: to even
  for (float f : {0.0f, 1.5f, -3.0f, 1024.0f}) EXPECT_EQ(BFloat16ToFloat(FloatToBFloat16(f)), f) << f;
  EXPECT_EQ(BFloat16ToFloat(FloatToBFloat16(1.00390625f)), 1.0f);  // halfway: to even
}

TEST(RestRows, DecodesRowsAndDynamicKeys) {
  CollectionSchema s = Schema();
  Json rows = Json::parse(R"([
    {"id": 1, "v": [0.5, 1], "h": [1, -1], "arr": ["a", "bc"], "n": 7, "sp": {"3": 1.5, "1": 2}, "x": {"y": 1}},
    {"id": 2, "v": [0, 0], "h": "AAAAPA==", "arr": [], "sp": {"indices": [5], "values": [0.25]}}
  ])");
  ColumnBatch batch;
  ASSERT_TRUE(RowsToColumns(rows, s, false, &batch).ok());
  EXPECT_EQ(batch.num_rows, 2);
  const Column* v = batch.Find(FieldId(101));
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(CellToJson(*v, s.fields[1], 0, true), Json::parse("[0.5, 1.0]"));
  const Column* h = batch.Find(FieldId(102));
  EXPECT_EQ(CellToJson(*h, s.fields[2], 0, true), Json::parse("[1.0, -1.0]"));
  EXPECT_EQ(CellToJson(*h, s.fields[2], 1, true), Json::parse("[0.0, 1.0]"));  // base64 of halves 0, 1
  EXPECT_EQ(CellToJson(*batch.Find(FieldId(103)), s.fields[3], 0, true), Json::parse(R"(["a", "bc"])"));
  const Column* n = batch.Find(FieldId(104));
  EXPECT_EQ(CellToJson(*n, s.fields[4], 0, true), 7);
  EXPECT_TRUE(CellToJson(*n, s.fields[4], 1, true).is_null());
  EXPECT_EQ(CellToJson(*batch.Find(FieldId(105)), s.fields[5], 0, true), Json::parse(R"({"1": 2.0, "3": 1.5})"));
  const Column* meta = batch.Find(FieldId(106));
  Json row = Json::object();
  FlattenDynamic(meta->GetBytes(0), {}, &row);
  EXPECT_EQ(row, Json::parse(R"({"x": {"y": 1}})"));
  EXPECT_EQ(CellToJson(*batch.Find(FieldId(100)), s.fields[0], 1, false), "2");
}

TEST(RestRows, RejectsBadRows) {
  CollectionSchema s = Schema();
  const char* bad[] = {
      R"([{"id": 1, "v": [0.5], "h": [1, 1], "arr": [], "sp": {}}])",            // dim
      R"([{"id": 1, "v": [0.5, "x"], "h": [1, 1], "arr": [], "sp": {}}])",       // element type
      R"([{"id": 1.5, "v": [0, 0], "h": [1, 1], "arr": [], "sp": {}}])",         // pk not an integer
      R"([{"id": 1, "v": [0, 0], "h": [1e6, 1], "arr": [], "sp": {}}])",         // half overflow
      R"([{"id": 1, "v": [0, 0], "h": [1, 1], "arr": [1], "sp": {}}])",          // array element type
      R"([{"id": 1, "v": [0, 0], "h": [1, 1], "arr": [], "sp": {"-1": 1}}])",    // sparse index
      R"([{"id": 1, "v": [0, 0], "h": [1, 1], "arr": [], "sp": {}, "n": 300}])", // Int8 range
      R"([{"v": [0, 0], "h": [1, 1], "arr": [], "sp": {}}])",                    // missing pk
      R"([{"id": 1, "v": [0, 0], "h": [1, 1], "arr": [], "sp": {}, "$meta": 1}])",
      R"([7])",
  };
  for (const char* text : bad) {
    ColumnBatch batch;
    Status st = RowsToColumns(Json::parse(text), s, false, &batch);
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << text;
  }
}

TEST(RestRows, FloatsPrintShortest) {
  EXPECT_EQ(FloatToJson(0.1f).dump(), "0.1");
  EXPECT_EQ(FloatToJson(1e-7f).dump(), "1e-07");
  EXPECT_TRUE(FloatToJson(NAN).is_null());
}

// Issue 20 #17: a large insert body is decoded row by row (StreamRowsToColumns)
// with the same result as the whole-DOM decode, across several row batches.
TEST(RestRows, StreamedDecodeEqualsWholeDecode) {
  CollectionSchema s = Schema();
  Json rows = Json::array();
  for (int i = 0; i < 1300; ++i) {
    Json r = {{"id", i}, {"v", {i * 0.5, -i}}, {"h", {1, 0.5}}, {"arr", {"x"}}, {"sp", {{"2", 0.5}}}};
    if (i >= 700) r["n"] = i % 100;      // a nullable field first given after two batches
    if (i % 3 == 0) r["k"] = {{"i", i}};  // dynamic keys in some rows
    rows.push_back(r);
  }
  std::string body = Json{{"collectionName", "c"}, {"data", rows}}.dump();
  for (bool upsert : {false, true}) {
    ColumnBatch whole, streamed;
    ASSERT_TRUE(RowsToColumns(rows, s, upsert, &whole).ok());
    Status st = StreamRowsToColumns(body, s, upsert, &streamed);
    ASSERT_TRUE(st.ok()) << st.ToString();
    ASSERT_EQ(streamed.num_rows, whole.num_rows);
    ASSERT_EQ(streamed.columns.size(), whole.columns.size());
    for (const Column& a : whole.columns) {
      const Column* b = streamed.Find(a.field_id);
      ASSERT_NE(b, nullptr) << a.field_id.value;
      EXPECT_EQ(a.fixed, b->fixed);
      EXPECT_EQ(a.bytes, b->bytes);
      EXPECT_EQ(a.offsets, b->offsets);
      for (int64_t r = 0; r < a.num_rows; ++r) ASSERT_EQ(a.IsNull(r), b->IsNull(r)) << r;
    }
  }
  // An error in a later batch names the row by its number in the request.
  rows[1100]["v"] = {1};
  body = Json{{"data", rows}}.dump();
  ColumnBatch out;
  Status st = StreamRowsToColumns(body, s, false, &out);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("row 1100"), std::string::npos) << st.message();
}

TEST(RestRows, EnvelopeDefersOnlyTheTopLevelDataArray) {
  Json env;
  bool deferred = false;
  std::string error;
  ASSERT_TRUE(ParseBodyEnvelope(R"({"collectionName": "c", "data": [{"id": 1, "data": [2]}], "x": {"data": [3]}})",
                                &env, &deferred, &error));
  EXPECT_TRUE(deferred);
  EXPECT_EQ(env, Json::parse(R"({"collectionName": "c", "data": [], "x": {"data": [3]}})"));
  ASSERT_TRUE(ParseBodyEnvelope(R"({"data": {"id": 1}})", &env, &deferred, &error));
  EXPECT_FALSE(deferred);
  EXPECT_EQ(env, Json::parse(R"({"data": {"id": 1}})"));
  EXPECT_FALSE(ParseBodyEnvelope(R"({"data": [1, 2)", &env, &deferred, &error));
  EXPECT_NE(error.find("parse error"), std::string::npos) << error;
}

}  // namespace
}  // namespace kite::rest
