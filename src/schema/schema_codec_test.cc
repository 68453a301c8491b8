#include "schema/schema_codec.h"

#include <cmath>
#include <limits>

#include <gtest/gtest.h>

namespace kite {
namespace {

void ExpectFieldsEqual(const FieldSchema& a, const FieldSchema& b) {
  SCOPED_TRACE("field " + a.name);
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.description, b.description);
  EXPECT_EQ(a.type, b.type);
  EXPECT_EQ(a.element_type, b.element_type);
  EXPECT_EQ(a.is_primary, b.is_primary);
  EXPECT_EQ(a.auto_id, b.auto_id);
  EXPECT_EQ(a.nullable, b.nullable);
  EXPECT_EQ(a.is_dynamic, b.is_dynamic);
  EXPECT_EQ(a.is_partition_key, b.is_partition_key);
  EXPECT_EQ(a.is_clustering_key, b.is_clustering_key);
  EXPECT_EQ(a.is_function_output, b.is_function_output);
  EXPECT_EQ(a.type_params, b.type_params);
  EXPECT_EQ(a.index_params, b.index_params);
  ASSERT_EQ(a.default_value.has_value(), b.default_value.has_value());
  if (a.default_value) {
    // variant equality also compares the alternative held.
    EXPECT_EQ(a.default_value->index(), b.default_value->index());
    EXPECT_TRUE(*a.default_value == *b.default_value);
  }
}

CollectionSchema RichSchema() {
  CollectionSchema s;
  s.name = "articles";
  s.description = "every attribute set \"quoted\" \xc3\xa9";
  s.auto_id = true;
  s.enable_dynamic_field = true;
  s.properties = {{"collection.ttl.seconds", "3600"}, {"mmap.enabled", "true"}};

  FieldSchema pk;
  pk.id = FieldId(100);
  pk.name = "id";
  pk.description = "primary";
  pk.type = DataType::kInt64;
  pk.is_primary = true;
  pk.auto_id = true;
  s.fields.push_back(pk);

  FieldSchema text;
  text.id = FieldId(101);
  text.name = "text";
  text.type = DataType::kVarChar;
  text.type_params = {{"max_length", "1024"}, {"enable_analyzer", "true"}};
  text.default_value = std::string("n/a");
  text.nullable = true;
  s.fields.push_back(text);

  FieldSchema flag;
  flag.id = FieldId(102);
  flag.name = "flag";
  flag.type = DataType::kBool;
  flag.default_value = false;
  s.fields.push_back(flag);

  FieldSchema count;
  count.id = FieldId(103);
  count.name = "count";
  count.type = DataType::kInt64;
  count.default_value = int64_t{-9007199254740993};  // not representable as a double
  count.is_partition_key = true;
  s.fields.push_back(count);

  FieldSchema score;
  score.id = FieldId(104);
  score.name = "score";
  score.type = DataType::kDouble;
  score.default_value = 0.1;
  score.is_clustering_key = true;
  s.fields.push_back(score);

  FieldSchema whole;
  whole.id = FieldId(105);
  whole.name = "whole";
  whole.type = DataType::kFloat;
  whole.default_value = 3.0;  // integral double must stay a double
  s.fields.push_back(whole);

  FieldSchema tags;
  tags.id = FieldId(106);
  tags.name = "tags";
  tags.type = DataType::kArray;
  tags.element_type = DataType::kVarChar;
  tags.type_params = {{"max_capacity", "16"}, {"max_length", "32"}};
  s.fields.push_back(tags);

  FieldSchema vec;
  vec.id = FieldId(107);
  vec.name = "vec";
  vec.type = DataType::kFloatVector;
  vec.type_params = {{"dim", "768"}};
  vec.index_params = {{"metric_type", "L2"}};
  s.fields.push_back(vec);

  FieldSchema sparse;
  sparse.id = FieldId(108);
  sparse.name = "sparse";
  sparse.type = DataType::kSparseFloatVector;
  sparse.is_function_output = true;
  s.fields.push_back(sparse);

  FieldSchema dyn;
  dyn.id = FieldId(109);
  dyn.name = kDynamicFieldName;
  dyn.type = DataType::kJson;
  dyn.is_dynamic = true;
  s.fields.push_back(dyn);

  FunctionSchema bm25;
  bm25.name = "bm25_fn";
  bm25.id = 7;
  bm25.description = "text to sparse";
  bm25.type = 1;
  bm25.input_field_names = {"text"};
  bm25.output_field_names = {"sparse"};
  bm25.params = {{"k1", "1.2"}, {"b", "0.75"}};
  s.functions.push_back(bm25);
  FunctionSchema other;
  other.name = "second";
  other.type = 2;
  other.input_field_names = {"a", "b"};
  s.functions.push_back(other);
  return s;
}

TEST(SchemaCodecTest, RoundTripPreservesEveryAttribute) {
  CollectionSchema in = RichSchema();
  std::string doc = EncodeSchema(in);
  Result<CollectionSchema> out = DecodeSchema(doc);
  ASSERT_TRUE(out.ok()) << out.status().ToString();

  EXPECT_EQ(out->name, in.name);
  EXPECT_EQ(out->description, in.description);
  EXPECT_EQ(out->auto_id, in.auto_id);
  EXPECT_EQ(out->enable_dynamic_field, in.enable_dynamic_field);
  EXPECT_EQ(out->properties, in.properties);
  ASSERT_EQ(out->fields.size(), in.fields.size());
  for (size_t i = 0; i < in.fields.size(); ++i) ExpectFieldsEqual(out->fields[i], in.fields[i]);
  ASSERT_EQ(out->functions.size(), in.functions.size());
  for (size_t i = 0; i < in.functions.size(); ++i) {
    SCOPED_TRACE("function " + in.functions[i].name);
    EXPECT_EQ(out->functions[i].name, in.functions[i].name);
    EXPECT_EQ(out->functions[i].id, in.functions[i].id);
    EXPECT_EQ(out->functions[i].description, in.functions[i].description);
    EXPECT_EQ(out->functions[i].type, in.functions[i].type);
    EXPECT_EQ(out->functions[i].input_field_names, in.functions[i].input_field_names);
    EXPECT_EQ(out->functions[i].output_field_names, in.functions[i].output_field_names);
    EXPECT_EQ(out->functions[i].params, in.functions[i].params);
  }
  // Encoding is deterministic: re-encoding the decoded schema gives the same document.
  EXPECT_EQ(EncodeSchema(*out), doc);
}

TEST(SchemaCodecTest, DefaultValueKindsSurvive) {
  CollectionSchema s = RichSchema();
  Result<CollectionSchema> out = DecodeSchema(EncodeSchema(s));
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  const FieldSchema* text = out->FindField("text");
  const FieldSchema* flag = out->FindField("flag");
  const FieldSchema* count = out->FindField("count");
  const FieldSchema* score = out->FindField("score");
  const FieldSchema* whole = out->FindField("whole");
  const FieldSchema* vec = out->FindField("vec");
  ASSERT_TRUE(text && flag && count && score && whole && vec);
  ASSERT_TRUE(text->default_value && std::holds_alternative<std::string>(*text->default_value));
  EXPECT_EQ(std::get<std::string>(*text->default_value), "n/a");
  ASSERT_TRUE(flag->default_value && std::holds_alternative<bool>(*flag->default_value));
  EXPECT_FALSE(std::get<bool>(*flag->default_value));
  ASSERT_TRUE(count->default_value && std::holds_alternative<int64_t>(*count->default_value));
  EXPECT_EQ(std::get<int64_t>(*count->default_value), int64_t{-9007199254740993});
  ASSERT_TRUE(score->default_value && std::holds_alternative<double>(*score->default_value));
  EXPECT_EQ(std::get<double>(*score->default_value), 0.1);
  ASSERT_TRUE(whole->default_value && std::holds_alternative<double>(*whole->default_value));
  EXPECT_EQ(std::get<double>(*whole->default_value), 3.0);
  EXPECT_FALSE(vec->default_value.has_value());
}

TEST(SchemaCodecTest, ExtremeIntegerDefaultsSurvive) {
  for (int64_t v : {INT64_MAX, INT64_MIN, int64_t{0}}) {
    CollectionSchema s;
    s.name = "c";
    FieldSchema f;
    f.name = "n";
    f.type = DataType::kInt64;
    f.default_value = v;
    s.fields.push_back(f);
    Result<CollectionSchema> out = DecodeSchema(EncodeSchema(s));
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    ASSERT_TRUE(out->fields[0].default_value.has_value());
    ASSERT_TRUE(std::holds_alternative<int64_t>(*out->fields[0].default_value)) << v;
    EXPECT_EQ(std::get<int64_t>(*out->fields[0].default_value), v);
  }
}

// ValidateSchema accepts any double as a Float/Double default, so the codec must
// keep non-finite ones too: a schema that cannot be decoded again would make
// the persisted collection record (and the coordinator's startup) fail.
TEST(SchemaCodecTest, NonFiniteDoubleDefaultsSurvive) {
  for (double v : {std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity(),
                   std::numeric_limits<double>::quiet_NaN()}) {
    CollectionSchema s;
    s.name = "c";
    FieldSchema pk;
    pk.name = "id";
    pk.type = DataType::kInt64;
    pk.is_primary = true;
    FieldSchema vec;
    vec.name = "v";
    vec.type = DataType::kFloatVector;
    vec.type_params = {{"dim", "4"}};
    FieldSchema f;
    f.name = "d";
    f.type = DataType::kDouble;
    f.default_value = v;
    s.fields = {pk, vec, f};
    if (!ValidateSchema(s, Limits{}).ok()) continue;  // rejecting it up front is fine too
    Result<CollectionSchema> out = DecodeSchema(EncodeSchema(s));
    ASSERT_TRUE(out.ok()) << "default " << v << ": " << out.status().ToString();
    ASSERT_TRUE(out->fields[2].default_value.has_value());
    ASSERT_TRUE(std::holds_alternative<double>(*out->fields[2].default_value)) << v;
    double got = std::get<double>(*out->fields[2].default_value);
    if (std::isnan(v)) {
      EXPECT_TRUE(std::isnan(got));
    } else {
      EXPECT_EQ(got, v);
    }
  }
}

TEST(SchemaCodecTest, EmptySchemaRoundTrips) {
  CollectionSchema s;
  Result<CollectionSchema> out = DecodeSchema(EncodeSchema(s));
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_TRUE(out->name.empty());
  EXPECT_TRUE(out->fields.empty());
  EXPECT_TRUE(out->functions.empty());
  EXPECT_TRUE(out->properties.empty());
}

TEST(SchemaCodecTest, GarbageIsCorruption) {
  for (const std::string& bad : {std::string("not json at all"), std::string(""), std::string("{"),
                                 std::string("[]"), std::string("{}"), std::string("42"),
                                 std::string("{\"version\": 1}"), std::string("\x01\x02\xff garbage")}) {
    Result<CollectionSchema> r = DecodeSchema(bad);
    ASSERT_FALSE(r.ok()) << "accepted: " << bad;
    EXPECT_EQ(r.status().code(), StatusCode::kCorruption) << r.status().ToString();
  }
}

TEST(SchemaCodecTest, WrongVersionOrTruncatedIsCorruption) {
  std::string doc = EncodeSchema(RichSchema());
  std::string v2 = doc;
  auto pos = v2.find("\"version\":1");
  ASSERT_NE(pos, std::string::npos) << doc;
  v2.replace(pos, std::string("\"version\":1").size(), "\"version\":2");
  Result<CollectionSchema> r = DecodeSchema(v2);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption);

