// The value of one Kafka WAL record (docs/formats/kafka_wal_record.md) and
// the fence rule of a replay. Internal to kite_wal_kafka (kafka_wal.cc) and
// its format test (kafka_wal_record_test.cc, which reads committed records).
// Pure functions; thread-compatible.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "common/status.h"
#include "storage/wal/wal.h"

namespace kite::kafkawal {

constexpr char kMagic[4] = {'K', 'W', 'A', 'L'};
constexpr uint8_t kTypeData = 1;
constexpr uint8_t kTypeTermStart = 2;
constexpr size_t kHeaderBytes = 4 + 1 + 8 + 8 + 8;  // magic, type, term, writer, lsn
constexpr int64_t kRecordBytesMax = (64 << 20) + 4096;  // a 64 MiB write batch and its framing

struct Record {
  uint8_t type = 0;
  WalTerm term = 0;
  uint64_t writer = 0;
  Lsn lsn = kNoLsn;
  std::string_view payload;
};

inline void PutU64(std::string* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
inline uint64_t GetU64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

inline std::string Encode(uint8_t type, WalTerm term, uint64_t writer, Lsn lsn, std::string_view payload) {
  std::string out;
  out.reserve(kHeaderBytes + payload.size());
  out.append(kMagic, sizeof(kMagic));
  out.push_back(static_cast<char>(type));
  PutU64(&out, term);
  PutU64(&out, writer);
  PutU64(&out, lsn);
  out.append(payload);
  return out;
}

inline Result<Record> Decode(const std::string& topic, int64_t offset, std::string_view bytes) {
  if (bytes.size() < kHeaderBytes || std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) != 0 ||
      (bytes[4] != kTypeData && bytes[4] != kTypeTermStart)) {
    return Corruption("Kafka WAL topic {} offset {}: not a Kite WAL record ({} bytes)", topic, offset, bytes.size());
  }
  Record r;
  r.type = static_cast<uint8_t>(bytes[4]);
  r.term = GetU64(bytes.data() + 5);
  r.writer = GetU64(bytes.data() + 13);
  r.lsn = GetU64(bytes.data() + 21);
  r.payload = bytes.substr(kHeaderBytes);
  return r;
}

// The fence rule of a replay (kafka_wal.h): `fence` is the newest term seen.
// A term-start marker raises it; a data record of a lower term is a fenced
// (zombie) write; a data record of a higher term (the anchor left by
// TruncateBefore, whose marker was deleted) raises it.
struct FenceState {
  WalTerm fence = 0;
  // True if the record is valid data.
  bool Accept(const Record& r) {
    if (r.type == kTypeTermStart) {
      fence = std::max(fence, r.term);
      return false;
    }
    if (r.term < fence) return false;
    fence = r.term;
    return true;
  }
};

}  // namespace kite::kafkawal
