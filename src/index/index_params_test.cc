#include "index/index_params.h"

#include <gtest/gtest.h>

namespace kite {
namespace {

FieldSchema MakeField(DataType type, std::map<std::string, std::string> tp = {}, std::string name = "f") {
  FieldSchema f;
  f.id = FieldId(100);
  f.name = std::move(name);
  f.type = type;
  f.type_params = std::move(tp);
  return f;
}

FieldSchema Dense(DataType t = DataType::kFloatVector, const std::string& dim = "128") {
  return MakeField(t, {{"dim", dim}}, "vec");
}

ParamMap Resolve(const FieldSchema& f, const ParamMap& p) {
  auto r = ResolveIndexParams(f, p);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : ParamMap{};
}

Status Check(const FieldSchema& f, const ParamMap& p) { return ResolveIndexParams(f, p).status(); }

TEST(IndexParamsTest, AutoIndexOnDenseVectorIsHnsw) {
  for (DataType t : {DataType::kFloatVector, DataType::kFloat16Vector, DataType::kBFloat16Vector}) {
    ParamMap p = Resolve(Dense(t), {{"index_type", "AUTOINDEX"}});
    EXPECT_EQ(p["index_type"], "HNSW") << static_cast<int>(t);
    EXPECT_EQ(p["M"], "18");
    EXPECT_EQ(p["efConstruction"], "240");
    EXPECT_EQ(p["metric_type"], "COSINE");
  }
}

TEST(IndexParamsTest, MissingIndexTypeMeansAutoIndex) {
  ParamMap p = Resolve(Dense(), {});
  EXPECT_EQ(p["index_type"], "HNSW");
  EXPECT_EQ(p["metric_type"], "COSINE");
}

TEST(IndexParamsTest, AutoIndexKeepsUserMetricAndParams) {
  ParamMap p = Resolve(Dense(), {{"index_type", "autoindex"}, {"metric_type", "l2"}, {"M", "32"}});
  EXPECT_EQ(p["index_type"], "HNSW");
  EXPECT_EQ(p["metric_type"], "L2");
  EXPECT_EQ(p["M"], "32");
  EXPECT_EQ(p["efConstruction"], "240");
}

TEST(IndexParamsTest, AutoIndexOnBinaryVector) {
  ParamMap p = Resolve(Dense(DataType::kBinaryVector, "64"), {{"index_type", "AUTOINDEX"}});
  EXPECT_EQ(p["index_type"], "BIN_IVF_FLAT");
  EXPECT_EQ(p["nlist"], "1024");
  EXPECT_EQ(p["metric_type"], "HAMMING");
}

TEST(IndexParamsTest, AutoIndexOnSparseVector) {
  ParamMap p = Resolve(MakeField(DataType::kSparseFloatVector), {{"index_type", "AUTOINDEX"}});
  EXPECT_EQ(p["index_type"], "SPARSE_INVERTED_INDEX");
  EXPECT_EQ(p["metric_type"], "IP");
}

TEST(IndexParamsTest, ExplicitIndexTypesPassThroughUppercased) {
  ParamMap p = Resolve(Dense(), {{"index_type", "ivf_flat"}, {"metric_type", "ip"}, {"nlist", "128"}});
  EXPECT_EQ(p["index_type"], "IVF_FLAT");
  EXPECT_EQ(p["metric_type"], "IP");
  EXPECT_EQ(p["nlist"], "128");
  p = Resolve(Dense(DataType::kBinaryVector, "64"), {{"index_type", "BIN_FLAT"}, {"metric_type", "JACCARD"}});
  EXPECT_EQ(p["index_type"], "BIN_FLAT");
  FieldSchema bm25_out = MakeField(DataType::kSparseFloatVector);
  bm25_out.is_function_output = true;
  p = Resolve(bm25_out, {{"index_type", "SPARSE_WAND"}, {"metric_type", "BM25"}});
  EXPECT_EQ(p["index_type"], "SPARSE_WAND");
  EXPECT_EQ(p["metric_type"], "BM25");
}

// A BM25 function's output: AUTOINDEX means BM25; any other metric is Milvus's error.
TEST(IndexParamsTest, Bm25OutputFieldTakesOnlyBm25) {
  FieldSchema out = MakeField(DataType::kSparseFloatVector);
  out.is_function_output = true;
  ParamMap p = Resolve(out, {{"index_type", "AUTOINDEX"}});
  EXPECT_EQ(p["index_type"], "SPARSE_INVERTED_INDEX");
  EXPECT_EQ(p["metric_type"], "BM25");
  Status st = Check(out, {{"index_type", "SPARSE_INVERTED_INDEX"}, {"metric_type", "IP"}});
  EXPECT_EQ(st.message(), "index metric type of BM25 function output field must be BM25");
  st = Check(MakeField(DataType::kSparseFloatVector), {{"index_type", "SPARSE_INVERTED_INDEX"}, {"metric_type", "BM25"}});
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
}

TEST(IndexParamsTest, UnknownIndexTypeRejected) {
  Status st = Check(Dense(), {{"index_type", "MAGIC_TREE"}, {"metric_type", "L2"}});
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(st.Is(Reason::kIndexNotSupported)) << st.ToString();
  EXPECT_NE(st.message().find("MAGIC_TREE"), std::string::npos) << st.message();
}

TEST(IndexParamsTest, IndexTypeForAnotherVectorKindRejected) {
  Status st = Check(Dense(), {{"index_type", "BIN_IVF_FLAT"}, {"metric_type", "L2"}});
  EXPECT_TRUE(st.Is(Reason::kIndexNotSupported)) << st.ToString();
  st = Check(Dense(DataType::kBinaryVector, "64"), {{"index_type", "HNSW"}, {"metric_type", "HAMMING"}});
  EXPECT_TRUE(st.Is(Reason::kIndexNotSupported)) << st.ToString();
  st = Check(MakeField(DataType::kSparseFloatVector), {{"index_type", "IVF_FLAT"}, {"metric_type", "IP"}});
  EXPECT_TRUE(st.Is(Reason::kIndexNotSupported)) << st.ToString();
}

TEST(IndexParamsTest, MetricMustFitVectorType) {
  Status st = Check(Dense(DataType::kBinaryVector, "64"), {{"index_type", "BIN_FLAT"}, {"metric_type", "L2"}});
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.ToString();
  EXPECT_NE(st.message().find("L2"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("vec"), std::string::npos) << st.message();

  EXPECT_EQ(Check(Dense(DataType::kBinaryVector, "64"), {{"index_type", "AUTOINDEX"}, {"metric_type", "L2"}}).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(Check(Dense(), {{"index_type", "HNSW"}, {"metric_type", "HAMMING"}}).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(Check(MakeField(DataType::kSparseFloatVector), {{"index_type", "SPARSE_WAND"}, {"metric_type", "L2"}})
                .code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(Check(Dense(), {{"index_type", "FLAT"}, {"metric_type", "NOPE"}}).code(), StatusCode::kInvalidArgument);
}

TEST(IndexParamsTest, ExplicitVectorIndexNeedsMetric) {
  Status st = Check(Dense(), {{"index_type", "HNSW"}});
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(st.Is(Reason::kMissingParameter)) << st.ToString();
}

TEST(IndexParamsTest, HnswParameterRanges) {
  Status st = Check(Dense(), {{"index_type", "HNSW"}, {"metric_type", "L2"}, {"M", "1"}});
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.ToString();
  EXPECT_NE(st.message().find("M"), std::string::npos) << st.message();
  EXPECT_EQ(Check(Dense(), {{"index_type", "HNSW"}, {"metric_type", "L2"}, {"M", "2049"}}).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(Check(Dense(), {{"index_type", "HNSW"}, {"metric_type", "L2"}, {"M", "16x"}}).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(Check(Dense(), {{"index_type", "HNSW"}, {"metric_type", "L2"}, {"efConstruction", "0"}}).code(),
            StatusCode::kInvalidArgument);
  EXPECT_TRUE(Check(Dense(), {{"index_type", "HNSW"}, {"metric_type", "L2"}, {"M", "2"}}).ok());
  EXPECT_TRUE(Check(Dense(), {{"index_type", "HNSW"}, {"metric_type", "L2"}, {"M", "2048"}}).ok());
}

TEST(IndexParamsTest, IvfParameterRanges) {
  EXPECT_EQ(Check(Dense(), {{"index_type", "IVF_FLAT"}, {"metric_type", "L2"}, {"nlist", "0"}}).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(Check(Dense(), {{"index_type", "IVF_FLAT"}, {"metric_type", "L2"}, {"nlist", "65537"}}).code(),
            StatusCode::kInvalidArgument);
  // IVF_PQ: dim must be a multiple of m.
  EXPECT_TRUE(Check(Dense(), {{"index_type", "IVF_PQ"}, {"metric_type", "L2"}, {"m", "16"}}).ok());
  Status st = Check(Dense(), {{"index_type", "IVF_PQ"}, {"metric_type", "L2"}, {"m", "7"}});
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("128"), std::string::npos) << st.message();
  EXPECT_EQ(Check(Dense(), {{"index_type", "IVF_PQ"}, {"metric_type", "L2"}, {"m", "x"}}).code(),
            StatusCode::kInvalidArgument);
}

TEST(IndexParamsTest, ScalarIndexes) {
  FieldSchema i64 = MakeField(DataType::kInt64, {}, "count");
  ParamMap p = Resolve(i64, {{"index_type", "INVERTED"}});
  EXPECT_EQ(p["index_type"], "INVERTED");
  EXPECT_EQ(p.count("metric_type"), 0u);

  p = Resolve(i64, {{"index_type", "STL_SORT"}});
  EXPECT_EQ(p["index_type"], "STL_SORT");

  // AUTOINDEX on a scalar field resolves to INVERTED; a metric is dropped.
  p = Resolve(i64, {{"index_type", "AUTOINDEX"}, {"metric_type", "L2"}});
  EXPECT_EQ(p["index_type"], "INVERTED");
  EXPECT_EQ(p.count("metric_type"), 0u);

  FieldSchema vc = MakeField(DataType::kVarChar, {{"max_length", "64"}}, "title");
  // Milvus 2.6: STL_SORT on VarChar; other non-numeric types are refused with its checker's text.
  EXPECT_TRUE(Check(vc, {{"index_type", "STL_SORT"}}).ok());
  FieldSchema flag = MakeField(DataType::kBool, {}, "flag");
  Status st = Check(flag, {{"index_type", "STL_SORT"}});
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.ToString();
  EXPECT_EQ(st.message(), "STL_SORT are only supported on numeric, varchar or timestamptz field, got Bool");

  p = Resolve(vc, {{"index_type", "Trie"}});
  EXPECT_EQ(p["index_type"], "Trie");
  EXPECT_EQ(Check(i64, {{"index_type", "TRIE"}}).code(), StatusCode::kInvalidArgument);

  EXPECT_TRUE(Check(vc, {{"index_type", "BITMAP"}}).ok());
  EXPECT_EQ(Check(MakeField(DataType::kDouble), {{"index_type", "BITMAP"}}).code(), StatusCode::kInvalidArgument);

  st = Check(i64, {{"index_type", "HNSW"}});
  EXPECT_TRUE(st.Is(Reason::kIndexNotSupported)) << st.ToString();
  EXPECT_NE(st.message().find("count"), std::string::npos) << st.message();
}

TEST(IndexParamsTest, UserParamsAreKept) {
  ParamMap p = Resolve(Dense(), {{"index_type", "HNSW"}, {"metric_type", "COSINE"}, {"M", "8"},
                                 {"efConstruction", "64"}, {"mmap.enabled", "true"}});
  EXPECT_EQ(p["M"], "8");
  EXPECT_EQ(p["efConstruction"], "64");
  EXPECT_EQ(p["mmap.enabled"], "true");
}

FieldSchema EmbList() {
  FieldSchema f = MakeField(DataType::kArrayOfVector, {{"dim", "8"}, {"max_capacity", "4"}}, "clips[emb]");
  f.element_type = DataType::kFloatVector;
  f.struct_name = "clips";
  return f;
}

TEST(IndexParamsTest, EmbeddingListIndexTakesMaxSimMetricsOnly) {
  ParamMap p = Resolve(EmbList(), {{"index_type", "AUTOINDEX"}});
  EXPECT_EQ(p["index_type"], "HNSW");
  EXPECT_EQ(p["metric_type"], "MAX_SIM_COSINE");
  for (const char* m : {"MAX_SIM", "MAX_SIM_COSINE", "max_sim_ip", "MAX_SIM_L2"}) {
    EXPECT_TRUE(Check(EmbList(), {{"index_type", "HNSW"}, {"metric_type", m}}).ok()) << m;
  }
  Status st = Check(EmbList(), {{"index_type", "HNSW"}, {"metric_type", "L2"}});
  EXPECT_NE(st.message().find("metric type L2 not found or not supported for field clips[emb] of type ArrayOfVector"),
            std::string::npos)
      << st.ToString();
  st = Check(EmbList(), {{"index_type", "IVF_FLAT"}, {"metric_type", "MAX_SIM_IP"}});
  EXPECT_NE(st.message().find("data type ArrayOfVector can't build with this index IVF_FLAT"), std::string::npos)
      << st.ToString();
  // A plain vector field refuses the MAX_SIM family.
  EXPECT_FALSE(Check(Dense(), {{"index_type", "HNSW"}, {"metric_type", "MAX_SIM_COSINE"}}).ok());
  // Scalar sub-fields of a struct take no index (Milvus 2.6).
  FieldSchema sub = MakeField(DataType::kArray, {{"max_capacity", "4"}}, "clips[n]");
  sub.element_type = DataType::kInt64;
  sub.struct_name = "clips";
  EXPECT_FALSE(Check(sub, {{"index_type", "INVERTED"}}).ok());
}

TEST(IndexParamsTest, ScalarAutoIndexFollowsMilvusPerType) {
  // Milvus 2.6 scalarAutoIndex.params.build: bool -> BITMAP, the others INVERTED (HYBRID in Milvus).
  EXPECT_EQ(Resolve(MakeField(DataType::kBool), {{"index_type", "AUTOINDEX"}})["index_type"], "BITMAP");
  EXPECT_EQ(Resolve(MakeField(DataType::kInt64), {{"index_type", "AUTOINDEX"}})["index_type"], "INVERTED");
  EXPECT_EQ(Resolve(MakeField(DataType::kVarChar, {{"max_length", "8"}}), {})["index_type"], "INVERTED");
  EXPECT_EQ(Resolve(MakeField(DataType::kDouble), {{"index_type", "AUTOINDEX"}})["index_type"], "INVERTED");
}

TEST(IndexParamsTest, JsonPathIndexParams) {
  FieldSchema meta = MakeField(DataType::kJson, {}, "meta");
  ParamMap p = Resolve(meta, {{"index_type", "AUTOINDEX"}, {"json_path", "meta[\"a\"][0]['b/c']"},
                              {"json_cast_type", "double"}});
  EXPECT_EQ(p["index_type"], "INVERTED");
  EXPECT_EQ(p["json_cast_type"], "DOUBLE");
  EXPECT_EQ(p["json_pointer"], "/a/0/b~1c");
  EXPECT_TRUE(IsJsonPathIndex(p));
  // built as an INVERTED JSON path index over the cast values
  EXPECT_EQ(ScalarBuildParams(p), (ParamMap{{"index_type", "INVERTED"}, {"json_cast_type", "DOUBLE"},
                                            {"json_pointer", "/a/0/b~1c"}}));
  EXPECT_FALSE(IsUnbuiltJsonPathIndex(p));
  // cast type JSON (a flat index) and a cast function are built with their index
  EXPECT_FALSE(IsUnbuiltJsonPathIndex(Resolve(meta, {{"index_type", "INVERTED"}, {"json_cast_type", "JSON"}})));
  ParamMap fn = Resolve(meta, {{"index_type", "INVERTED"}, {"json_cast_type", "DOUBLE"},
                               {"json_cast_function", "STRING_TO_DOUBLE"}});
  EXPECT_FALSE(IsUnbuiltJsonPathIndex(fn));
  EXPECT_EQ(ScalarBuildParams(fn).at("json_cast_function"), "STRING_TO_DOUBLE");
  // the whole value when no path is given
  EXPECT_EQ(Resolve(meta, {{"index_type", "INVERTED"}, {"json_cast_type", "VARCHAR"}})["json_pointer"], "");
  EXPECT_EQ(Check(meta, {{"index_type", "INVERTED"}}).reason(), Reason::kMissingParameter);
  EXPECT_FALSE(Check(meta, {{"index_type", "INVERTED"}, {"json_cast_type", "INT8"}}).ok());
  EXPECT_FALSE(Check(meta, {{"index_type", "INVERTED"}, {"json_cast_type", "BOOL"}, {"json_path", "other[\"a\"]"}}).ok());
  EXPECT_FALSE(Check(meta, {{"index_type", "INVERTED"}, {"json_cast_type", "BOOL"}, {"json_path", "meta[\"a\""}}).ok());
  EXPECT_FALSE(Check(meta, {{"index_type", "STL_SORT"}, {"json_cast_type", "DOUBLE"}}).ok());
  // the dynamic field: a key, or $meta["key"]
  FieldSchema dyn = MakeField(DataType::kJson, {}, "$meta");
  dyn.is_dynamic = true;
  EXPECT_EQ(Resolve(dyn, {{"json_path", "color"}, {"json_cast_type", "VARCHAR"}})["json_pointer"], "/color");
  EXPECT_EQ(Resolve(dyn, {{"json_path", "$meta[\"color\"]"}, {"json_cast_type", "VARCHAR"}})["json_pointer"], "/color");
}

TEST(IndexParamsTest, NgramParams) {
  FieldSchema title = MakeField(DataType::kVarChar, {{"max_length", "64"}}, "title");
  ParamMap p = Resolve(title, {{"index_type", "NGRAM"}, {"min_gram", "2"}, {"max_gram", "3"}});
  EXPECT_EQ(p["index_type"], "NGRAM");
  EXPECT_EQ(ScalarBuildParams(p).at("index_type"), "INVERTED");
  EXPECT_EQ(Check(title, {{"index_type", "NGRAM"}, {"min_gram", "2"}}).reason(), Reason::kMissingParameter);
  EXPECT_FALSE(Check(title, {{"index_type", "NGRAM"}, {"min_gram", "0"}, {"max_gram", "3"}}).ok());
  EXPECT_FALSE(Check(title, {{"index_type", "NGRAM"}, {"min_gram", "4"}, {"max_gram", "3"}}).ok());
  EXPECT_FALSE(Check(MakeField(DataType::kInt64), {{"index_type", "NGRAM"}, {"min_gram", "1"}, {"max_gram", "3"}}).ok());
  FieldSchema meta = MakeField(DataType::kJson, {}, "meta");
  EXPECT_EQ(Resolve(meta, {{"index_type", "NGRAM"}, {"min_gram", "1"}, {"max_gram", "3"}, {"json_cast_type", "varchar"},
                           {"json_path", "meta[\"s\"]"}})["index_type"],
            "NGRAM");
  EXPECT_FALSE(Check(meta, {{"index_type", "NGRAM"}, {"min_gram", "1"}, {"max_gram", "3"}, {"json_cast_type", "DOUBLE"}}).ok());
}

}  // namespace
TEST(IndexParams, SparseInvertedIndexAlgoAndBm25Ranges) {
  FieldSchema f = MakeField(DataType::kSparseFloatVector);
  for (const char* algo : {"DAAT_MAXSCORE", "DAAT_WAND", "TAAT_NAIVE"}) {
    EXPECT_TRUE(Check(f, {{"index_type", "SPARSE_INVERTED_INDEX"}, {"metric_type", "IP"},
                          {"inverted_index_algo", algo}, {"bm25_k1", "1.5"}, {"bm25_b", "0"}})
                    .ok())
        << algo;
  }
  EXPECT_EQ(Check(f, {{"index_type", "SPARSE_INVERTED_INDEX"}, {"metric_type", "IP"}, {"inverted_index_algo", "X"}})
                .message(),
            "sparse inverted index algo X not found or not supported, supported: [TAAT_NAIVE DAAT_WAND DAAT_MAXSCORE]");
  EXPECT_EQ(Check(f, {{"index_type", "SPARSE_INVERTED_INDEX"}, {"metric_type", "IP"}, {"bm25_k1", "4"}}).message(),
            "Out of range in json: param 'bm25_k1' (4.0) should be in range [0.000000, 3.000000]");
  EXPECT_EQ(Check(f, {{"index_type", "SPARSE_INVERTED_INDEX"}, {"metric_type", "IP"}, {"drop_ratio_build", "1"}})
                .message(),
            "invalid drop_ratio_build: 1, must be in range [0, 1)");
}

}  // namespace kite
