#include "index/index_params.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <string>

namespace kite {
namespace {

std::string Upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::toupper(c); });
  return s;
}

const std::set<std::string>& FloatIndexTypes() {
  static const std::set<std::string> k = {"FLAT", "IVF_FLAT", "IVF_SQ8", "IVF_PQ", "HNSW", "SCANN",
                                          "DISKANN", "HNSW_SQ", "HNSW_PQ", "HNSW_PRQ", "IVF_RABITQ"};
  return k;
}
const std::set<std::string>& BinaryIndexTypes() {
  static const std::set<std::string> k = {"BIN_FLAT", "BIN_IVF_FLAT", "MINHASH_LSH"};
  return k;
}
const std::set<std::string>& SparseIndexTypes() {
  static const std::set<std::string> k = {"SPARSE_INVERTED_INDEX", "SPARSE_WAND"};
  return k;
}

Status CheckMetric(const FieldSchema& f, const std::string& metric) {
  static const std::set<std::string> kFloat = {"L2", "IP", "COSINE"};
  static const std::set<std::string> kBinary = {"HAMMING", "JACCARD", "SUBSTRUCTURE", "SUPERSTRUCTURE", "MHJACCARD"};
  static const std::set<std::string> kSparse = {"IP", "BM25"};
  const std::set<std::string>* ok = &kFloat;
  if (f.type == DataType::kBinaryVector) ok = &kBinary;
  if (f.type == DataType::kSparseFloatVector) ok = &kSparse;
  if (!ok->count(metric)) {
    return InvalidArgument("metric type {} not found or not supported for field {} of type {}", metric, f.name,
                           DataTypeName(f.type));
  }
  return Status::OK();
}

Status CheckIntRange(const ParamMap& p, const std::string& key, int64_t lo, int64_t hi) {
  auto it = p.find(key);
  if (it == p.end()) return Status::OK();
  try {
    size_t pos = 0;
    long long v = std::stoll(it->second, &pos);
    if (pos != it->second.size() || v < lo || v > hi) throw std::out_of_range("");
  } catch (...) {
    return InvalidArgument("param '{}' ({}) should be in range [{}, {}]", key, it->second, lo, hi);
  }
  return Status::OK();
}

// Knowhere's range check of a float config value (config.h): the value as
// JSON prints it, the range as std::to_string prints its ends.
Status CheckFloatRange(const ParamMap& p, const std::string& key, double lo, double hi, bool hi_inclusive) {
  auto it = p.find(key);
  if (it == p.end()) return Status::OK();
  double v = 0;
  try {
    size_t pos = 0;
    v = std::stod(it->second, &pos);
    if (pos != it->second.size()) throw std::invalid_argument("");
  } catch (...) {
    return InvalidArgument("Type conflict in json: param '{}' (\"{}\") should be a number", key, it->second);
  }
  if (v < lo || v > hi || (!hi_inclusive && v == hi) || std::isnan(v)) {
    std::string shown = fmt::format("{}", v);
    if (shown.find_first_of(".eEn") == std::string::npos) shown += ".0";
    return InvalidArgument("Out of range in json: param '{}' ({}) should be in range [{}, {}{}", key, shown,
                           std::to_string(lo), std::to_string(hi), hi_inclusive ? "]" : ")");
  }
  return Status::OK();
}

// SPARSE_INVERTED_INDEX / SPARSE_WAND build params (Milvus's sparse checker
// and knowhere's SparseInvertedIndexConfig). Kite's sparse index answers the
// same exact top-k whatever the algorithm, so the algorithm is only checked.
Status CheckSparseParams(const ParamMap& p) {
  if (auto it = p.find("drop_ratio_build"); it != p.end()) {
    double v = -1;
    try {
      size_t pos = 0;
      v = std::stod(it->second, &pos);
      if (pos != it->second.size()) v = -1;
    } catch (...) {
    }
    if (!(v >= 0 && v < 1)) {
      return InvalidArgument("invalid drop_ratio_build: {}, must be in range [0, 1)", it->second);
    }
  }
  if (auto it = p.find("inverted_index_algo"); it != p.end()) {
    static const std::set<std::string> kAlgos = {"TAAT_NAIVE", "DAAT_WAND", "DAAT_MAXSCORE"};
    if (!kAlgos.count(it->second)) {
      return InvalidArgument(
          "sparse inverted index algo {} not found or not supported, supported: [TAAT_NAIVE DAAT_WAND DAAT_MAXSCORE]",
          it->second);
    }
  }
  KITE_RETURN_IF_ERROR(CheckFloatRange(p, "bm25_k1", 0.0, 3.0, true));
  KITE_RETURN_IF_ERROR(CheckFloatRange(p, "bm25_b", 0.0, 1.0, true));
  return Status::OK();
}

}  // namespace

