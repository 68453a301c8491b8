// SPARSE_INVERTED_INDEX and SPARSE_WAND: Kite's inverted index over a
// SparseFloatVector column, metric IP.
//
// Layout: one posting list per dimension that occurs in the column, holding
// (row, value) pairs in row order, stored as flat arrays (dims sorted, CSR
// offsets, rows, values). Null and empty rows have no postings.
//
// Search (term at a time): the query's terms are sorted by |value| and the
// drop_ratio_search fraction (default 0, range [0, 1)) of the smallest is
// dropped; the posting lists of the kept terms are walked in dimension order,
// summing query value x row value per row the filter lets through; the k
// highest sums are returned (ties by row). Scores are exact inner products
// over the kept terms (all terms at drop ratio 0). As in Milvus, a row that
// shares no kept dimension with the query is not a candidate, so a search
// may return fewer than k rows. SPARSE_WAND is the same index: WAND is a
// pruning strategy that returns the same top k, and the exhaustive walk is
// what we do for both for now.
//
// Thread-safety as VectorIndex; Build and Search use only the calling thread.
// Persisted arrays are little-endian (docs/formats/vector_index.md).
#pragma once

#include <memory>
#include <string_view>

#include "index/index_util.h"
#include "index/vector_index.h"

namespace kite::index {

Result<std::unique_ptr<VectorIndex>> BuildSparseInvertedIndex(const internal::IndexSpec& spec, const Column& column);
Result<std::unique_ptr<VectorIndex>> LoadSparseInvertedIndex(const internal::IndexHeader& header,
                                                             std::string_view body);

}  // namespace kite::index
