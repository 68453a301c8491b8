// BIN_IVF_FLAT: an inverted file over binary vectors. Faiss 1.7.3's
// faiss::IndexBinaryIVF trains the lists (k-means over the bits), assigns
// rows and queries to lists and stores the codes; the probed lists are then
// scanned by Kite with flat::Search, because Faiss 1.7.3's binary indexes
// reject SearchParameters in search() (no nprobe per call, no IDSelector)
// and its search_preassigned() ignores the selector and only knows Hamming.
// Scanning the lists ourselves gives the exact metric (HAMMING or JACCARD)
// for every row of a probed list, applies the filter inside the scan, and
// keeps nprobe a per-call value.
//
//   build:  nlist (128, clamped to rows / 39, at least 1)
//   search: nprobe (8, clamped to the number of lists)
//
// Null rows are not added (Faiss ids are row numbers). A mask passing under
// 5% of the rows, or a query left with fewer than min(k, passing) hits, is
// answered by flat::Search over the base column.
//
// Threads: Search uses only the calling thread (the coarse assignment runs
// under OmpThreads(1)); Build trains with `threads` OpenMP threads.
#pragma once

#include <memory>
#include <string_view>

#include "index/index_util.h"
#include "index/vector_index.h"

namespace kite::index {

Result<std::unique_ptr<VectorIndex>> BuildFaissBinaryIvfIndex(const internal::IndexSpec& spec, const Params& params,
                                                              const Column& column, int threads);
Result<std::unique_ptr<VectorIndex>> LoadFaissBinaryIvfIndex(const internal::IndexHeader& header,
                                                             std::string_view body);

}  // namespace kite::index
