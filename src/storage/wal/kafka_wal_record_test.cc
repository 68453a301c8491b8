// The Kafka WAL record format (docs/formats/kafka_wal_record.md) against a
// committed fixture, tests/fixtures/formats/kafka_wal/records.bin: the values
// of one topic's records as an earlier build wrote them (each as u32 length +
// value), a replay with two writers, the older one fenced. A change that can
// no longer decode them, or that replays them to other LSNs, fails here.
//
// KITE_WRITE_FORMAT_FIXTURES=1 writes the file when it is missing (never over
// a committed one).
#include "storage/wal/kafka_wal_record.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace kite::kafkawal {
namespace {

const std::string kPath = std::string(KITE_SOURCE_DIR) + "/tests/fixtures/formats/kafka_wal/records.bin";

struct Step {
  uint8_t type;
  WalTerm term;
  uint64_t writer;
  Lsn lsn;
  std::string payload;
};

// Writer A (term 1) appends 1..3; writer B opens with term 2 (its term start),
// replays and appends 4, 5; A, not yet aware, appends its 4 (fenced); B goes
// on with 6. The payload bytes are opaque here (the embedded WAL's payload,
// wal_record.md).
std::vector<Step> Scenario() {
  const uint64_t a = 0x1111222233334444ull, b = 0x5555666677778888ull;
  return {
      {kTypeTermStart, 1, a, kNoLsn, ""},
      {kTypeData, 1, a, 1, "insert one"},
      {kTypeData, 1, a, 2, std::string("binary\0\x01\xff", 9)},
      {kTypeData, 1, a, 3, ""},
      {kTypeTermStart, 2, b, kNoLsn, ""},
      {kTypeData, 2, b, 4, "b four"},
      {kTypeData, 1, a, 4, "zombie four"},
      {kTypeData, 2, b, 5, std::string(300, 'x')},
      {kTypeData, 2, b, 6, "b six"},
  };
}

std::string Frame(const std::vector<std::string>& values) {
  std::string out;
  for (const auto& v : values) {
    const uint32_t n = static_cast<uint32_t>(v.size());
    out.append(reinterpret_cast<const char*>(&n), 4);
    out.append(v);
  }
  return out;
}

TEST(KafkaWalRecordFormat, CommittedRecordsDecodeAndReplay) {
  const std::vector<Step> steps = Scenario();
  std::string file;
  {
    std::ifstream f(kPath, std::ios::binary);
    if (f) {
      std::stringstream ss;
      ss << f.rdbuf();
      file = ss.str();
    }
  }
  if (file.empty()) {
    ASSERT_NE(std::getenv("KITE_WRITE_FORMAT_FIXTURES"), nullptr) << kPath << " is missing";
    std::vector<std::string> values;
    for (const Step& s : steps) values.push_back(Encode(s.type, s.term, s.writer, s.lsn, s.payload));
    file = Frame(values);
    std::ofstream(kPath, std::ios::binary) << file;
  }
  // Split the file into record values.
  std::vector<std::string> values;
  for (size_t at = 0; at < file.size();) {
    ASSERT_LE(at + 4, file.size());
    uint32_t n;
    std::memcpy(&n, file.data() + at, 4);
    ASSERT_LE(at + 4 + n, file.size());
    values.emplace_back(file.substr(at + 4, n));
    at += 4 + n;
  }
  ASSERT_EQ(values.size(), steps.size());
  FenceState fence;
  std::vector<std::pair<Lsn, std::string>> replayed;
  for (size_t i = 0; i < values.size(); ++i) {
    auto r = Decode("fixture", static_cast<int64_t>(i), values[i]);
    ASSERT_TRUE(r.ok()) << "record " << i << ": " << r.status().ToString();
    EXPECT_EQ(r->type, steps[i].type) << "record " << i;
    EXPECT_EQ(r->term, steps[i].term) << "record " << i;
    EXPECT_EQ(r->writer, steps[i].writer) << "record " << i;
    EXPECT_EQ(r->lsn, steps[i].lsn) << "record " << i;
    EXPECT_EQ(std::string(r->payload), steps[i].payload) << "record " << i;
    // Today's writer writes the same bytes.
    EXPECT_EQ(Encode(r->type, r->term, r->writer, r->lsn, r->payload), values[i]) << "record " << i;
    if (fence.Accept(*r)) replayed.emplace_back(r->lsn, std::string(r->payload));
  }
  // The replay: LSNs 1..6 without gaps, the zombie's record skipped.
  std::vector<std::pair<Lsn, std::string>> want;
  for (const Step& s : steps) {
    if (s.type == kTypeData && s.payload != "zombie four") want.emplace_back(s.lsn, s.payload);
  }
  EXPECT_EQ(replayed, want);
  for (size_t i = 0; i < replayed.size(); ++i) EXPECT_EQ(replayed[i].first, i + 1);
}

TEST(KafkaWalRecordFormat, DamagedHeadersAreCorruption) {
  const std::string good = Encode(kTypeData, 3, 9, 7, "payload");
  for (size_t cut = 0; cut < kHeaderBytes; ++cut) {
    auto r = Decode("t", 0, std::string_view(good).substr(0, cut));
    ASSERT_FALSE(r.ok()) << "cut at " << cut;
    EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
  }
  for (size_t i : {0, 1, 2, 3, 4}) {
    std::string bad = good;
    bad[i] ^= 0x40;
    EXPECT_FALSE(Decode("t", 0, bad).ok()) << "flipped byte " << i;
  }
}

}  // namespace
}  // namespace kite::kafkawal
