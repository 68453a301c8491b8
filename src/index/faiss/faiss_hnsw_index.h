// HNSW over faiss::IndexHNSWFlat (Malkov, Yashunin, "Efficient and robust
// approximate nearest neighbor search using Hierarchical Navigable Small World
// graphs", TPAMI 2018). A stop-gap: Kite's own HNSW, which reads neighbours'
// vectors from the base column instead of keeping a float32 copy, will replace
// it behind the same two functions (the dispatch in vector_index.cc is the
// only caller).
//
//   build:  M (30; Faiss keeps 2M links on layer 0), efConstruction (360)
//   search: ef (default k, as Milvus); max(ef, k) is used
//
// Metrics L2 / IP / COSINE on Float / Float16 / BFloat16 / Int8 vectors,
// stored as float32 (normalised for COSINE). Null rows are not inserted: a
// node -> row map is kept when the column has nulls.
//
// Filters: Faiss 1.7.3's IndexHNSW::search honours SearchParametersHNSW::sel
// (checked by faiss_selector_test.cc), so the mask is applied inside the
// graph walk; a query that ends with fewer than min(k, passing rows) hits,
// or a mask passing under 5% of the rows, is answered by flat::Search.
//
// Threads: Search runs Faiss under OmpThreads(1) on the calling thread;
// Build inserts with `threads` OpenMP threads.
#pragma once

#include <memory>
#include <string_view>

#include "index/index_util.h"
#include "index/vector_index.h"

namespace kite::index {

Result<std::unique_ptr<VectorIndex>> BuildFaissHnswIndex(const internal::IndexSpec& spec, const Params& params,
                                                         const Column& column, int threads);
Result<std::unique_ptr<VectorIndex>> LoadFaissHnswIndex(const internal::IndexHeader& header,
                                                        std::string_view body);

}  // namespace kite::index
