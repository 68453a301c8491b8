#include "roles/coordinator/tso.h"

#include <algorithm>
#include <charconv>

namespace kite {
namespace {

constexpr char kTsoKey[] = "kite/tso/saved_ms";
constexpr char kIdKey[] = "kite/id/limit";

Result<int64_t> ReadInt(MetaStore* meta, const char* key, int64_t dflt) {
  KITE_ASSIGN_OR_RETURN(auto v, meta->Get(key));
  if (!v) return dflt;
  int64_t out = 0;
  auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
  if (ec != std::errc() || p != v->data() + v->size()) return Corruption("meta key {} holds '{}'", key, *v);
  return out;
}

Status WriteInt(MetaStore* meta, const char* key, int64_t v) {
  MetaBatch b;
  b.Put(key, std::to_string(v));
  return meta->Commit(b);
}

}  // namespace

Result<std::unique_ptr<Tso>> Tso::Open(MetaStore* meta, uint64_t window_ms) {
  KITE_ASSIGN_OR_RETURN(int64_t saved, ReadInt(meta, kTsoKey, 0));
  return std::unique_ptr<Tso>(new Tso(meta, window_ms, static_cast<uint64_t>(saved)));
}

Result<Timestamp> Tso::Alloc(uint32_t count) {
  if (count == 0 || count > kLogicalMask) {
    return InvalidArgument("timestamp count must be in [1, {}], got {}", kLogicalMask, count);
  }
  std::lock_guard lock(mu_);
  uint64_t now = WallClockMs();
  if (now > physical_ms_) {
    physical_ms_ = now;
    logical_ = 0;
  }
  if (logical_ + count > kLogicalMask) {  // logical space exhausted: borrow the next millisecond
    physical_ms_ += 1;
    logical_ = 0;
  }
  if (physical_ms_ >= saved_ms_) {
    uint64_t next_saved = physical_ms_ + window_ms_;
    KITE_RETURN_IF_ERROR(WriteInt(meta_, kTsoKey, static_cast<int64_t>(next_saved)));
    saved_ms_ = next_saved;
  }
  logical_ += count;
  return ComposeTs(physical_ms_, logical_);
}

Result<std::unique_ptr<IdAllocator>> IdAllocator::Open(MetaStore* meta, int64_t block) {
  // Ids start high enough never to collide with Milvus's reserved small ids.
  KITE_ASSIGN_OR_RETURN(int64_t limit, ReadInt(meta, kIdKey, 1000));
  return std::unique_ptr<IdAllocator>(new IdAllocator(meta, block, limit));
}

Result<int64_t> IdAllocator::Alloc(int64_t count) {
  std::lock_guard lock(mu_);
  if (count <= 0) return InvalidArgument("id count must be positive, got {}", count);
  if (next_ + count > limit_) {
    int64_t new_limit = next_ + std::max(block_, count);
    KITE_RETURN_IF_ERROR(WriteInt(meta_, kIdKey, new_limit));
    limit_ = new_limit;
  }
  int64_t first = next_;
  next_ += count;
  return first;
}

}  // namespace kite
