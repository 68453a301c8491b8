#include "index/hnsw/hnsw_graph.h"

#include <sys/mman.h>

#include <cmath>
#include <new>

namespace kite::index::hnsw {

void LinkArray::Assign(size_t n) {
  constexpr size_t kHuge = size_t{2} << 20;
  size_t bytes = std::max<size_t>(n * sizeof(uint32_t), 64);
  const size_t align = bytes >= 2 * kHuge ? kHuge : 64;
  bytes = (bytes + align - 1) / align * align;
  p_.reset(static_cast<uint32_t*>(std::aligned_alloc(align, bytes)));
  if (!p_) throw std::bad_alloc();
  if (align == kHuge) madvise(p_.get(), bytes, MADV_HUGEPAGE);  // a hint: failure is harmless
  std::memset(p_.get(), 0, bytes);
  n_ = n;
}

bool Graph::Allocate() {
  max_degree0 = 2 * m;
  stride0 = 1 + static_cast<size_t>(max_degree0);
  stride_up = 1 + static_cast<size_t>(m);
  upper_offset.assign(static_cast<size_t>(rows), 0);
  uint64_t total = 0;
  nodes = 0;
  for (int64_t r = 0; r < rows; ++r) {
    const int l = level[r];
    if (l < 0) continue;
    ++nodes;
    if (l == 0) continue;
    upper_offset[r] = static_cast<uint32_t>(total);
    total += static_cast<uint64_t>(l) * stride_up;
    if (total > std::numeric_limits<uint32_t>::max()) return false;
  }
  level0.Assign(static_cast<size_t>(rows) * stride0);
  upper.assign(total, 0);
  return true;
}

Space::Space(flat::Metric metric, flat::ElemType type, int64_t dim, const uint8_t* base)
    : metric_(metric), type_(type), dim_(dim), base_(base), kernels_(&flat::internal::Active()) {
  static constexpr size_t kElemBytes[] = {4, 2, 2, 1};
  row_bytes_ = kElemBytes[static_cast<int>(type)] * static_cast<size_t>(dim);
  const auto op = metric == flat::Metric::kL2   ? flat::internal::RowOp::kL2
                  : metric == flat::Metric::kIP ? flat::internal::RowOp::kIP
                                                : flat::internal::RowOp::kCosine;
  rows_ = kernels_->rows[static_cast<int>(op)][static_cast<int>(type)];
}

Query Space::Prepare(const void* row, float* buf) const {
  Query q;
  switch (type_) {
    case flat::ElemType::kFloat32: q.v = static_cast<const float*>(row); break;
    case flat::ElemType::kFloat16:
      kernels_->f16_to_f32(static_cast<const uint16_t*>(row), dim_, buf);
      q.v = buf;
      break;
    case flat::ElemType::kBFloat16:
      kernels_->bf16_to_f32(static_cast<const uint16_t*>(row), dim_, buf);
      q.v = buf;
      break;
    case flat::ElemType::kInt8:
      kernels_->i8_to_f32(static_cast<const int8_t*>(row), dim_, buf);
      q.v = buf;
      break;
    case flat::ElemType::kBinary: break;  // rejected before a Space is made
  }
  if (metric_ == flat::Metric::kCosine) {
    float nn = 0;
    kernels_->norm_sq(q.v, 1, dim_, &nn);
    q.inv = nn > 0 ? 1.0f / std::sqrt(nn) : 0.0f;
  }
  return q;
}

}  // namespace kite::index::hnsw
