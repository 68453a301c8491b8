// Internal to kite_hnsw: HNSW construction (Malkov & Yashunin, Algorithms 1
// and 4) over a Graph whose levels are already drawn.
#pragma once

#include <cstdint>
#include <vector>

#include "index/hnsw/hnsw_graph.h"

namespace kite::index::hnsw {

// Draws every row's level, floor(-ln(U) * 1/ln(M)) capped at kMaxLevel, from a
// fixed-seed generator (the same rows give the same levels); rows whose
// `valid` byte is 0 get -1 (`valid` empty = every row valid).
void AssignLevels(int64_t rows, int m, const std::vector<uint8_t>& valid, std::vector<int8_t>* level);

// Exact duplicates (text corpora repeat passages, so their embeddings do):
// dup_of[r] is the first row (in row order) whose `row_bytes` bytes equal row
// r's, or -1 when r is the first of its value or not in the graph (level -1).
// Rows that are duplicates get level 0: they never enter the upper levels.
std::vector<int32_t> FindDuplicates(const uint8_t* data, int64_t rows, size_t row_bytes, std::vector<int8_t>* level);

// Inserts every row with level >= 0 into `g` (allocated, lists empty) in row
// order, with `threads` threads (the caller's included). Per-node spin locks
// guard list writes; one mutex guards the entry point and the top level, and
// is held through an insertion that raises the top level. Throws
// std::bad_alloc (after joining every thread) when scratch memory runs out.
//
// Duplicates (dup_of, from FindDuplicates; empty = none) are not inserted by
// the search-and-prune path: the heuristic of Algorithm 4 keeps at most one
// of several equal vectors in a list, and a neighbour list filled with copies
// of its own vector has no way out, so copies became unreachable (recall@10
// capped at 0.977 on a bench text set at any ef). Instead, after every other
// row, each group of equal rows is linked into a cycle (first -> second ->
// ... -> last -> first), and each copy takes the first row's other
// neighbours: a search that reaches any copy can walk to all of them, and
// leave them.
void BuildGraph(Graph* g, const Space& s, int ef_construction, int threads, const std::vector<int32_t>& dup_of);

}  // namespace kite::index::hnsw
