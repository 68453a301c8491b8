// TopK: the k smallest (key, id) pairs of a stream, for one query. Internal to
// kite_flat.
//
// Keys are "smaller is better" (flat_search.cc negates IP / COSINE). Only keys
// with lo <= key < hi are kept (hi = +inf and no bound when has_hi is false);
// NaN keys are never kept. Ties are broken by id, smaller first.
//
// Precondition: ids are pushed in increasing order (every caller scans rows in
// order). That makes an incoming key equal to the current worst always lose,
// so the full-heap test is one float compare.
//
// A binary max-heap on (key, id): O(log k) per accepted key, and once full a
// key is accepted only below the current worst, so for k << n almost every key
// costs one compare. Bound() gives SIMD prefilters a value above which keys can
// be skipped without calling Push. Not thread-safe; one per query.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <vector>

namespace kite::flat::internal {

class TopK {
 public:
  TopK() = default;
  TopK(int64_t k, float lo, float hi, bool has_hi) { Reset(k, lo, hi, has_hi); }

  void Reset(int64_t k, float lo, float hi, bool has_hi) {
    k_ = k;
    lo_ = lo;
    hi_ = has_hi ? hi : std::numeric_limits<float>::infinity();
    has_hi_ = has_hi;
    bound_ = k > 0 ? hi_ : -std::numeric_limits<float>::infinity();
    keys_.clear();
    ids_.clear();
    keys_.reserve(static_cast<size_t>(k));
    ids_.reserve(static_cast<size_t>(k));
  }

  // Keys > Bound() or < Lo() (or NaN) would be rejected by Push.
  float Bound() const { return bound_; }
  float Lo() const { return lo_; }

  void Push(float key, int64_t id) {
    if (!(key >= lo_)) return;  // also rejects NaN
    const int64_t size = static_cast<int64_t>(keys_.size());
    if (size < k_) {
      if (has_hi_ && !(key < hi_)) return;
      keys_.push_back(key);
      ids_.push_back(id);
      SiftUp(size);
      if (size + 1 == k_) bound_ = keys_[0];
      return;
    }
    if (!(key < bound_)) return;  // equal keys lose: ids are increasing
    keys_[0] = key;
    ids_[0] = id;
    SiftDown();
    bound_ = keys_[0];
  }

  int64_t size() const { return static_cast<int64_t>(keys_.size()); }

  // Appends the kept pairs best first (key ascending, then id) and empties the
  // heap. Keys are multiplied by `sign` (-1 turns keys back into IP / COSINE).
  void DrainSorted(float sign, std::vector<int64_t>* ids, std::vector<float>* keys) {
    const size_t n = keys_.size();
    std::vector<std::pair<float, int64_t>> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = {keys_[i], ids_[i]};
    std::sort(v.begin(), v.end());
    for (const auto& [key, id] : v) {
      ids->push_back(id);
      keys->push_back(sign * key);
    }
    keys_.clear();
    ids_.clear();
  }

 private:
  // (key, id) lexicographic "worse than".
  bool Worse(size_t a, size_t b) const {
    return keys_[a] > keys_[b] || (keys_[a] == keys_[b] && ids_[a] > ids_[b]);
  }
  void Swap(size_t a, size_t b) {
    std::swap(keys_[a], keys_[b]);
    std::swap(ids_[a], ids_[b]);
  }
  void SiftUp(int64_t i) {
    size_t c = static_cast<size_t>(i);
    while (c > 0) {
      size_t p = (c - 1) / 2;
      if (!Worse(c, p)) break;
      Swap(c, p);
      c = p;
    }
  }
  void SiftDown() {
    const size_t n = keys_.size();
    size_t p = 0;
    for (;;) {
      size_t l = 2 * p + 1;
      if (l >= n) break;
      size_t w = (l + 1 < n && Worse(l + 1, l)) ? l + 1 : l;
      if (!Worse(w, p)) break;
      Swap(w, p);
      p = w;
    }
  }

  int64_t k_ = 0;
  float lo_ = -std::numeric_limits<float>::infinity();
  float hi_ = std::numeric_limits<float>::infinity();
  bool has_hi_ = false;
  float bound_ = std::numeric_limits<float>::infinity();
  std::vector<float> keys_;
  std::vector<int64_t> ids_;
};

}  // namespace kite::flat::internal
