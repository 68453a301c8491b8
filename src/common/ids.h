// Strong integer ids. Collection, partition, field, index, database and segment
// ids are int64 allocated by the coordinator; distinct types so they cannot be
// mixed up. Field ids follow Milvus: user fields are numbered from 100.
#pragma once

#include <cstdint>
#include <functional>

namespace kite {

template <typename Tag>
struct StrongId {
  int64_t value = 0;
  constexpr StrongId() = default;
  constexpr explicit StrongId(int64_t v) : value(v) {}
  constexpr auto operator<=>(const StrongId&) const = default;
};

using CollectionId = StrongId<struct CollectionIdTag>;
using PartitionId = StrongId<struct PartitionIdTag>;
using FieldId = StrongId<struct FieldIdTag>;
using IndexId = StrongId<struct IndexIdTag>;
using DatabaseId = StrongId<struct DatabaseIdTag>;
using SegmentId = StrongId<struct SegmentIdTag>;

inline constexpr int64_t kFirstUserFieldId = 100;
// Milvus's system fields: row id 0, timestamp 1.
inline constexpr FieldId kRowIdFieldId{0};
inline constexpr FieldId kTimestampFieldId{1};

}  // namespace kite

template <typename Tag>
struct std::hash<kite::StrongId<Tag>> {
  size_t operator()(const kite::StrongId<Tag>& id) const noexcept {
    return std::hash<int64_t>()(id.value);
  }
};
