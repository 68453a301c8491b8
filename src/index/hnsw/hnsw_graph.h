// Internal to kite_hnsw: the HNSW graph's memory layout, the distance adapter
// over the segment's own column, the per-search scratch (visited tags, heaps)
// and the two layer walks of Malkov & Yashunin, "Efficient and robust
// approximate nearest neighbor search using Hierarchical Navigable Small World
// graphs" (IEEE TPAMI 2018; arXiv:1603.09320): the greedy descent through the
// upper layers (ef = 1) and SEARCH-LAYER (Algorithm 2) with a result filter.
//
// Layout. Node ids are row numbers of the column the graph was built from.
// Level 0 is one flat array with a fixed stride of 1 + 2M uint32s per row
// (count, then ids); rows not in the graph (nulls) keep an empty list. Upper
// levels are sparse: a node of level L > 0 owns L lists of 1 + M uint32s in
// `upper`, starting at upper_offset[node]. No vectors are stored: distances
// read rows from the column (Space).
//
// Concurrency. During a build, lists are written under per-node locks
// (hnsw_build.cc) while other threads read them without locks: the count is
// stored with release and loaded with acquire, ids with relaxed atomics, so a
// reader sees a count whose ids are all written; ids past a shrunken count are
// stale but still valid nodes of that level. After the build the graph is
// immutable and the same loads are plain moves.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <vector>

#include "index/flat/flat_search.h"
#include "index/flat/kernels.h"

