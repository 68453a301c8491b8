// Glue between Kite and Faiss 1.7.3, shared by the Faiss adapters in this
// directory. Internal to kite_index.
//
//   MaskSelector     faiss::IDSelector over Kite's one-byte-per-row filter
//                    (optionally through a Faiss-id -> row map)
//   OmpThreads       scoped omp_set_num_threads for the calling thread
//   StringWriter /   faiss::IOWriter / IOReader over std::string /
//   ViewReader       std::string_view (no copy of the index bytes)
//   RunFaiss         runs a callable, turning Faiss's exceptions into Status
//
// Thread-safety: MaskSelector is immutable and may be shared by concurrent
// searches; OmpThreads changes only the calling thread's OpenMP setting.
#pragma once

#include <faiss/impl/IDSelector.h>
#include <faiss/impl/io.h>
#include <faiss/invlists/InvertedLists.h>

#include <cstdint>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace kite::index::internal {

// Faiss id `id` is a member when mask[row] != 0, row = id, or
// rows[id] when a map is given. Borrows both arrays.
class MaskSelector final : public faiss::IDSelector {
 public:
  MaskSelector(const uint8_t* mask, const std::vector<int64_t>* rows) : mask_(mask), rows_(rows) {}
  bool is_member(int64_t id) const override {
    const int64_t row = rows_ != nullptr && !rows_->empty() ? (*rows_)[id] : id;
    return mask_[row] != 0;
  }

 private:
  const uint8_t* mask_;
  const std::vector<int64_t>* rows_;
};

// OpenMP's thread count is a per-thread setting (the nthreads-var ICV of the
// calling thread's implicit task), so this changes nothing for other threads.
// With 1, Faiss's `#pragma omp parallel` regions run as a team of one: the
// calling thread itself, no pool threads woken.
class OmpThreads {
 public:
  explicit OmpThreads(int n);
  ~OmpThreads();
  OmpThreads(const OmpThreads&) = delete;
  OmpThreads& operator=(const OmpThreads&) = delete;

 private:
  int saved_;
};

class StringWriter final : public faiss::IOWriter {
 public:
  explicit StringWriter(std::string* out) : out_(out) {}
  size_t operator()(const void* ptr, size_t size, size_t nitems) override {
    out_->append(static_cast<const char*>(ptr), size * nitems);
    return nitems;
  }

 private:
  std::string* out_;
};

class ViewReader final : public faiss::IOReader {
 public:
  explicit ViewReader(std::string_view in) : in_(in) {}
  size_t operator()(void* ptr, size_t size, size_t nitems) override;
  size_t remaining() const { return in_.size() - pos_; }

 private:
  std::string_view in_;
  size_t pos_ = 0;
};

// Runs fn(); a Faiss (or any std::) exception becomes Internal("<what>: ...").
template <typename Fn>
Status RunFaiss(const char* what, Fn&& fn) {
  try {
    fn();
  } catch (const std::exception& e) {
    return Internal("{}: {}", what, e.what());
  }
  return Status::OK();
}

// Faiss's k-means wants at least this many training points per centroid
// (faiss::ClusteringParameters::min_points_per_centroid's default).
inline constexpr int64_t kMinPointsPerList = 39;
// The number of lists an IVF index over `rows` rows really gets: what was
// asked for, but no more than rows / kMinPointsPerList, and at least 1. A
// small segment gets fewer, fuller lists instead of a failed or degenerate
// training.
int64_t EffectiveNlist(int64_t nlist, int64_t rows);

// True when every id stored in the lists is a row number below `rows` (a
// loaded index is checked before its ids are used to index a row mask).
bool IdsInRange(const faiss::InvertedLists& lists, int64_t rows);

}  // namespace kite::index::internal
