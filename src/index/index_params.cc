#include "index/index_params.h"

#include <algorithm>
#include <cmath>
#include <cctype>
#include <climits>
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
// Milvus 2.6 builds an Int8Vector field with HNSW only.
const std::set<std::string>& Int8IndexTypes() {
  static const std::set<std::string> k = {"HNSW"};
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

// NgramIndexChecker.CheckTrain: both grams, integers, 0 < min_gram <= max_gram.
Status CheckNgramGrams(const ParamMap& p) {
  auto lo = p.find("min_gram");
  auto hi = p.find("max_gram");
  if (lo == p.end() || hi == p.end()) {
    return Status(StatusCode::kInvalidArgument, Reason::kMissingParameter,
                  "Ngram index must specify both min_gram and max_gram: missing parameter");
  }
  auto parse = [](const std::string& s, long long* v) {
    try {
      size_t pos = 0;
      *v = std::stoll(s, &pos);
      return pos == s.size() && *v >= INT32_MIN && *v <= INT32_MAX;
    } catch (...) {
      return false;
    }
  };
  long long min_gram = 0, max_gram = 0;
  if (!parse(lo->second, &min_gram)) {
    return InvalidArgument("min_gram for Ngram index must be an integer, got: {}: invalid parameter", lo->second);
  }
  if (!parse(hi->second, &max_gram)) {
    return InvalidArgument("max_gram for Ngram index must be an integer, got: {}: invalid parameter", hi->second);
  }
  if (min_gram <= 0 || max_gram <= 0 || min_gram > max_gram) {
    return InvalidArgument("invalid min_gram or max_gram value for Ngram index, min_gram: {}, max_gram: {}: invalid parameter",
                           min_gram, max_gram);
  }
  return Status::OK();
}

// `name`, `name["k"]`, `name['k']`, `name[0]`, chained: the head name and the
// path below it as a JSON pointer ("/k/0"), "~" and "/" escaped (RFC 6901).
bool ParseJsonIndexPath(const std::string& path, std::string* head, std::string* pointer) {
  size_t i = 0;
  while (i < path.size() && path[i] != '[') ++i;
  *head = path.substr(0, i);
  if (head->empty()) return false;
  for (char ch : *head) {
    if (std::isspace(static_cast<unsigned char>(ch)) || ch == ']' || ch == '"' || ch == '\'') return false;
  }
  pointer->clear();
  while (i < path.size()) {
    if (path[i] != '[') return false;
    ++i;
    std::string key;
    if (i < path.size() && (path[i] == '"' || path[i] == '\'')) {
      char quote = path[i++];
      while (i < path.size() && path[i] != quote) {
        if (path[i] == '\\' && i + 1 < path.size()) ++i;
        key += path[i++];
      }
      if (i >= path.size()) return false;
      ++i;  // closing quote
    } else {
      while (i < path.size() && std::isdigit(static_cast<unsigned char>(path[i]))) key += path[i++];
      if (key.empty()) return false;
    }
    if (i >= path.size() || path[i] != ']') return false;
    ++i;
    std::string escaped;
    for (char ch : key) {
      if (ch == '~') escaped += "~0";
      else if (ch == '/') escaped += "~1";
      else escaped += ch;
    }
    *pointer += "/" + escaped;
  }
  return true;
}

// Milvus 2.6's JSON path index checks (INVERTEDChecker / NgramIndexChecker):
// a cast type from the list, an optional cast function, a parseable path.
Result<ParamMap> ResolveJsonIndexParams(const FieldSchema& f, ParamMap p, const std::string& type) {
  static const std::set<std::string> kCastTypes = {"BOOL",       "DOUBLE",       "VARCHAR",      "ARRAY_BOOL",
                                                   "ARRAY_DOUBLE", "ARRAY_VARCHAR", "JSON"};
  auto cast = p.find("json_cast_type");
  if (type == "NGRAM") {
    if (cast == p.end()) {
      return Status(StatusCode::kInvalidArgument, Reason::kMissingParameter,
                    "JSON field with ngram index must specify json_cast_type: missing parameter");
    }
    std::string ct = Upper(cast->second);
    if (ct != "VARCHAR") {
      return InvalidArgument("JSON field with ngram index only supports VARCHAR cast type, got: {}: invalid parameter", ct);
    }
    KITE_RETURN_IF_ERROR(CheckNgramGrams(p));
  }
  if (cast == p.end()) {
    return Status(StatusCode::kInvalidArgument, Reason::kMissingParameter,
                  "json index must specify cast type: missing parameter[missing_param=json_cast_type]");
  }
  std::string ct = Upper(cast->second);
  if (!kCastTypes.count(ct)) return InvalidArgument("json_cast_type {} is not supported: invalid parameter", cast->second);
  p["json_cast_type"] = ct;
  auto fn = p.find("json_cast_function");
  if (fn != p.end()) {
    if (Upper(fn->second) != "STRING_TO_DOUBLE") {
      return InvalidArgument("json_cast_function {} is not supported: invalid parameter", fn->second);
    }
    if (ct != "DOUBLE") {
      return InvalidArgument("json_cast_function {} is not supported for json_cast_type {}: invalid parameter",
                             fn->second, ct);
    }
    fn->second = "STRING_TO_DOUBLE";
  }
  if (!p.count("json_path")) p["json_path"] = f.name;
  std::string head, pointer;
  if (!ParseJsonIndexPath(p["json_path"], &head, &pointer)) {
    return InvalidArgument("json_path {} is not a valid JSON path of field {}: invalid parameter", p["json_path"], f.name);
  }
  if (f.is_dynamic) {
    // The dynamic field's keys: `$meta["k"]...` or `k...` (a key, not a schema field).
    if (head != f.name) pointer = "/" + head + pointer;
  } else if (head != f.name) {
    return InvalidArgument("json_path {} is not a valid JSON path of field {}: invalid parameter", p["json_path"], f.name);
  }
  p["json_pointer"] = pointer;
  p["index_type"] = type;
  p.erase("metric_type");
  return p;
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
    if (f.type == DataType::kJson && (type == "INVERTED" || type == "AUTOINDEX" || type == "NGRAM")) {
      return ResolveJsonIndexParams(f, p, type == "NGRAM" ? "NGRAM" : "INVERTED");
    }
    if (type == "NGRAM") {
      if (f.type != DataType::kVarChar) {
        return InvalidArgument("ngram index can only be created on VARCHAR or JSON field: invalid parameter");
      }
      KITE_RETURN_IF_ERROR(CheckNgramGrams(p));
    }
    // Milvus 2.6's CheckValidDataType failures, as its create-index task wraps
    // them (merr.WrapErrParameterInvalid("valid index params", "invalid index params", ...)).
    auto invalid_type = [](const std::string& why) {
      return InvalidArgument("{}: invalid parameter[expected=valid index params][actual=invalid index params]", why);
    };
    if (type == "INVERTED" && !(f.type == DataType::kBool || IsIntegerType(f.type) || IsFloatingType(f.type) ||
                                f.type == DataType::kVarChar || f.type == DataType::kArray)) {
      return invalid_type(fmt::format("INVERTED are not supported on {} field", DataTypeName(f.type)));
    }
    if (type == "RTREE" && f.type != DataType::kGeometry) {
      return invalid_type(fmt::format("RTREE index can only be built on geometry field, got {}", DataTypeName(f.type)));
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
    if (type == "BITMAP" && (f.type == DataType::kTimestamptz || f.type == DataType::kGeometry)) {
      return InvalidArgument("bitmap index are only supported on bool, int, string and array field, field name = {}",
                             f.name);
    }
    if (type == "AUTOINDEX") {
      // Milvus 2.6 scalarAutoIndex.params.build: {"int": "HYBRID", "varchar": "HYBRID", "bool": "BITMAP",
      // "float": "INVERTED", "json": "INVERTED"}. Kite has no HYBRID (BITMAP for few distinct values,
      // else INVERTED): INVERTED answers the same leaves.
      if (f.type == DataType::kGeometry) type = "RTREE";
      else if (f.type == DataType::kBool) type = "BITMAP";
      else type = "INVERTED";
    }
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
  if (f.type == DataType::kInt8Vector) allowed = &Int8IndexTypes();
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
  // Milvus's AUTOINDEX checker words an unknown metric on a dense float
  // vector this way, echoing the metric as the user wrote it (an explicit
  // index type keeps the index's own "not found or not supported" text).
  static const std::set<std::string> kDenseFloatMetrics = {"L2", "IP", "COSINE"};
  auto user_type = user.find("index_type");
  const bool auto_index = user_type == user.end() || user_type->second.empty() || Upper(user_type->second) == "AUTOINDEX";
  if (auto_index && (f.type == DataType::kFloatVector || f.type == DataType::kFloat16Vector ||
       f.type == DataType::kBFloat16Vector || f.type == DataType::kInt8Vector) &&
      !kDenseFloatMetrics.count(p["metric_type"])) {
    auto orig = user.find("metric_type");
    return InvalidArgument(
        "float vector index does not support metric type: {}: invalid parameter[expected=valid index "
        "params][actual=invalid index params]",
        orig != user.end() ? orig->second : p["metric_type"]);
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

ParamMap ScalarBuildParams(const ParamMap& resolved) {
  if (IsJsonPathIndex(resolved)) {
    auto cast = resolved.find("json_cast_type");
    if (cast == resolved.end()) return {};
    ParamMap p = {{"index_type", "INVERTED"}, {"json_cast_type", cast->second},
                  {"json_pointer", resolved.at("json_pointer")}};
    auto fn = resolved.find("json_cast_function");
    if (fn != resolved.end()) p["json_cast_function"] = fn->second;
    return p;
  }
  ParamMap p = resolved;
  auto it = p.find("index_type");
  if (it != p.end() && Upper(it->second) == "NGRAM") {
    it->second = "INVERTED";
    p.erase("min_gram");
    p.erase("max_gram");
  }
  return p;
}

}  // namespace kite