namespace kite::index::hnsw {

inline constexpr float kInf = std::numeric_limits<float>::infinity();
inline constexpr int kMaxLevel = 127;  // levels are stored as int8

inline uint32_t LoadCount(const uint32_t* p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
inline uint32_t LoadId(const uint32_t* p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }
inline void StoreCount(uint32_t* p, uint32_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
inline void StoreId(uint32_t* p, uint32_t v) { __atomic_store_n(p, v, __ATOMIC_RELAXED); }

// A zero-filled uint32 array. Large ones are 2 MiB-aligned and advised for
// transparent huge pages before they are touched: the level-0 lists are read
// at random, one TLB miss per list with 4 KiB pages.
class LinkArray {
 public:
  void Assign(size_t n);  // throws std::bad_alloc
  uint32_t* data() { return p_.get(); }
  const uint32_t* data() const { return p_.get(); }
  size_t size() const { return n_; }
  size_t MemoryBytes() const { return n_ * sizeof(uint32_t); }

 private:
  struct Free {
    void operator()(uint32_t* p) const { std::free(p); }
  };
  std::unique_ptr<uint32_t, Free> p_;
  size_t n_ = 0;
};

// The graph. Not thread-safe by itself; see the header comment.
struct Graph {
  int64_t rows = 0;
  int m = 0;            // max degree above level 0
  int max_degree0 = 0;  // 2M
  size_t stride0 = 0;   // uint32s per level-0 list
  size_t stride_up = 0; // uint32s per upper list
  std::vector<int8_t> level;           // per row, -1 = not in the graph
  std::vector<uint32_t> upper_offset;  // per row, into `upper` (level > 0 only)
  LinkArray level0;                    // rows * stride0
  std::vector<uint32_t> upper;
  int32_t entry = -1;  // -1: empty graph
  int max_level = -1;
  int64_t nodes = 0;   // rows in the graph

  // Sets the shape and allocates every list (levels must be filled first).
  // False when the upper lists do not fit 32-bit offsets.
  bool Allocate();

  int MaxDegree(int l) const { return l == 0 ? max_degree0 : m; }
  uint32_t* Links(uint32_t node, int l) {
    return l == 0 ? level0.data() + node * stride0 : upper.data() + upper_offset[node] + (l - 1) * stride_up;
  }
  const uint32_t* Links(uint32_t node, int l) const { return const_cast<Graph*>(this)->Links(node, l); }
  size_t MemoryBytes() const {
    return level.capacity() + level0.MemoryBytes() + 4 * (upper_offset.capacity() + upper.capacity());
  }
};

// A query (or a base row used as one) as float32, with 1/||v|| for COSINE.
struct Query {
  const float* v = nullptr;
  float inv = 0;
};

// Distances between float32 queries and rows of the borrowed column, as the
// flat kernels' keys: smaller is better (L2 squared, -IP, -cosine).
class Space {
 public:
  Space(flat::Metric metric, flat::ElemType type, int64_t dim, const uint8_t* base);

  // `row` (in the column's element type) as a Query; `buf` holds dim floats
  // when the type is not float32.
  Query Prepare(const void* row, float* buf) const;
  Query PrepareRow(uint32_t id, float* buf) const { return Prepare(Row(id), buf); }
  // out[i] = key(q, row ids[i]).
  void Score(const Query& q, const uint32_t* ids, int64_t n, float* out) const {
    rows_(q.v, q.inv, base_, reinterpret_cast<const int32_t*>(ids), n, dim_, out);
  }
  float ScoreOne(const Query& q, uint32_t id) const {
    float d;
    Score(q, &id, 1, &d);
    return d;
  }
  const uint8_t* Row(uint32_t id) const { return base_ + id * row_bytes_; }
  void Prefetch(uint32_t id) const {
    const char* p = reinterpret_cast<const char*>(Row(id));
    __builtin_prefetch(p);
    if (row_bytes_ > 64) __builtin_prefetch(p + 64);
  }
  int64_t dim() const { return dim_; }
  size_t row_bytes() const { return row_bytes_; }

 private:
  flat::Metric metric_;
  flat::ElemType type_;
  int64_t dim_;
  size_t row_bytes_;
  const uint8_t* base_;
  const flat::internal::Kernels* kernels_;
  flat::internal::RowsFn rows_;
};

// Epoch-tagged visited set: Reset() is O(1) except once every 65535 uses.
class Visited {
 public:
  explicit Visited(int64_t n) : tag_(static_cast<size_t>(n), 0) {}
  void Reset() {
    if (++epoch_ == 0) {
      std::fill(tag_.begin(), tag_.end(), 0);
      epoch_ = 1;
    }
  }
  bool TestAndMark(uint32_t id) {
    if (tag_[id] == epoch_) return true;
    tag_[id] = epoch_;
    return false;
  }
  void Mark(uint32_t id) { tag_[id] = epoch_; }
  void Prefetch(uint32_t id) const { __builtin_prefetch(tag_.data() + id); }
  size_t MemoryBytes() const { return tag_.capacity() * sizeof(uint16_t); }

 private:
  std::vector<uint16_t> tag_;
  uint16_t epoch_ = 0;
};

struct Cand {
  float key;
  uint32_t id;
};

// Binary heap on a reused vector, ordered by key only: kMin keeps the
// smallest key on top, else the largest. Hole-based sifts, no comparator
// objects, so everything inlines into the layer walk.
template <bool kMin>
class Heap {
 public:
  void clear() { v_.clear(); }
  bool empty() const { return v_.empty(); }
  size_t size() const { return v_.size(); }
  const Cand& top() const { return v_.front(); }
  void push(Cand c) {
    v_.push_back(c);
    size_t i = v_.size() - 1;
    while (i > 0) {
      const size_t p = (i - 1) / 2;
      if (!Above(c.key, v_[p].key)) break;
      v_[i] = v_[p];
      i = p;
    }
    v_[i] = c;
  }
  void pop() {
    const Cand last = v_.back();
    v_.pop_back();
    if (!v_.empty()) SiftDown(last);
  }
  // pop() then push(c), in one sift.
  void replace_top(Cand c) { SiftDown(c); }
  std::vector<Cand>& items() { return v_; }  // heap order

 private:
  static bool Above(float a, float b) {
    if constexpr (kMin) {
      return a < b;
    } else {
      return a > b;
    }
  }
  // Places c starting from the root's hole.
  void SiftDown(Cand c) {
    const size_t n = v_.size();
    size_t i = 0;
    for (;;) {
      size_t ch = 2 * i + 1;
      if (ch >= n) break;
      if (ch + 1 < n && Above(v_[ch + 1].key, v_[ch].key)) ++ch;
      if (!Above(v_[ch].key, c.key)) break;
      v_[i] = v_[ch];
      i = ch;
    }
    v_[i] = c;
  }
  std::vector<Cand> v_;
};

// Per-thread scratch for searches (and the build's insertions).
struct SearchContext {
  SearchContext(int64_t rows, int64_t dim, int max_degree)
      : visited(rows), ids(static_cast<size_t>(max_degree) + 1), dists(static_cast<size_t>(max_degree) + 1),
        qbuf(static_cast<size_t>(dim)) {}
  Visited visited;
  Heap<true> cand;    // to expand, closest first
  Heap<false> res;    // best ef so far, worst on top
  std::vector<uint32_t> ids;
  std::vector<float> dists;
  std::vector<float> qbuf;  // the query as float32 (non-float32 columns)
};

// Greedy walk from `cur` through levels top .. bottom (top >= bottom >= 1):
// at each level, move to the closest neighbour until none is closer.
inline Cand Greedy(const Graph& g, const Space& s, const Query& q, Cand cur, int top, int bottom,
                   SearchContext* ctx) {
  uint32_t* ids = ctx->ids.data();
  float* d = ctx->dists.data();
  for (int l = top; l >= bottom; --l) {
    for (bool moved = true; moved;) {
      moved = false;
      const uint32_t* links = g.Links(cur.id, l);
      const uint32_t cnt = LoadCount(links);
      for (uint32_t i = 0; i < cnt; ++i) {
        ids[i] = LoadId(links + 1 + i);
        s.Prefetch(ids[i]);
      }
      s.Score(q, ids, cnt, d);
      for (uint32_t i = 0; i < cnt; ++i) {
        if (d[i] < cur.key) {
          cur = {d[i], ids[i]};
          moved = true;
        }
      }
    }
  }
  return cur;
}

// SEARCH-LAYER from `ep` at level `l`: leaves in ctx->res the (up to) ef
// closest nodes found that pass `filter` (kFilter), worst on top. Nodes the
// filter rejects are still expanded; while fewer than ef have passed, every
// reachable node is admitted, so a selective filter keeps the walk going
// until ef rows pass or the component is exhausted (at most `rows` nodes).
template <bool kFilter>
void SearchLayer(const Graph& g, const Space& s, const Query& q, Cand ep, int l, size_t ef, const uint8_t* filter,
                 SearchContext* ctx) {
  Visited& vis = ctx->visited;
  auto& cand = ctx->cand;
  auto& res = ctx->res;
  vis.Reset();
  cand.clear();
  res.clear();
  vis.Mark(ep.id);
  cand.push(ep);
  float worst = kInf;
  if ((!kFilter || filter[ep.id]) && ep.key == ep.key) {
    res.push(ep);
    if (res.size() >= ef) worst = res.top().key;
  }
  uint32_t* ids = ctx->ids.data();
  float* d = ctx->dists.data();
  while (!cand.empty()) {
    const Cand c = cand.top();
    if (c.key > worst) break;
    cand.pop();
    const uint32_t* links = g.Links(c.id, l);
    const uint32_t cnt = LoadCount(links);
    for (uint32_t i = 0; i < cnt; ++i) vis.Prefetch(LoadId(links + 1 + i));
    if (!cand.empty()) {
      const char* next = reinterpret_cast<const char*>(g.Links(cand.top().id, l));
      __builtin_prefetch(next);
      __builtin_prefetch(next + 64);
    }
    uint32_t m = 0;
    for (uint32_t i = 0; i < cnt; ++i) {
      const uint32_t id = LoadId(links + 1 + i);
      if (vis.TestAndMark(id)) continue;
      s.Prefetch(id);
      ids[m++] = id;
    }
    if (m == 0) continue;
    s.Score(q, ids, m, d);
    for (uint32_t j = 0; j < m; ++j) {
      if (!(d[j] < worst)) continue;  // also drops NaN
      cand.push({d[j], ids[j]});
      if (kFilter && !filter[ids[j]]) continue;
      if (res.size() < ef) {
        res.push({d[j], ids[j]});
        if (res.size() < ef) continue;
      } else {
        res.replace_top({d[j], ids[j]});
      }
      worst = res.top().key;
    }
  }
}

}  // namespace kite::index::hnsw