  Result<CollectionSchema> t = DecodeSchema(doc.substr(0, doc.size() / 2));
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), StatusCode::kCorruption);
}

TEST(SchemaCodecTest, WrongFieldTypeIsCorruption) {
  std::string doc = EncodeSchema(RichSchema());
  auto pos = doc.find("\"is_primary\":true");
  ASSERT_NE(pos, std::string::npos);
  doc.replace(pos, std::string("\"is_primary\":true").size(), "\"is_primary\":\"yes\"");
  Result<CollectionSchema> r = DecodeSchema(doc);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
}

TEST(SchemaCodecTest, StructArrayFieldsRoundTrip) {
  CollectionSchema s;
  s.name = "c";
  FieldSchema pk;
  pk.id = FieldId(100);
  pk.name = "id";
  pk.type = DataType::kInt64;
  pk.is_primary = true;
  s.fields.push_back(pk);
  StructFieldSchema st;
  st.id = FieldId(101);
  st.name = "clips";
  st.description = "d";
  st.type_params = {{"mmap.enabled", "true"}};
  s.structs.push_back(st);
  FieldSchema sub;
  sub.id = FieldId(102);
  sub.name = "clips[emb]";
  sub.struct_name = "clips";
  sub.type = DataType::kArrayOfVector;
  sub.element_type = DataType::kFloatVector;
  sub.type_params = {{"dim", "3"}, {"max_capacity", "5"}};
  s.fields.push_back(sub);
  auto back = DecodeSchema(EncodeSchema(s));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ASSERT_EQ(back->fields.size(), 2u);
  ExpectFieldsEqual(back->fields[1], sub);
  EXPECT_EQ(back->fields[1].struct_name, "clips");
  EXPECT_EQ(back->fields[0].struct_name, "");
  ASSERT_EQ(back->structs.size(), 1u);
  EXPECT_EQ(back->structs[0].id, st.id);
  EXPECT_EQ(back->structs[0].name, "clips");
  EXPECT_EQ(back->structs[0].description, "d");
  EXPECT_EQ(back->structs[0].type_params, st.type_params);
  // A document written before struct fields existed has no "structs" key and still reads.
  s.structs.clear();
  s.fields.pop_back();
  std::string old = EncodeSchema(s);
  EXPECT_EQ(old.find("structs"), std::string::npos);
  auto old_back = DecodeSchema(old);
  ASSERT_TRUE(old_back.ok());
  EXPECT_TRUE(old_back->structs.empty());
}

}  // namespace
}  // namespace kite
