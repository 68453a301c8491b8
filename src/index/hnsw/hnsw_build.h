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

// Inserts every row with level >= 0 into `g` (allocated, lists empty) in row
// order, with `threads` threads (the caller's included). Per-node spin locks
// guard list writes; one mutex guards the entry point and the top level, and
// is held through an insertion that raises the top level. Throws
// std::bad_alloc (after joining every thread) when scratch memory runs out.
void BuildGraph(Graph* g, const Space& s, int ef_construction, int threads);

}  // namespace kite::index::hnsw
