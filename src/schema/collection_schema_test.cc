#include "schema/collection_schema.h"

#include <string>

#include <gtest/gtest.h>

namespace kite {
namespace {

FieldSchema Field(std::string name, DataType type, std::map<std::string, std::string> type_params = {}) {
  FieldSchema f;
  f.name = std::move(name);
  f.type = type;
  f.type_params = std::move(type_params);
  return f;
}

FieldSchema Pk(std::string name = "id", DataType type = DataType::kInt64) {
  FieldSchema f = Field(std::move(name), type);
  f.is_primary = true;
  if (type == DataType::kVarChar) f.type_params["max_length"] = "64";
  return f;
}

FieldSchema Vec(std::string name = "vec", DataType type = DataType::kFloatVector, std::string dim = "8") {
  return Field(std::move(name), type, {{"dim", std::move(dim)}});
}

// A minimal valid schema: Int64 pk + one float vector.
CollectionSchema Minimal() {
  CollectionSchema s;
  s.name = "coll";
  s.fields = {Pk(), Vec()};
  return s;
}

// Validates a schema with default limits.
Status Validate(const CollectionSchema& s) { return ValidateSchema(s, Limits{}); }

// Validates Minimal() plus one extra field.
Status ValidateWith(const FieldSchema& extra) {
  CollectionSchema s = Minimal();
  s.fields.push_back(extra);
  return Validate(s);
}

#define EXPECT_INVALID(st, substr)                                            \
  do {                                                                        \
    ::kite::Status _s = (st);                                                 \
    EXPECT_EQ(_s.code(), ::kite::StatusCode::kInvalidArgument) << _s.ToString(); \
    EXPECT_NE(_s.message().find(substr), std::string::npos)                   \
        << "message '" << _s.message() << "' lacks '" << (substr) << "'";     \
  } while (0)

TEST(ValidateSchemaTest, AcceptsEveryScalarType) {
  CollectionSchema s = Minimal();
  s.fields.push_back(Field("f_bool", DataType::kBool));
  s.fields.push_back(Field("f_int8", DataType::kInt8));
  s.fields.push_back(Field("f_int16", DataType::kInt16));
  s.fields.push_back(Field("f_int32", DataType::kInt32));
  s.fields.push_back(Field("f_int64", DataType::kInt64));
  s.fields.push_back(Field("f_float", DataType::kFloat));
  s.fields.push_back(Field("f_double", DataType::kDouble));
  s.fields.push_back(Field("f_varchar", DataType::kVarChar, {{"max_length", "65535"}}));
  s.fields.push_back(Field("f_json", DataType::kJson));
  FieldSchema arr = Field("f_array", DataType::kArray, {{"max_capacity", "4096"}});
  arr.element_type = DataType::kInt32;
  s.fields.push_back(arr);
  FieldSchema arr_str = Field("f_array_str", DataType::kArray, {{"max_capacity", "1"}, {"max_length", "16"}});
  arr_str.element_type = DataType::kVarChar;
  s.fields.push_back(arr_str);
  Status st = Validate(s);
  EXPECT_TRUE(st.ok()) << st.ToString();
}

TEST(ValidateSchemaTest, AcceptsEveryVectorType) {
  // At most four vector fields per collection, so two schemas.
  CollectionSchema a;
  a.name = "vectors_a";
  a.fields = {Pk(), Vec("fv", DataType::kFloatVector, "32768"), Vec("bv", DataType::kBinaryVector, "16"),
              Vec("f16", DataType::kFloat16Vector, "2"), Vec("bf16", DataType::kBFloat16Vector, "128")};
  Status st = Validate(a);
  EXPECT_TRUE(st.ok()) << st.ToString();

  CollectionSchema b;
  b.name = "vectors_b";
  b.fields = {Pk("pk", DataType::kVarChar), Vec("i8", DataType::kInt8Vector, "64"),
              Field("sparse", DataType::kSparseFloatVector)};
  st = Validate(b);
  EXPECT_TRUE(st.ok()) << st.ToString();
}

TEST(ValidateSchemaTest, AcceptsValidDefaultsAndNullable) {
  CollectionSchema s = Minimal();
  FieldSchema b = Field("b", DataType::kBool);
  b.default_value = true;
  FieldSchema i8 = Field("i8", DataType::kInt8);
  i8.default_value = int64_t{127};
  FieldSchema d = Field("d", DataType::kDouble);
  d.default_value = 2.5;
  FieldSchema v = Field("v", DataType::kVarChar, {{"max_length", "5"}});
  v.default_value = std::string("hello");
  v.nullable = true;
  s.fields.insert(s.fields.end(), {b, i8, d, v});
  Status st = Validate(s);
  EXPECT_TRUE(st.ok()) << st.ToString();
}

TEST(ValidateSchemaTest, RejectsMissingPrimaryKey) {
  CollectionSchema s;
  s.name = "coll";
  s.fields = {Field("id", DataType::kInt64), Vec()};
  Status st = Validate(s);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(st.Is(Reason::kMissingParameter)) << st.ToString();
  EXPECT_NE(st.message().find("primary key"), std::string::npos) << st.message();
}

TEST(ValidateSchemaTest, RejectsTwoPrimaryKeys) {
  CollectionSchema s = Minimal();
  s.fields.push_back(Pk("id2"));
  Status st = Validate(s);
  EXPECT_INVALID(st, "more than one primary key");
  EXPECT_INVALID(st, "id2");
}

TEST(ValidateSchemaTest, RejectsFloatPrimaryKey) {
  CollectionSchema s;
  s.name = "coll";
  s.fields = {Pk("id", DataType::kFloat), Vec()};
  EXPECT_INVALID(Validate(s), "primary key should be Int64 or VarChar");
}

TEST(ValidateSchemaTest, AcceptsVarCharPrimaryKey) {
  CollectionSchema s;
  s.name = "coll";
  s.fields = {Pk("id", DataType::kVarChar), Vec()};
  Status st = Validate(s);
  EXPECT_TRUE(st.ok()) << st.ToString();
}

TEST(ValidateSchemaTest, RejectsDimensionOutOfRange) {
  for (const char* dim : {"0", "1", "32769", "-8"}) {
    CollectionSchema s;
    s.name = "coll";
    s.fields = {Pk(), Vec("embedding", DataType::kFloatVector, dim)};
    Status st = Validate(s);
    EXPECT_INVALID(st, std::string("invalid dimension: ") + dim);
  }
  // Above the maximum the message names the field too.
  CollectionSchema s;
  s.name = "coll";
  s.fields = {Pk(), Vec("embedding", DataType::kFloat16Vector, "32769")};
  EXPECT_INVALID(Validate(s), "embedding");
}

TEST(ValidateSchemaTest, AcceptsDimensionBounds) {
  for (const char* dim : {"2", "32768"}) {
    CollectionSchema s;
    s.name = "coll";
    s.fields = {Pk(), Vec("embedding", DataType::kFloatVector, dim)};
    Status st = Validate(s);
    EXPECT_TRUE(st.ok()) << dim << ": " << st.ToString();
  }
}

TEST(ValidateSchemaTest, RejectsMissingOrNonNumericDimension) {
  CollectionSchema s;
  s.name = "coll";
  s.fields = {Pk(), Field("embedding", DataType::kFloatVector)};
  EXPECT_INVALID(Validate(s), "embedding");
  s.fields[1].type_params["dim"] = "eight";
  EXPECT_INVALID(Validate(s), "eight");
}

TEST(ValidateSchemaTest, RejectsBinaryDimensionNotMultipleOfEight) {
  CollectionSchema s;
  s.name = "coll";
  s.fields = {Pk(), Vec("bits", DataType::kBinaryVector, "12")};
  Status st = Validate(s);
  EXPECT_INVALID(st, "multiple of 8");
  EXPECT_INVALID(st, "bits");
  EXPECT_INVALID(st, "12");
}

TEST(ValidateSchemaTest, RejectsSparseVectorWithDimension) {
  CollectionSchema s;
  s.name = "coll";
  s.fields = {Pk(), Vec("sparse", DataType::kSparseFloatVector, "8")};
  EXPECT_INVALID(Validate(s), "sparse");
}

TEST(ValidateSchemaTest, RejectsVarCharWithoutMaxLength) {
  Status st = ValidateWith(Field("title", DataType::kVarChar));
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(st.Is(Reason::kMissingParameter)) << st.ToString();
  EXPECT_NE(st.message().find("max_length"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("title"), std::string::npos) << st.message();
}

TEST(ValidateSchemaTest, RejectsVarCharMaxLengthOutOfRange) {
  for (const char* len : {"65536", "0", "-1", "abc"}) {
    Status st = ValidateWith(Field("title", DataType::kVarChar, {{"max_length", len}}));
    EXPECT_INVALID(st, "title");
    EXPECT_INVALID(st, len);
  }
}

TEST(ValidateSchemaTest, RejectsArrayWithoutMaxCapacity) {
  FieldSchema arr = Field("tags", DataType::kArray);
  arr.element_type = DataType::kInt64;
  Status st = ValidateWith(arr);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(st.Is(Reason::kMissingParameter)) << st.ToString();
  EXPECT_NE(st.message().find("max_capacity"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("tags"), std::string::npos) << st.message();
}

TEST(ValidateSchemaTest, RejectsArrayCapacityOutOfRange) {
  for (const char* cap : {"4097", "0"}) {
    FieldSchema arr = Field("tags", DataType::kArray, {{"max_capacity", cap}});
    arr.element_type = DataType::kInt64;
    EXPECT_INVALID(ValidateWith(arr), "4096");
  }
}

TEST(ValidateSchemaTest, RejectsArrayWithBadElementType) {
  for (DataType et : {DataType::kNone, DataType::kJson, DataType::kArray, DataType::kFloatVector}) {
    FieldSchema arr = Field("tags", DataType::kArray, {{"max_capacity", "8"}});
    arr.element_type = et;
    EXPECT_INVALID(ValidateWith(arr), "tags");
  }
  // A VarChar element needs max_length.
  FieldSchema arr = Field("tags", DataType::kArray, {{"max_capacity", "8"}});
  arr.element_type = DataType::kVarChar;
  Status st = ValidateWith(arr);
  EXPECT_TRUE(st.Is(Reason::kMissingParameter)) << st.ToString();
}

TEST(ValidateSchemaTest, RejectsDefaultOnPrimaryKey) {
  CollectionSchema s = Minimal();
  s.fields[0].default_value = int64_t{1};
  Status st = Validate(s);
  EXPECT_INVALID(st, "default_value");
  EXPECT_INVALID(st, "id");
}

TEST(ValidateSchemaTest, RejectsDefaultTypeMismatch) {
  FieldSchema f = Field("age", DataType::kInt32);
  f.default_value = std::string("ten");
  Status st = ValidateWith(f);
  EXPECT_INVALID(st, "age");
  EXPECT_INVALID(st, "Int32");

  FieldSchema b = Field("flag", DataType::kBool);
  b.default_value = int64_t{1};
  EXPECT_INVALID(ValidateWith(b), "flag");

  FieldSchema d = Field("score", DataType::kDouble);
  d.default_value = true;
  EXPECT_INVALID(ValidateWith(d), "score");
}

TEST(ValidateSchemaTest, RejectsDefaultOutOfRangeOrTooLong) {
  FieldSchema f = Field("small", DataType::kInt8);
  f.default_value = int64_t{128};
  Status st = ValidateWith(f);
  EXPECT_INVALID(st, "small");
  EXPECT_INVALID(st, "128");

  FieldSchema v = Field("name", DataType::kVarChar, {{"max_length", "3"}});
  v.default_value = std::string("toolong");
  EXPECT_INVALID(ValidateWith(v), "name");
}

TEST(ValidateSchemaTest, RejectsDefaultOnJsonAndVector) {
  FieldSchema j = Field("doc", DataType::kJson);
  j.default_value = std::string("{}");
  EXPECT_INVALID(ValidateWith(j), "doc");
}

TEST(ValidateSchemaTest, RejectsNullablePrimaryKey) {
  CollectionSchema s = Minimal();
  s.fields[0].nullable = true;
  Status st = Validate(s);
  EXPECT_INVALID(st, "null");
  EXPECT_INVALID(st, "id");
}

TEST(ValidateSchemaTest, AcceptsNullableVector) {  // Milvus 2.6 nullable vector fields
  CollectionSchema s = Minimal();
  s.fields[1].nullable = true;
  EXPECT_TRUE(Validate(s).ok());
}

TEST(ValidateAddedFieldTest, FollowsMilvusAddFieldChecks) {
  CollectionSchema s = Minimal();
  Limits limits;
  FieldSchema f = Field("extra", DataType::kInt64);
  Status st = ValidateAddedField(s, f, limits);
  EXPECT_EQ(st.message(), "added field must be nullable, please check it, field name = extra: invalid parameter");
  f.nullable = true;
  EXPECT_TRUE(ValidateAddedField(s, f, limits).ok());
  FieldSchema dup = s.fields[1];
  dup.nullable = true;
  dup.is_primary = false;
  EXPECT_EQ(ValidateAddedField(s, dup, limits).message(), "duplicate field name: " + dup.name + ": invalid parameter");
  f.is_primary = true;
  EXPECT_EQ(ValidateAddedField(s, f, limits).message(),
            "not support to add pk field, field name = extra: invalid parameter");
}

TEST(ValidateSchemaTest, RejectsAutoIdOnNonPrimary) {
  FieldSchema f = Field("other", DataType::kInt64);
  f.auto_id = true;
  EXPECT_INVALID(ValidateWith(f), "other");
}

TEST(ValidateSchemaTest, FieldCountLimit) {
  CollectionSchema s = Minimal();
  while (s.fields.size() < 64) s.fields.push_back(Field("f" + std::to_string(s.fields.size()), DataType::kInt64));
  Status st = Validate(s);
  EXPECT_TRUE(st.ok()) << st.ToString();  // exactly 64 is fine
  s.fields.push_back(Field("one_too_many", DataType::kInt64));
  EXPECT_INVALID(Validate(s), "64");
}

TEST(ValidateSchemaTest, RejectsDuplicateFieldNames) {
  Status st = ValidateWith(Field("vec", DataType::kInt64));
  EXPECT_INVALID(st, "duplicated field name");
  EXPECT_INVALID(st, "vec");
}

TEST(ValidateSchemaTest, RejectsInvalidFieldNames) {
  for (const char* name : {"1a", "a-b", "a b", "$meta"}) {
    Status st = ValidateWith(Field(name, DataType::kInt64));
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << name;
    EXPECT_TRUE(st.Is(Reason::kInvalidFieldName)) << name << ": " << st.ToString();
    EXPECT_NE(st.message().find(name), std::string::npos) << st.message();
  }
  Status st = ValidateWith(Field("", DataType::kInt64));
  EXPECT_TRUE(st.Is(Reason::kInvalidFieldName)) << st.ToString();
  EXPECT_INVALID(st, "empty");
}

TEST(ValidateSchemaTest, FieldNameLength) {
  Status ok = ValidateFieldName(std::string(255, 'a'), Limits{});
  EXPECT_TRUE(ok.ok()) << ok.ToString();
  Status st = ValidateFieldName(std::string(256, 'a'), Limits{});
  EXPECT_TRUE(st.Is(Reason::kInvalidFieldName)) << st.ToString();
  EXPECT_INVALID(st, "255");
  EXPECT_TRUE(ValidateFieldName("_x9", Limits{}).ok());
}

TEST(ValidateSchemaTest, RejectsNoVectorField) {
  CollectionSchema s;
  s.name = "coll";
  s.fields = {Pk(), Field("x", DataType::kFloat)};
  EXPECT_INVALID(Validate(s), "vector field");
}

TEST(ValidateSchemaTest, RejectsFiveVectorFields) {
  CollectionSchema s;
  s.name = "coll";
  s.fields = {Pk()};
  for (int i = 0; i < 4; ++i) s.fields.push_back(Vec("v" + std::to_string(i)));
  Status st = Validate(s);
  EXPECT_TRUE(st.ok()) << st.ToString();  // four is the limit
  s.fields.push_back(Vec("v4"));
  EXPECT_INVALID(Validate(s), "4");
}

TEST(ValidateSchemaTest, RejectsUnsupportedTypes) {
  for (DataType t : {DataType::kNone, DataType::kString, DataType::kText,
                     DataType::kStruct, static_cast<DataType>(77)}) {
    Status st = ValidateWith(Field("odd", t));
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << static_cast<int>(t);
  }
}

TEST(ValidateSchemaTest, AcceptsGeometryAndTimestamptz) {
  for (DataType t : {DataType::kGeometry, DataType::kTimestamptz}) {
    FieldSchema f = Field("odd", t);
    f.nullable = true;
    Status st = ValidateWith(f);
    EXPECT_TRUE(st.ok()) << st.ToString();
  }
  FieldSchema g = Field("geo", DataType::kGeometry);
  g.default_value = ScalarValue(std::string("POINT(1"));
  EXPECT_INVALID(ValidateWith(g), "invalid Geometry data");
  g.default_value = ScalarValue(std::string("POINT(1 2)"));
  EXPECT_TRUE(ValidateWith(g).ok());
  FieldSchema t = Field("ts", DataType::kTimestamptz);
  t.default_value = ScalarValue(int64_t{1735689600000000});
  EXPECT_TRUE(ValidateWith(t).ok());
}

TEST(ValidateSchemaTest, RejectsExplicitDynamicField) {
  FieldSchema f = Field("extra", DataType::kJson);
  f.is_dynamic = true;
  EXPECT_INVALID(ValidateWith(f), "dynamic");
}

TEST(ValidateSchemaTest, PartitionKeyRules) {
  FieldSchema pk_field = Field("tenant", DataType::kInt64);
  pk_field.is_partition_key = true;
  Status st = ValidateWith(pk_field);
  EXPECT_TRUE(st.ok()) << st.ToString();

  FieldSchema bad_type = Field("tenant", DataType::kFloat);
  bad_type.is_partition_key = true;
  EXPECT_INVALID(ValidateWith(bad_type), "tenant");

  CollectionSchema two = Minimal();
  pk_field.name = "t1";
  two.fields.push_back(pk_field);
  pk_field.name = "t2";
  two.fields.push_back(pk_field);
  EXPECT_INVALID(Validate(two), "partition key");
}

TEST(ValidateSchemaTest, RejectsInvalidCollectionName) {
  CollectionSchema s = Minimal();
  s.name = "1coll";
  Status st = Validate(s);
  EXPECT_TRUE(st.Is(Reason::kInvalidName)) << st.ToString();
  EXPECT_INVALID(st, "1coll");
}

// ------------------------------------------------------------------- names

TEST(NameValidationTest, CollectionName) {
  Limits l;
  EXPECT_TRUE(ValidateCollectionName(std::string(255, 'c'), "name", l).ok());
  EXPECT_TRUE(ValidateCollectionName("_c0ll_9", "name", l).ok());
  EXPECT_TRUE(ValidateCollectionName("C", "name", l).ok());

  Status st = ValidateCollectionName(std::string(256, 'c'), "name", l);
  EXPECT_TRUE(st.Is(Reason::kInvalidName)) << st.ToString();
  EXPECT_INVALID(st, "255");

  st = ValidateCollectionName("9lives", "name", l);
  EXPECT_TRUE(st.Is(Reason::kInvalidName)) << st.ToString();
  EXPECT_INVALID(st, "9lives");
  EXPECT_INVALID(st, "first character");

  st = ValidateCollectionName("my-coll", "name", l);
  EXPECT_TRUE(st.Is(Reason::kInvalidName)) << st.ToString();
  EXPECT_INVALID(st, "my-coll");

  st = ValidateCollectionName("", "name", l);
  EXPECT_INVALID(st, "empty");
  // Blanks only count as empty (Milvus trimmed the name first); every text
  // ends in merr's ": invalid parameter".
  st = ValidateCollectionName("  ", "name", l);
  EXPECT_INVALID(st, "collection name should not be empty: invalid parameter");
  st = ValidateCollectionName("9lives", "name", l);
  EXPECT_INVALID(st, "must be an underscore or letter: invalid parameter");

  // `what` appears in the message.
  st = ValidateCollectionName("a.b", "alias", l);
  EXPECT_INVALID(st, "alias");
}

TEST(NameValidationTest, CollectionNameHonoursConfiguredLimit) {
  Limits l;
  l.max_name_length = 4;
  EXPECT_TRUE(ValidateCollectionName("abcd", "name", l).ok());
  EXPECT_FALSE(ValidateCollectionName("abcde", "name", l).ok());
}

TEST(NameValidationTest, PartitionName) {
  Limits l;
  EXPECT_TRUE(ValidatePartitionName(std::string(255, 'p'), l).ok());
  EXPECT_TRUE(ValidatePartitionName("_default", l).ok());
  // Milvus allows a leading digit and '-' after the first character in partition names.
  EXPECT_TRUE(ValidatePartitionName("2024", l).ok());
  EXPECT_TRUE(ValidatePartitionName("p-2024", l).ok());

  EXPECT_INVALID(ValidatePartitionName(std::string(256, 'p'), l), "255");
  EXPECT_INVALID(ValidatePartitionName("-p", l), "-p");
  EXPECT_INVALID(ValidatePartitionName("p.1", l), "p.1");
  EXPECT_INVALID(ValidatePartitionName("", l), "empty");
}

TEST(NameValidationTest, DatabaseName) {
  Limits l;
  EXPECT_TRUE(ValidateDatabaseName(std::string(255, 'd'), l).ok());
  EXPECT_TRUE(ValidateDatabaseName("default", l).ok());
  EXPECT_TRUE(ValidateDatabaseName("_db1", l).ok());

  for (std::string bad : {std::string(256, 'd'), std::string("1db"), std::string("my-db"), std::string("")}) {
    Status st = ValidateDatabaseName(bad, l);
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_TRUE(st.Is(Reason::kInvalidDatabaseName)) << bad << ": " << st.ToString();
    if (!bad.empty() && bad.size() < 20) EXPECT_INVALID(st, bad);
  }
}

}  // namespace
}  // namespace kite

namespace kite {
namespace {

// BM25 functions: Milvus's validateFunction rules and messages.
CollectionSchema WithBm25(bool analyzer, DataType out_type, bool nullable_in = false) {
  CollectionSchema s = Minimal();
  FieldSchema text = Field("text", DataType::kVarChar, {{"max_length", "100"}});
  if (analyzer) text.type_params["enable_analyzer"] = "true";
  text.nullable = nullable_in;
  s.fields.push_back(text);
  FieldSchema out = out_type == DataType::kSparseFloatVector ? Field("sparse", out_type, {}) : Vec("sparse", out_type);
  s.fields.push_back(out);
  FunctionSchema fn;
  fn.name = "bm25";
  fn.type = kFunctionTypeBM25;
  fn.input_field_names = {"text"};
  fn.output_field_names = {"sparse"};
  s.functions.push_back(fn);
  return s;
}

TEST(ValidateSchemaTest, Bm25FunctionRules) {
  EXPECT_TRUE(Validate(WithBm25(true, DataType::kSparseFloatVector)).ok());
  EXPECT_INVALID(Validate(WithBm25(false, DataType::kSparseFloatVector)),
                 "BM25 function input field must set enable_analyzer to true");
  EXPECT_INVALID(Validate(WithBm25(true, DataType::kFloatVector)),
                 "BM25 function output field must be a SparseFloatVector field, but got FloatVector");
  EXPECT_INVALID(Validate(WithBm25(true, DataType::kSparseFloatVector, true)),
                 "function input field cannot be nullable: function bm25, field text");
  CollectionSchema s = WithBm25(true, DataType::kSparseFloatVector);
  s.functions[0].params["k"] = "v";
  EXPECT_INVALID(Validate(s), "BM25 function accepts no params");
  s = WithBm25(true, DataType::kSparseFloatVector);
  s.functions[0].output_field_names = {"nope"};
  EXPECT_INVALID(Validate(s), "function output field not found: nope");
  s = WithBm25(true, DataType::kSparseFloatVector);
  s.functions.push_back(s.functions[0]);
  EXPECT_INVALID(Validate(s), "duplicate function name: bm25");
}

// Minimal() plus struct "clips" with the given sub-fields (named "clips[sub]").
CollectionSchema WithStruct(std::vector<FieldSchema> subs) {
  CollectionSchema s = Minimal();
  StructFieldSchema st;
  st.name = "clips";
  s.structs.push_back(st);
  for (auto& f : subs) {
    f.name = StructSubFieldName("clips", f.name);
    f.struct_name = "clips";
    s.fields.push_back(std::move(f));
  }
  return s;
}

FieldSchema SubArray(std::string name, DataType et, std::string cap = "4") {
  FieldSchema f = Field(std::move(name), DataType::kArray, {{"max_capacity", std::move(cap)}});
  f.element_type = et;
  if (et == DataType::kVarChar) f.type_params["max_length"] = "16";
  return f;
}

FieldSchema SubVectors(std::string name, std::string dim = "4", std::string cap = "4") {
  FieldSchema f = Field(std::move(name), DataType::kArrayOfVector, {{"dim", std::move(dim)}, {"max_capacity", std::move(cap)}});
  f.element_type = DataType::kFloatVector;
  return f;
}

TEST(StructArrayTest, NamesAreStoredAsStructBracketSub) {
  FieldSchema f = SubArray("text", DataType::kVarChar);
  f.name = StructSubFieldName("clips", "text");
  f.struct_name = "clips";
  EXPECT_EQ(f.name, "clips[text]");
  EXPECT_EQ(ShortFieldName(f), "text");
  CollectionSchema s = WithStruct({SubArray("text", DataType::kVarChar), SubVectors("emb")});
  EXPECT_TRUE(Validate(s).ok()) << Validate(s).ToString();
  ASSERT_EQ(s.SubFields("clips").size(), 2u);
  EXPECT_EQ(s.SubFields("clips")[1]->name, "clips[emb]");
  EXPECT_NE(s.FindStruct("clips"), nullptr);
}

TEST(StructArrayTest, RefusesWhatMilvusRefuses) {
  EXPECT_INVALID(Validate(WithStruct({})), "struct array field clips has no sub-fields");
  EXPECT_INVALID(Validate(WithStruct({SubArray("a", DataType::kInt64, "4"), SubVectors("e", "4", "5")})),
                 "all sub-fields in struct array field must have the same max_capacity: structName=clips, "
                 "subFieldName=e, max_capacity=5, expected=4");
  // Sub-fields are named clips[sub] (Milvus's transformStructFieldNames): a
  // short name may repeat a top-level field's.
  EXPECT_TRUE(Validate(WithStruct({SubArray("vec", DataType::kInt64)})).ok());
  FieldSchema nullable = SubArray("a", DataType::kInt64);
  nullable.nullable = true;
  EXPECT_INVALID(Validate(WithStruct({nullable})),
                 "sub-field in non-nullable struct cannot be nullable individually");
  FieldSchema pk = SubArray("a", DataType::kInt64);
  pk.is_primary = true;
  EXPECT_INVALID(Validate(WithStruct({pk})), "primary key is not supported for struct field, field name = a");
  FieldSchema scalar = Field("a", DataType::kInt64);
  EXPECT_INVALID(Validate(WithStruct({scalar})),
                 "fields in StructArrayField can only be array or array of struct, but field a is Int64");
  FieldSchema bin = SubVectors("b", "16");
  bin.element_type = DataType::kSparseFloatVector;
  EXPECT_INVALID(Validate(WithStruct({bin})), "now only float vector is supported, field b has element type SparseFloatVector");
  bin.element_type = DataType::kFloat16Vector;
  EXPECT_INVALID(Validate(WithStruct({bin})), "now only float vector is supported, field b has element type Float16Vector");
  EXPECT_INVALID(Validate(WithStruct({SubVectors("e", "1")})), "invalid dimension: 1");
  EXPECT_INVALID(Validate(WithStruct({SubArray("a", DataType::kInt64, "5000")})),
                 "the maximum capacity specified for a Array should be in (0, 4096]");
  // Struct vector sub-fields count towards the vector field limit (4 by default, + "vec").
  EXPECT_INVALID(Validate(WithStruct({SubVectors("a"), SubVectors("b"), SubVectors("c"), SubVectors("d")})),
                 "maximum vector field's number should be limited to 4");
  EXPECT_TRUE(Validate(WithStruct({SubVectors("a"), SubVectors("b"), SubVectors("c")})).ok());
  // Outside a struct an ArrayOfVector field is refused (Milvus: only inside a struct array).
  EXPECT_INVALID(ValidateWith(SubVectors("e")), "array of vector can only be in the struct array field, field name: e");
}

}  // namespace
}  // namespace kite
