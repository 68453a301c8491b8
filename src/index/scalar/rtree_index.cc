#include "index/scalar/rtree_index.h"

#include <algorithm>
#include <cmath>

#include <zlib.h>

#include "index/scalar/scalar_index_internal.h"

namespace kite::index {
namespace {

constexpr char kRtreeMagic[4] = {'K', 'R', 'T', 'R'};
constexpr uint32_t kRtreeVersion = 1;

uint32_t Crc32(std::string_view b) {
  uLong crc = crc32(0L, Z_NULL, 0);
  while (!b.empty()) {
    auto n = static_cast<uInt>(std::min<size_t>(b.size(), 1u << 30));
    crc = crc32(crc, reinterpret_cast<const Bytef*>(b.data()), n);
    b.remove_prefix(n);
  }
  return static_cast<uint32_t>(crc);
}

}  // namespace

Result<std::unique_ptr<RtreeIndex>> RtreeIndex::Build(const Column& column) {
  if (column.type != DataType::kGeometry) {
    return InvalidArgument("RTREE index can only be built on geometry field, got {}", DataTypeName(column.type));
  }
  if (column.num_rows < 0 || static_cast<uint64_t>(column.num_rows) >= UINT32_MAX) {
    return InvalidArgument("cannot index a column of {} rows", column.num_rows);
  }
  if (column.offsets.size() < static_cast<size_t>(column.num_rows) + 1) {
    return InvalidArgument("variable-width column holds fewer than {} rows", column.num_rows);
  }
  std::unique_ptr<RtreeIndex> idx(new RtreeIndex());
  idx->rows_ = static_cast<uint64_t>(column.num_rows);
  for (int64_t r = 0; r < column.num_rows; ++r) {
    if (column.IsNull(r)) continue;
    geo::Envelope e = geo::EnvelopeOfWkb(column.GetBytes(r));
    if (e.empty) continue;
    idx->entries_.push_back({e.min_x, e.min_y, e.max_x, e.max_y, static_cast<uint32_t>(r)});
  }
  idx->Pack();
  return idx;
}

void RtreeIndex::Pack() {
  // Sort-Tile-Recursive (Leutenegger et al., 1997), one level: sqrt(leaves)
  // vertical slices by center x, each sorted by center y, cut into leaves.
  auto cx = [](const Entry& e) { return e.min_x + e.max_x; };
  auto cy = [](const Entry& e) { return e.min_y + e.max_y; };
  std::sort(entries_.begin(), entries_.end(), [&](const Entry& a, const Entry& b) { return cx(a) < cx(b); });
  const size_t n = entries_.size();
  const size_t leaves = (n + kLeafSize - 1) / kLeafSize;
  const size_t slices = std::max<size_t>(1, static_cast<size_t>(std::ceil(std::sqrt(static_cast<double>(leaves)))));
  const size_t per_slice = slices * kLeafSize;
  for (size_t s = 0; s < n; s += per_slice) {
    auto b = entries_.begin() + static_cast<std::ptrdiff_t>(s);
    auto e = entries_.begin() + static_cast<std::ptrdiff_t>(std::min(n, s + per_slice));
    std::sort(b, e, [&](const Entry& x, const Entry& y) { return cy(x) < cy(y); });
  }
  leaves_.clear();
  for (size_t i = 0; i < n; i += kLeafSize) {
    geo::Envelope box;
    box.empty = false;
    box.min_x = box.min_y = INFINITY;
    box.max_x = box.max_y = -INFINITY;
    for (size_t k = i; k < std::min(n, i + kLeafSize); ++k) {
      box.min_x = std::min(box.min_x, entries_[k].min_x);
      box.min_y = std::min(box.min_y, entries_[k].min_y);
      box.max_x = std::max(box.max_x, entries_[k].max_x);
      box.max_y = std::max(box.max_y, entries_[k].max_y);
    }
    leaves_.push_back(box);
  }
}

size_t RtreeIndex::MemoryBytes() const {
  return sizeof(*this) + entries_.capacity() * sizeof(Entry) + leaves_.capacity() * sizeof(geo::Envelope);
}

void RtreeIndex::Candidates(const geo::Envelope& box, int64_t limit, std::vector<uint32_t>* out) const {
  out->clear();
  if (box.empty) return;
  for (size_t l = 0; l < leaves_.size(); ++l) {
    if (!leaves_[l].Intersects(box)) continue;
    for (size_t k = l * kLeafSize; k < std::min(entries_.size(), (l + 1) * kLeafSize); ++k) {
      const Entry& e = entries_[k];
      if (e.row >= limit) continue;
      if (e.min_x <= box.max_x && box.min_x <= e.max_x && e.min_y <= box.max_y && box.min_y <= e.max_y) {
        out->push_back(e.row);
      }
    }
  }
  std::sort(out->begin(), out->end());
}

Status RtreeIndex::Serialize(std::string* out) const {
  std::string body;
  scalar::Writer w(&body);
  w.Raw(kRtreeMagic, 4);
  w.U32(kRtreeVersion);
  w.U64(rows_);
  w.U64(entries_.size());
  for (const Entry& e : entries_) {
    w.Raw(&e.min_x, 8);
    w.Raw(&e.min_y, 8);
    w.Raw(&e.max_x, 8);
    w.Raw(&e.max_y, 8);
    w.U32(e.row);
  }
  uint32_t crc = Crc32(body);
  out->append(body);
  out->append(reinterpret_cast<const char*>(&crc), 4);
  return Status::OK();
}

Result<std::unique_ptr<RtreeIndex>> RtreeIndex::Load(std::string_view bytes) {
  if (bytes.size() < 4 + 4 + 8 + 8 + 4) return Corruption("rtree index: {} bytes is too short", bytes.size());
  std::string_view body = bytes.substr(0, bytes.size() - 4);
  uint32_t crc = 0;
  std::memcpy(&crc, bytes.data() + body.size(), 4);
  if (crc != Crc32(body)) return Corruption("rtree index: checksum mismatch");
  if (std::memcmp(body.data(), kRtreeMagic, 4) != 0) return Corruption("rtree index: bad magic");
  scalar::Reader r(body.substr(4));
  uint32_t version = 0;
  uint64_t rows = 0, count = 0;
  if (!r.U32(&version) || !r.U64(&rows) || !r.U64(&count)) return Corruption("rtree index: truncated header");
  if (version != kRtreeVersion) return Corruption("rtree index: unsupported version {}", version);
  if (rows >= UINT32_MAX || count > rows || count * 36 != r.remaining()) {
    return Corruption("rtree index: {} entries do not fit {} rows and {} bytes", count, rows, r.remaining());
  }
  std::unique_ptr<RtreeIndex> idx(new RtreeIndex());
  idx->rows_ = rows;
  idx->entries_.resize(count);
  for (Entry& e : idx->entries_) {
    r.Raw(&e.min_x, 8);
    r.Raw(&e.min_y, 8);
    r.Raw(&e.max_x, 8);
    r.Raw(&e.max_y, 8);
    r.U32(&e.row);
    if (e.row >= rows || !(e.min_x <= e.max_x) || !(e.min_y <= e.max_y)) {
      return Corruption("rtree index: bad entry for row {}", e.row);
    }
  }
  // Entries are stored in leaf order: recompute the leaf boxes only.
  for (size_t i = 0; i < count; i += kLeafSize) {
    geo::Envelope box;
    box.empty = false;
    box.min_x = box.min_y = INFINITY;
    box.max_x = box.max_y = -INFINITY;
    for (size_t k = i; k < std::min<size_t>(count, i + kLeafSize); ++k) {
      const Entry& e = idx->entries_[k];
      box.min_x = std::min(box.min_x, e.min_x);
      box.min_y = std::min(box.min_y, e.min_y);
      box.max_x = std::max(box.max_x, e.max_x);
      box.max_y = std::max(box.max_y, e.max_y);
    }
    idx->leaves_.push_back(box);
  }
  return idx;
}

}  // namespace kite::index
