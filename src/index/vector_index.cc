// BuildVectorIndex / LoadVectorIndex: the one place that maps a resolved
// index_type to its implementation.
//
//   FLAT, BIN_FLAT                         exact_index.h (flat::Search)
//   IVF_FLAT, IVF_SQ8, IVF_PQ, SCANN       faiss/faiss_ivf_index.h
//   HNSW                                   hnsw/hnsw_index.h (Kite's own)
//   DISKANN, HNSW_SQ, HNSW_PQ, HNSW_PRQ    the same HNSW graph over the raw
//                                          vectors: Milvus's graph indexes,
//                                          served without their quantization
//                                          or on-disk layout (their build
//                                          params are accepted and unused)
//   BIN_IVF_FLAT                           faiss/faiss_binary_ivf_index.h
//   SPARSE_INVERTED_INDEX, SPARSE_WAND     sparse/sparse_inverted_index.h
//
//   IVF_RABITQ                             served as IVF_FLAT (ServedType)
//
// Other types ResolveIndexParams accepts (MINHASH_LSH) are Unimplemented here.
#include "index/vector_index.h"

#include "index/hnsw/hnsw_index.h"

#include <algorithm>

#include "index/exact_index.h"
#include "index/faiss/faiss_binary_ivf_index.h"
#include "index/faiss/faiss_ivf_index.h"
#include "index/index_util.h"
#include "index/sparse/sparse_inverted_index.h"

namespace kite::index {
namespace {

using internal::IndexHeader;
using internal::IndexSpec;

enum class Family { kExact, kFaissIvf, kHnsw, kBinaryIvf, kSparse, kNone };

// IVF_RABITQ is served as IVF_FLAT (the same inverted lists over the raw
// vectors, without RaBitQ's 1-bit codes); its extra params are accepted.
std::string ServedType(const std::string& type) { return type == "IVF_RABITQ" ? "IVF_FLAT" : type; }

bool IsGraphIndexType(const std::string& type) {
  return type == "HNSW" || type == "DISKANN" || type == "HNSW_SQ" || type == "HNSW_PQ" || type == "HNSW_PRQ";
}

Family FamilyOf(const std::string& type) {
  if (type == "FLAT" || type == "BIN_FLAT") return Family::kExact;
  if (type == "IVF_FLAT" || type == "IVF_SQ8" || type == "IVF_PQ" || type == "SCANN") return Family::kFaissIvf;
  if (IsGraphIndexType(type)) return Family::kHnsw;
  if (type == "BIN_IVF_FLAT") return Family::kBinaryIvf;
  if (type == "SPARSE_INVERTED_INDEX" || type == "SPARSE_WAND") return Family::kSparse;
  return Family::kNone;
}

const std::string& Get(const Params& p, const std::string& key) {
  static const std::string kEmpty;
  auto it = p.find(key);
  return it == p.end() ? kEmpty : it->second;
}

// Checks that the index type and metric apply to the column's vector type.
Result<IndexSpec> SpecFor(const Params& params, const Column& column) {
  IndexSpec spec;
  spec.type = ServedType(Get(params, "index_type"));
  spec.data_type = column.type;
  spec.dim = column.type == DataType::kSparseFloatVector ? 0 : column.dim;
  const Family family = FamilyOf(spec.type);
  if (family == Family::kNone) {
    return MakeStatus(StatusCode::kUnimplemented, Reason::kIndexNotSupported, "index type '{}' is not supported yet",
                      spec.type);
  }
  const std::string& metric = Get(params, "metric_type");
  const bool binary_type = spec.type == "BIN_FLAT" || spec.type == "BIN_IVF_FLAT";
  if (family == Family::kSparse) {
    if (column.type != DataType::kSparseFloatVector) {
      return InvalidArgument("index {} applies to SparseFloatVector, not {}", spec.type, DataTypeName(column.type));
    }
    if (metric != "IP" && metric != "BM25") {
      return MakeStatus(StatusCode::kUnimplemented, Reason::kIndexNotSupported,
                        "metric '{}' is not supported by {} yet (IP and BM25 only)", metric, spec.type);
    }
    spec.metric = metric == "BM25" ? flat::Metric::kBM25 : flat::Metric::kIP;
    return spec;
  }
  KITE_ASSIGN_OR_RETURN(spec.metric, internal::ParseMetric(metric));
  const bool binary_metric = spec.metric == flat::Metric::kHamming || spec.metric == flat::Metric::kJaccard;
  if (binary_type) {
    if (column.type != DataType::kBinaryVector) {
      return InvalidArgument("index {} applies to BinaryVector, not {}", spec.type, DataTypeName(column.type));
    }
    if (!binary_metric) return InvalidArgument("metric {} does not apply to index {}", metric, spec.type);
  } else {
    if (!internal::IsFloatFamily(column.type)) {
      return InvalidArgument("index {} does not apply to {}", spec.type, DataTypeName(column.type));
    }
    if (binary_metric) return InvalidArgument("metric {} does not apply to index {}", metric, spec.type);
  }
  return spec;
}

}  // namespace

Result<std::unique_ptr<VectorIndex>> BuildVectorIndex(const Params& params, const Column& column, int threads) {
  KITE_ASSIGN_OR_RETURN(IndexSpec spec, SpecFor(params, column));
  threads = std::max(threads, 1);
  switch (FamilyOf(spec.type)) {
    case Family::kExact: return BuildExactIndex(spec, column);
    case Family::kFaissIvf: return BuildFaissIvfIndex(spec, params, column, threads);
    case Family::kHnsw: return BuildHnsw(params, column, threads);  // Kite's own (hnsw/)
    case Family::kBinaryIvf: return BuildFaissBinaryIvfIndex(spec, params, column, threads);
    case Family::kSparse: return BuildSparseInvertedIndex(spec, column);
    case Family::kNone: break;
  }
  return Internal("unreachable index family for {}", spec.type);
}

Result<std::unique_ptr<VectorIndex>> LoadVectorIndex(const Params& params, std::string_view bytes) {
  // Kite's HNSW writes its own header and checks params against it.
  if (IsGraphIndexType(Get(params, "index_type"))) return LoadHnsw(params, bytes);
  IndexHeader header;
  KITE_RETURN_IF_ERROR(internal::GetHeader(&bytes, &header));
  const std::string type = ServedType(Get(params, "index_type"));
  const std::string& metric = Get(params, "metric_type");
  if (header.spec.type != type || internal::MetricName(header.spec.metric) != metric) {
    return Corruption("index bytes hold a {} {} index, params say {} {}", header.spec.type,
                      internal::MetricName(header.spec.metric), type, metric);
  }
  switch (FamilyOf(header.spec.type)) {
    case Family::kExact: return LoadExactIndex(header, bytes);
    case Family::kFaissIvf: return LoadFaissIvfIndex(header, bytes);
    case Family::kHnsw: break;  // handled above
    case Family::kBinaryIvf: return LoadFaissBinaryIvfIndex(header, bytes);
    case Family::kSparse: return LoadSparseInvertedIndex(header, bytes);
    case Family::kNone: break;
  }
  return Corruption("index bytes hold an unknown index type '{}'", header.spec.type);
}

Result<std::unique_ptr<VectorIndex>> LoadVectorIndexFrom(const Params& params, ByteSource* in) {
  if (IsGraphIndexType(Get(params, "index_type"))) return LoadHnswFrom(params, in);
  KITE_ASSIGN_OR_RETURN(std::string bytes, ReadRemaining(in));
  return LoadVectorIndex(params, bytes);
}

}  // namespace kite::index
