#include "index/faiss/faiss_util.h"

#include <omp.h>

#include <algorithm>
#include <cstring>

namespace kite::index::internal {

OmpThreads::OmpThreads(int n) : saved_(omp_get_max_threads()) { omp_set_num_threads(std::max(1, n)); }
OmpThreads::~OmpThreads() { omp_set_num_threads(saved_); }

size_t ViewReader::operator()(void* ptr, size_t size, size_t nitems) {
  if (size == 0) return nitems;
  const size_t n = std::min(nitems, remaining() / size);
  std::memcpy(ptr, in_.data() + pos_, n * size);
  pos_ += n * size;
  return n;
}

int64_t EffectiveNlist(int64_t nlist, int64_t rows) {
  return std::max<int64_t>(1, std::min(nlist, rows / kMinPointsPerList));
}

bool IdsInRange(const faiss::InvertedLists& lists, int64_t rows) {
  for (size_t l = 0; l < lists.nlist; ++l) {
    const size_t n = lists.list_size(l);
    if (n == 0) continue;
    faiss::InvertedLists::ScopedIds ids(&lists, l);
    for (size_t j = 0; j < n; ++j) {
      if (ids[j] < 0 || ids[j] >= rows) return false;
    }
  }
  return true;
}

}  // namespace kite::index::internal