Result<ParamMap> ResolveIndexParams(const FieldSchema& f, const ParamMap& user) {
  ParamMap p = user;
  std::string type = p.count("index_type") ? Upper(p["index_type"]) : "";
  if (type.empty()) type = "AUTOINDEX";
  if (p.count("metric_type")) p["metric_type"] = Upper(p["metric_type"]);

  if (f.type == DataType::kArrayOfVector) {
    // A struct's vector sub-field: an embedding-list index (Milvus 2.6:
    // AUTOINDEX or HNSW with a MAX_SIM metric, FLOAT_VECTOR elements).
    static const std::set<std::string> kMaxSim = {"MAX_SIM", "MAX_SIM_COSINE", "MAX_SIM_IP", "MAX_SIM_L2"};
    if (type == "AUTOINDEX") {
      type = "HNSW";
      if (!p.count("M")) p["M"] = "18";
      if (!p.count("efConstruction")) p["efConstruction"] = "240";
      if (!p.count("metric_type")) p["metric_type"] = "MAX_SIM_COSINE";
    }
    if (type != "HNSW") {
      bool known = FloatIndexTypes().count(type) || BinaryIndexTypes().count(type) || SparseIndexTypes().count(type);
      return Status(StatusCode::kInvalidArgument, Reason::kIndexNotSupported,
                    known ? fmt::format("data type {} can't build with this index {}", DataTypeName(f.type), type)
                          : fmt::format("invalid index type: {}", type));
    }
    if (!p.count("metric_type")) {
      return Status(StatusCode::kInvalidArgument, Reason::kMissingParameter,
                    fmt::format("metric type not set for vector index, field name = {}", f.name));
    }
    if (!kMaxSim.count(p["metric_type"])) {
      return InvalidArgument("metric type {} not found or not supported for field {} of type {}", p["metric_type"],
                             f.name, DataTypeName(f.type));
    }
    KITE_RETURN_IF_ERROR(CheckIntRange(p, "M", 2, 2048));
    KITE_RETURN_IF_ERROR(CheckIntRange(p, "efConstruction", 1, INT32_MAX));
    p["index_type"] = type;
    return p;
  }
  if (!f.struct_name.empty()) {
    return Status(StatusCode::kInvalidArgument, Reason::kIndexNotSupported,
                  fmt::format("index is not supported on the scalar sub-field {} of struct array field {}", f.name,
                              f.struct_name));
  }

  if (!IsVectorType(f.type)) {
    static const std::set<std::string> kScalar = {"INVERTED", "STL_SORT", "BITMAP", "TRIE", "AUTOINDEX", "NGRAM",
                                                  "RTREE"};
    if (!kScalar.count(type)) {
      return Status(StatusCode::kInvalidArgument, Reason::kIndexNotSupported,
                    fmt::format("index {} is not supported for scalar field {} of type {}", user.count("index_type") ? user.at("index_type") : type,
                                f.name, DataTypeName(f.type)));
    }
    if (f.type == DataType::kGeometry && type != "RTREE" && type != "AUTOINDEX") {
      return InvalidArgument("index {} is not supported for geometry field {}, use RTREE", type, f.name);
    }
    if (type == "RTREE" && f.type != DataType::kGeometry) {
      return InvalidArgument("RTREE index can only be built on geometry field, field name = {}", f.name);
    }
    if (type == "STL_SORT" && !(IsIntegerType(f.type) || IsFloatingType(f.type) || f.type == DataType::kVarChar ||
                                f.type == DataType::kTimestamptz)) {
      // Milvus 2.6 STLSORTChecker.CheckValidDataType
      return InvalidArgument("STL_SORT are only supported on numeric, varchar or timestamptz field, got {}",
                             DataTypeName(f.type));
    }
    if (type == "TRIE" && f.type != DataType::kVarChar) {
      return InvalidArgument("TRIE are only supported on varchar field, field name = {}", f.name);
    }
    if (type == "BITMAP" && (IsFloatingType(f.type) || f.type == DataType::kJson || f.is_primary)) {
      return InvalidArgument("bitmap index are only supported on bool, int, string and array field, field name = {}",
                             f.name);
    }
    if (type == "BITMAP" && f.type == DataType::kTimestamptz) {
      return InvalidArgument("bitmap index are only supported on bool, int, string and array field, field name = {}",
                             f.name);
    }
    if (type == "AUTOINDEX") type = f.type == DataType::kGeometry ? "RTREE" : "INVERTED";
    if (type == "TRIE") type = "Trie";
    p["index_type"] = type;
    p.erase("metric_type");
    return p;
  }

  if (type == "AUTOINDEX") {
    if (f.type == DataType::kBinaryVector) {
      type = "BIN_IVF_FLAT";
      if (!p.count("nlist")) p["nlist"] = "1024";
      if (!p.count("metric_type")) p["metric_type"] = "HAMMING";
    } else if (f.type == DataType::kSparseFloatVector) {
      type = "SPARSE_INVERTED_INDEX";
      if (!p.count("metric_type")) p["metric_type"] = f.is_function_output ? "BM25" : "IP";
    } else {
      type = "HNSW";
      if (!p.count("M")) p["M"] = "18";
      if (!p.count("efConstruction")) p["efConstruction"] = "240";
      if (!p.count("metric_type")) p["metric_type"] = "COSINE";
    }
  }
  const std::set<std::string>* allowed = &FloatIndexTypes();
  if (f.type == DataType::kBinaryVector) allowed = &BinaryIndexTypes();
  if (f.type == DataType::kSparseFloatVector) allowed = &SparseIndexTypes();
  if (!allowed->count(type)) {
    bool known = FloatIndexTypes().count(type) || BinaryIndexTypes().count(type) || SparseIndexTypes().count(type);
    return Status(StatusCode::kInvalidArgument, Reason::kIndexNotSupported,
                  known ? fmt::format("data type {} can't build with this index {}", DataTypeName(f.type), type)
                        : fmt::format("invalid index type: {}", type));
  }
  if (!p.count("metric_type")) {
    return Status(StatusCode::kInvalidArgument, Reason::kMissingParameter,
                  fmt::format("metric type not set for vector index, field name = {}", f.name));
  }
  KITE_RETURN_IF_ERROR(CheckMetric(f, p["metric_type"]));
  // Only BM25 functions produce outputs so far (schema validation).
  if (f.is_function_output && p["metric_type"] != "BM25") {
    return InvalidArgument("index metric type of BM25 function output field must be BM25");
  }
  if (!f.is_function_output && p["metric_type"] == "BM25") {
    return InvalidArgument("metric type BM25 is only supported for the output field of a BM25 function, field name = {}",
                           f.name);
  }
  KITE_RETURN_IF_ERROR(CheckIntRange(p, "nlist", 1, 65536));
  KITE_RETURN_IF_ERROR(CheckIntRange(p, "M", 2, 2048));
  KITE_RETURN_IF_ERROR(CheckIntRange(p, "efConstruction", 1, INT32_MAX));
  KITE_RETURN_IF_ERROR(CheckIntRange(p, "nbits", 1, 64));
  if (f.type == DataType::kSparseFloatVector) KITE_RETURN_IF_ERROR(CheckSparseParams(p));
  if (type == "IVF_PQ" && p.count("m")) {
    KITE_RETURN_IF_ERROR(CheckIntRange(p, "m", 1, 65536));
    if (f.dim() % std::stoll(p["m"]) != 0) {
      return InvalidArgument("The dimension of a vector (dim={}) should be a multiple of the number of subquantizers (m={})",
                             f.dim(), p["m"]);
    }
  }
  p["index_type"] = type;
  return p;
}

}  // namespace kite
