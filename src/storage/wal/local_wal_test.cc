#include "storage/wal/local_wal.h"

#include <stdlib.h>
#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

namespace kite {
namespace {

namespace fs = std::filesystem;

// A fresh directory under the test temp dir, removed at destruction.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = ::testing::TempDir() + "kite_wal_XXXXXX";
    char* p = mkdtemp(tmpl.data());
    EXPECT_NE(p, nullptr) << "mkdtemp " << tmpl;
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string Payload(uint64_t i) {
  return "record-" + std::to_string(i) + std::string(i * 37 % 300, static_cast<char>('a' + i % 26));
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
}

using Records = std::vector<std::pair<Lsn, std::string>>;

Status ReplayInto(WalChannel* ch, Lsn after, Records* out) {
  return ch->Replay(after, [out](Lsn lsn, std::string_view payload) {
    out->emplace_back(lsn, std::string(payload));
    return Status::OK();
  });
}

Records ReplayAll(WalChannel* ch, Lsn after = kNoLsn) {
  Records out;
  Status st = ReplayInto(ch, after, &out);
  EXPECT_TRUE(st.ok()) << st.ToString();
  return out;
}

// Records lsn -> Payload(lsn) for LSNs in [first, last].
Records Expected(Lsn first, Lsn last) {
  Records out;
  for (Lsn i = first; i <= last; ++i) out.emplace_back(i, Payload(i));
  return out;
}

class LocalWalTest : public ::testing::Test {
 protected:
  void Open() {
    channel_.reset();
    wal_.reset();
    auto wal = OpenLocalWal(dir_.path() + "/wal", options_);
    ASSERT_TRUE(wal.ok()) << wal.status().ToString();
    wal_ = std::move(*wal);
    auto ch = wal_->OpenChannel("ch", 1);
    ASSERT_TRUE(ch.ok()) << ch.status().ToString();
    channel_ = *ch;
  }

  // A clean close: the channel writes its clean-stop marker.
  void Close() {
    channel_.reset();
    wal_.reset();
  }

  // As if the process died: closed, but without the clean-stop marker, so
  // that the next open judges the tail as after a crash.
  void Crash() {
    Close();
    fs::remove(ChannelDir() + "/" + std::string(wal_format::kCleanMarkerName));
  }

  // OpenChannel's status (the channel is not kept).
  Status OpenStatus() {
    channel_.reset();
    wal_.reset();
    auto wal = OpenLocalWal(dir_.path() + "/wal", options_);
    if (!wal.ok()) return wal.status();
    auto ch = (*wal)->OpenChannel("ch", 1);
    if (ch.ok()) {
      // Keep the log as found: no marker from this probe.
      ch->reset();
      fs::remove(ChannelDir() + "/" + std::string(wal_format::kCleanMarkerName));
      return Status::OK();
    }
    return ch.status();
  }

  // Appends Payload(i) for i = LastLsn()+1 .. last, checking each LSN.
  void AppendUpTo(Lsn last) {
    for (Lsn i = channel_->LastLsn() + 1; i <= last; ++i) {
      auto lsn = channel_->Append(Payload(i));
      ASSERT_TRUE(lsn.ok()) << lsn.status().ToString();
      ASSERT_EQ(*lsn, i);
    }
  }

  std::string ChannelDir() const { return dir_.path() + "/wal/ch"; }

  // The channel's log files, sorted.
  std::vector<std::string> LogFiles() const {
    std::vector<std::string> files;
    for (const auto& e : fs::directory_iterator(ChannelDir())) {
      if (e.path().extension() == ".log") files.push_back(e.path().string());
    }
    std::sort(files.begin(), files.end());
    return files;
  }

  std::vector<Lsn> LogFileLsns() const {
    std::vector<Lsn> lsns;
    for (const auto& f : LogFiles()) lsns.push_back(std::stoull(fs::path(f).filename().string()));
    return lsns;
  }

  // Offset of the record with LSN lsn in a file whose first LSN is first and
  // whose records are Payload(first), Payload(first + 1), ...
  static size_t RecordOffset(Lsn first, Lsn lsn) {
    size_t off = wal_format::kFileHeaderBytes;
    for (Lsn i = first; i < lsn; ++i) off += wal_format::kRecordHeaderBytes + Payload(i).size();
    return off;
  }

  TempDir dir_;
  WalOptions options_;
  std::unique_ptr<Wal> wal_;
  std::shared_ptr<WalChannel> channel_;
};

TEST_F(LocalWalTest, EmptyChannel) {
  Open();
  EXPECT_EQ(channel_->LastLsn(), kNoLsn);
  EXPECT_TRUE(ReplayAll(channel_.get()).empty());
  Open();
  EXPECT_EQ(channel_->LastLsn(), kNoLsn);
  AppendUpTo(1);
}

TEST_F(LocalWalTest, AppendReplayRoundTrip) {
  Open();
  AppendUpTo(100);
  EXPECT_EQ(channel_->LastLsn(), 100u);
  EXPECT_EQ(ReplayAll(channel_.get()), Expected(1, 100));
}

TEST_F(LocalWalTest, EmptyAndLargePayloads) {
  Open();
  const std::string big(3 << 20, 'z');  // larger than the reader's 1 MiB chunk
  ASSERT_EQ(*channel_->Append(""), 1u);
  ASSERT_EQ(*channel_->Append(big), 2u);
  ASSERT_EQ(*channel_->Append(std::string("\0\xff\0", 3)), 3u);
  Records expected = {{1, ""}, {2, big}, {3, std::string("\0\xff\0", 3)}};
  EXPECT_EQ(ReplayAll(channel_.get()), expected);
  Open();
  EXPECT_EQ(ReplayAll(channel_.get()), expected);
}

TEST_F(LocalWalTest, ReplayFromMiddle) {
  Open();
  AppendUpTo(100);
  EXPECT_EQ(ReplayAll(channel_.get(), 40), Expected(41, 100));
  EXPECT_EQ(ReplayAll(channel_.get(), 99), Expected(100, 100));
  EXPECT_TRUE(ReplayAll(channel_.get(), 100).empty());
  EXPECT_TRUE(ReplayAll(channel_.get(), 1000).empty());
}

TEST_F(LocalWalTest, ReplayStopsWithCallbackStatus) {
  Open();
  AppendUpTo(20);
  std::vector<Lsn> seen;
  Status st = channel_->Replay(0, [&](Lsn lsn, std::string_view) {
    seen.push_back(lsn);
    if (lsn == 5) return MakeStatus(StatusCode::kCancelled, Reason::kNone, "stop");
    return Status::OK();
  });
  EXPECT_EQ(st.code(), StatusCode::kCancelled);
  EXPECT_EQ(seen, (std::vector<Lsn>{1, 2, 3, 4, 5}));
}

TEST_F(LocalWalTest, ReopenPreservesEverything) {
  Open();
  AppendUpTo(50);
  Open();
  EXPECT_EQ(channel_->LastLsn(), 50u);
  EXPECT_EQ(ReplayAll(channel_.get()), Expected(1, 50));
  AppendUpTo(60);
  Open();
  EXPECT_EQ(channel_->LastLsn(), 60u);
  EXPECT_EQ(ReplayAll(channel_.get()), Expected(1, 60));
}

TEST_F(LocalWalTest, OnDiskBytesMatchTheFormatDoc) {
  Open();
  AppendUpTo(2);
  Close();
  std::vector<std::string> files = LogFiles();
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(fs::path(files[0]).filename(), "00000000000000000001.log");
  std::string data = ReadFile(files[0]);
  auto u32 = [&](size_t off) {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= uint32_t(uint8_t(data[off + i])) << (8 * i);
    return v;
  };
  auto u64 = [&](size_t off) { return uint64_t(u32(off)) | uint64_t(u32(off + 4)) << 32; };
  auto crc = [](std::string_view s, uint32_t c = 0) {
    return uint32_t(crc32(c, reinterpret_cast<const Bytef*>(s.data()), uInt(s.size())));
  };
  // File header: "KWAL", version 1, first LSN 1, CRC-32 of those 16 bytes.
  EXPECT_EQ(data.substr(0, 4), "KWAL");
  EXPECT_EQ(u32(4), 1u);
  EXPECT_EQ(u64(8), 1u);
  EXPECT_EQ(u32(16), crc(std::string_view(data).substr(0, 16)));
  // Records: "KREC", length, LSN, CRC-32 of LSN bytes + payload, payload.
  size_t off = 20;
  for (Lsn lsn = 1; lsn <= 2; ++lsn) {
    const std::string payload = Payload(lsn);
    EXPECT_EQ(data.substr(off, 4), "KREC");
    EXPECT_EQ(u32(off + 4), payload.size());
    EXPECT_EQ(u64(off + 8), lsn);
    EXPECT_EQ(u32(off + 16), crc(payload, crc(std::string_view(data).substr(off + 8, 8))));
    EXPECT_EQ(data.substr(off + 20, payload.size()), payload);
    off += 20 + payload.size();
  }
  EXPECT_EQ(off, data.size());
}

// ---- Torn tails -----------------------------------------------------------------

enum class Tear {
  kCutPayload,     // the last record's payload lost its last bytes
  kPartialHeader,  // only 10 bytes of the last record's header were written
  kBadCrcAtEnd,    // the last record is complete but a byte of it is wrong
  kGarbage,        // bytes that are not a record follow the last record
  kZeros,          // the file was extended with zeros (metadata before data)
};

class LocalWalTornTailTest : public LocalWalTest, public ::testing::WithParamInterface<Tear> {};

TEST_P(LocalWalTornTailTest, TailIsCutAndAppendsContinue) {
  Open();
  AppendUpTo(10);
  Crash();
  const std::string file = LogFiles().back();
  std::string data = ReadFile(file);
  const size_t last_record = RecordOffset(1, 10);
  ASSERT_EQ(data.size(), last_record + 20 + Payload(10).size());
  Lsn survivors = 9;
  switch (GetParam()) {
    case Tear::kCutPayload:
      data.resize(data.size() - 3);
      break;
    case Tear::kPartialHeader:
      data.resize(last_record + 10);
      break;
    case Tear::kBadCrcAtEnd:
      data.back() ^= 0x40;
      break;
    case Tear::kGarbage:
      data += "garbage";
      survivors = 10;
      break;
    case Tear::kZeros:
      data += std::string(4096, '\0');
      survivors = 10;
      break;
  }
  WriteFile(file, data);

  Open();
  EXPECT_EQ(channel_->LastLsn(), survivors);
  EXPECT_EQ(fs::file_size(file), RecordOffset(1, survivors + 1)) << "the tail was not cut";
  EXPECT_EQ(ReplayAll(channel_.get()), Expected(1, survivors));
  AppendUpTo(survivors + 2);
  EXPECT_EQ(ReplayAll(channel_.get()), Expected(1, survivors + 2));
  Open();
  EXPECT_EQ(channel_->LastLsn(), survivors + 2);
  EXPECT_EQ(ReplayAll(channel_.get()), Expected(1, survivors + 2));
}

// The same damage after a clean stop is not a torn write: the channel refuses
// to open, naming the file and the offset, and cuts nothing.
TEST_P(LocalWalTornTailTest, AfterACleanStopTheSameDamageIsCorruption) {
  Open();
  AppendUpTo(10);
  Close();
  const std::string file = LogFiles().back();
  std::string data = ReadFile(file);
  const size_t last_record = RecordOffset(1, 10);
  size_t bad_offset = last_record;
  switch (GetParam()) {
    case Tear::kCutPayload:
      data.resize(data.size() - 3);
      break;
    case Tear::kPartialHeader:
      data.resize(last_record + 10);
      break;
    case Tear::kBadCrcAtEnd:
      data.back() ^= 0x40;
      break;
    case Tear::kGarbage:
      bad_offset = data.size();
      data += "garbage";
      break;
    case Tear::kZeros:
      bad_offset = data.size();
      data += std::string(4096, '\0');
      break;
  }
  WriteFile(file, data);
  Status st = OpenStatus();
  EXPECT_EQ(st.code(), StatusCode::kCorruption) << st.ToString();
  EXPECT_NE(st.message().find(file), std::string::npos) << st.ToString();
  EXPECT_NE(st.message().find("offset " + std::to_string(bad_offset)), std::string::npos) << st.ToString();
  EXPECT_EQ(ReadFile(file), data) << "the damaged log was changed";
  // Still refused on the next try: the marker stays until the log is good.
  EXPECT_EQ(OpenStatus().code(), StatusCode::kCorruption);
}

INSTANTIATE_TEST_SUITE_P(Tears, LocalWalTornTailTest,
                         ::testing::Values(Tear::kCutPayload, Tear::kPartialHeader,
                                           Tear::kBadCrcAtEnd, Tear::kGarbage, Tear::kZeros));

// A roll writes the new file's header under a temporary name and renames it:
// a crash in between leaves only the temporary file, which is removed.
TEST_F(LocalWalTest, TempFileOfACrashedRollIsRemoved) {
  Open();
  AppendUpTo(5);
  Crash();
  const std::string tmp = ChannelDir() + "/" + wal_format::FileName(6) + std::string(wal_format::kTempSuffix);
  WriteFile(tmp, "KWA");
  Open();
  EXPECT_FALSE(fs::exists(tmp));
  EXPECT_EQ(channel_->LastLsn(), 5u);
  AppendUpTo(7);
  EXPECT_EQ(ReplayAll(channel_.get()), Expected(1, 7));
  Open();
  EXPECT_EQ(ReplayAll(channel_.get()), Expected(1, 7));
}

// A log file never exists without a whole header, so a cut or damaged header
// is corruption even after a crash, never "a roll that crashed" (which used
// to reset the file, dropping its records).
TEST_F(LocalWalTest, DamagedHeaderOfTheLastFileIsCorruptionEvenAfterACrash) {
  Open();
  AppendUpTo(5);
  Crash();
  const std::string file = LogFiles().back();
  const std::string original = ReadFile(file);
  for (size_t cut : {size_t{0}, size_t{3}, size_t{19}}) {
    WriteFile(file, original.substr(0, cut));
    Status st = OpenStatus();
    EXPECT_EQ(st.code(), StatusCode::kCorruption) << "cut at " << cut << ": " << st.ToString();
    EXPECT_NE(st.message().find(file), std::string::npos) << st.ToString();
  }
  for (size_t i = 0; i < wal_format::kFileHeaderBytes; ++i) {
    std::string data = original;
    data[i] ^= 0x10;
    WriteFile(file, data);
    EXPECT_EQ(OpenStatus().code(), StatusCode::kCorruption) << "byte " << i;
  }
}

// After a clean stop, cutting the log at any record boundary or inside any
// record (the last record included) is detected; records are never dropped
// silently.
TEST_F(LocalWalTest, AfterACleanStopEveryCutIsCorruption) {
  spdlog::level::level_enum level = spdlog::get_level();
  spdlog::set_level(spdlog::level::off);
  Open();
  AppendUpTo(6);
  Close();
  const std::string file = LogFiles().back();
  const std::string original = ReadFile(file);
  const std::string marker = ReadFile(ChannelDir() + "/" + std::string(wal_format::kCleanMarkerName));
  for (size_t cut = 0; cut < original.size(); ++cut) {
    WriteFile(file, original.substr(0, cut));
    WriteFile(ChannelDir() + "/" + std::string(wal_format::kCleanMarkerName), marker);
    Status st = OpenStatus();
    EXPECT_EQ(st.code(), StatusCode::kCorruption) << "cut at " << cut << ": " << st.ToString();
  }
  // Intact: opens, and the marker is gone once the channel is open.
  WriteFile(file, original);
  WriteFile(ChannelDir() + "/" + std::string(wal_format::kCleanMarkerName), marker);
  Open();
  EXPECT_FALSE(fs::exists(ChannelDir() + "/" + std::string(wal_format::kCleanMarkerName)));
  EXPECT_EQ(ReplayAll(channel_.get()), Expected(1, 6));
  spdlog::set_level(level);
}

TEST_F(LocalWalTest, DamagedCleanMarkerIsCorruption) {
  Open();
  AppendUpTo(3);
  Close();
  const std::string path = ChannelDir() + "/" + std::string(wal_format::kCleanMarkerName);
  const std::string marker = ReadFile(path);
  ASSERT_EQ(marker.size(), wal_format::kCleanMarkerBytes);
  for (size_t i = 0; i < marker.size(); ++i) {
    std::string data = marker;
    data[i] ^= 0x01;
    WriteFile(path, data);
    EXPECT_EQ(OpenStatus().code(), StatusCode::kCorruption) << "byte " << i;
  }
  WriteFile(path, marker.substr(0, 20));
  EXPECT_EQ(OpenStatus().code(), StatusCode::kCorruption);
}

// The marker says which file was last: a removed last file (or every file)
// is detected after a clean stop.
TEST_F(LocalWalTest, AfterACleanStopAMissingLastFileIsCorruption) {
  options_.file_bytes_max = 500;
  Open();
  AppendUpTo(30);
  Close();
  std::vector<std::string> files = LogFiles();
  ASSERT_GE(files.size(), 2u);
  const std::string last = ReadFile(files.back());
  fs::remove(files.back());
  EXPECT_EQ(OpenStatus().code(), StatusCode::kCorruption);
  for (const auto& f : LogFiles()) fs::remove(f);
  EXPECT_EQ(OpenStatus().code(), StatusCode::kCorruption);
}

// The marker is removed when the channel opens: a crash after new appends is
// judged as a crash (torn tail cut), not against the old marker.
TEST_F(LocalWalTest, MarkerIsForgottenOnceTheChannelIsOpen) {
  Open();
  AppendUpTo(4);
  Close();
  Open();
  AppendUpTo(8);
  Crash();
  const std::string file = LogFiles().back();
  std::string data = ReadFile(file);
  data.resize(data.size() - 2);
  WriteFile(file, data);
  Open();
  EXPECT_EQ(channel_->LastLsn(), 7u);
  EXPECT_EQ(ReplayAll(channel_.get()), Expected(1, 7));
}

// ---- Corruption -------------------------------------------------------------------

TEST_F(LocalWalTest, FlippedByteInMiddleRecordIsCorruption) {
  Open();
  AppendUpTo(10);
  Crash();
  const std::string file = LogFiles().back();
  std::string data = ReadFile(file);
  const size_t size_before = data.size();
  data[RecordOffset(1, 5) + 20 + 3] ^= 0x01;  // a payload byte of LSN 5
  WriteFile(file, data);

  Open();
  EXPECT_EQ(fs::file_size(file), size_before) << "valid records after the bad one were cut";
  EXPECT_EQ(channel_->LastLsn(), 10u);
  Records seen;
  Status st = ReplayInto(channel_.get(), 0, &seen);
  EXPECT_EQ(st.code(), StatusCode::kCorruption) << st.ToString();
  EXPECT_EQ(seen, Expected(1, 4));
  // Starting past the bad record does not help: it is still read.
  EXPECT_EQ(ReplayInto(channel_.get(), 7, &seen).code(), StatusCode::kCorruption);
}

TEST_F(LocalWalTest, CorruptionWhileOpenIsReported) {
  Open();
  AppendUpTo(10);
  const std::string file = LogFiles().back();
  std::string data = ReadFile(file);
  data[RecordOffset(1, 3) + 8] ^= 0x01;  // the LSN field of LSN 3
  WriteFile(file, data);
  Records seen;
  EXPECT_EQ(ReplayInto(channel_.get(), 0, &seen).code(), StatusCode::kCorruption);
  EXPECT_EQ(seen, Expected(1, 2));
}

class LocalWalRollingTest : public LocalWalTest {
 protected:
  void SetUp() override { options_.file_bytes_max = 1000; }
};

TEST_F(LocalWalRollingTest, BadRecordInNonLastFileIsCorruption) {
  Open();
  AppendUpTo(60);
  Close();
  std::vector<std::string> files = LogFiles();
  std::vector<Lsn> lsns = LogFileLsns();
  ASSERT_GE(files.size(), 3u);
  // Flip a byte of the last record of the first file: at the end of that file,
  // but the file is not the last one, so it is not a torn tail.
  std::string data = ReadFile(files[0]);
  data[RecordOffset(lsns[0], lsns[1] - 1) + 20] ^= 0x01;
  WriteFile(files[0], data);
  Open();
  EXPECT_EQ(channel_->LastLsn(), 60u);
  Records seen;
  EXPECT_EQ(ReplayInto(channel_.get(), 0, &seen).code(), StatusCode::kCorruption);
  EXPECT_EQ(seen, Expected(1, lsns[1] - 2));
}

TEST_F(LocalWalRollingTest, EveryFlippedByteOfANonLastFileIsCorruption) {
  Open();
  AppendUpTo(20);
  Close();
  std::vector<std::string> files = LogFiles();
  ASSERT_GE(files.size(), 2u);
  const std::string original = ReadFile(files[0]);
  for (size_t i = 0; i < original.size(); ++i) {
    std::string data = original;
    data[i] ^= 0x01;
    WriteFile(files[0], data);
    Open();
    EXPECT_EQ(channel_->LastLsn(), 20u);
    Records seen;
    Status st = ReplayInto(channel_.get(), 0, &seen);
    EXPECT_EQ(st.code(), StatusCode::kCorruption) << "byte " << i << ": " << st.ToString();
    Close();
  }
}

TEST_F(LocalWalRollingTest, CutNonLastFileIsCorruption) {
  Open();
  AppendUpTo(60);
  Close();
  std::vector<std::string> files = LogFiles();
  ASSERT_GE(files.size(), 3u);
  const uintmax_t cut_size = fs::file_size(files[1]) - 3;
  fs::resize_file(files[1], cut_size);
  Open();
  EXPECT_EQ(fs::file_size(files[1]), cut_size) << "only the last file may be repaired";
  Records seen;
  EXPECT_EQ(ReplayInto(channel_.get(), 0, &seen).code(), StatusCode::kCorruption);
}

TEST_F(LocalWalRollingTest, MissingMiddleFileIsCorruption) {
  Open();
  AppendUpTo(60);
  Close();
  std::vector<std::string> files = LogFiles();
  ASSERT_GE(files.size(), 3u);
  fs::remove(files[1]);
  Open();
  Records seen;
  EXPECT_EQ(ReplayInto(channel_.get(), 0, &seen).code(), StatusCode::kCorruption);
}

// Flips every byte of the log in turn. After a crash: damage in the last
// record is a torn tail (cut, the rest replays); anywhere else it is
// reported, never a crash and never wrong data. After a clean stop every
// flipped byte is reported.
TEST_F(LocalWalTest, EveryFlippedByteIsDetected) {
  spdlog::level::level_enum level = spdlog::get_level();
  spdlog::set_level(spdlog::level::off);  // one recovery message per byte
  Open();
  AppendUpTo(3);
  Close();
  const std::string marker_path = ChannelDir() + "/" + std::string(wal_format::kCleanMarkerName);
  const std::string marker = ReadFile(marker_path);
  const std::string file = LogFiles().back();
  const std::string original = ReadFile(file);
  const size_t last_record = RecordOffset(1, 3);
  for (size_t i = 0; i < original.size(); ++i) {
    std::string data = original;
    data[i] ^= 0x20;
    WriteFile(file, data);
    // Clean stop: refused at open.
    WriteFile(marker_path, marker);
    EXPECT_EQ(OpenStatus().code(), StatusCode::kCorruption) << "clean, byte " << i;
    // Crash: the header at open, earlier records at replay, the last record cut.
    fs::remove(marker_path);
    WriteFile(file, data);
    if (i < wal_format::kFileHeaderBytes) {
      EXPECT_EQ(OpenStatus().code(), StatusCode::kCorruption) << "byte " << i;
      continue;
    }
    Open();
    Records seen;
    Status st = ReplayInto(channel_.get(), 0, &seen);
    if (i < last_record) {
      EXPECT_EQ(st.code(), StatusCode::kCorruption) << "byte " << i << ": " << st.ToString();
    } else {
      EXPECT_TRUE(st.ok()) << "byte " << i << ": " << st.ToString();
      EXPECT_EQ(seen, Expected(1, 2)) << "byte " << i;
      EXPECT_EQ(channel_->LastLsn(), 2u) << "byte " << i;
    }
    Crash();
  }
  spdlog::set_level(level);
}

// ---- Rolling and truncation --------------------------------------------------------

TEST_F(LocalWalRollingTest, RollsFilesAndTruncateBeforeDeletesCoveredFiles) {
  Open();
  AppendUpTo(60);
  std::vector<Lsn> firsts = LogFileLsns();
  ASSERT_GE(firsts.size(), 4u);
  EXPECT_EQ(firsts[0], 1u);
  for (const std::string& f : LogFiles()) {
    if (f != LogFiles().back()) {
      EXPECT_GE(fs::file_size(f), options_.file_bytes_max) << f;
    }
  }
  EXPECT_EQ(ReplayAll(channel_.get()), Expected(1, 60));

  // upto inside the third file: the first two are covered, the third is not.
  const Lsn upto = firsts[2] + 1;
  ASSERT_TRUE(channel_->TruncateBefore(upto).ok());
  EXPECT_EQ(LogFileLsns(), std::vector<Lsn>(firsts.begin() + 2, firsts.end()));
  EXPECT_EQ(ReplayAll(channel_.get(), upto), Expected(upto + 1, 60));
  // Older records may be gone: replay starts at the oldest left.
  EXPECT_EQ(ReplayAll(channel_.get(), 0), Expected(firsts[2], 60));

  // upto = the last LSN of the third file: exactly covered.
  ASSERT_TRUE(channel_->TruncateBefore(firsts[3] - 1).ok());
  EXPECT_EQ(LogFileLsns(), std::vector<Lsn>(firsts.begin() + 3, firsts.end()));

  // Everything covered: the file being written stays.
  ASSERT_TRUE(channel_->TruncateBefore(1000).ok());
  EXPECT_EQ(LogFileLsns(), std::vector<Lsn>{firsts.back()});
  EXPECT_EQ(channel_->LastLsn(), 60u);
  EXPECT_TRUE(ReplayAll(channel_.get(), 60).empty());
  AppendUpTo(62);

  Open();
  EXPECT_EQ(channel_->LastLsn(), 62u);
  EXPECT_EQ(ReplayAll(channel_.get(), 59), Expected(60, 62));
  EXPECT_EQ(ReplayAll(channel_.get()), Expected(firsts.back(), 62));
}

TEST_F(LocalWalRollingTest, ReopenAfterRollingPreservesEverything) {
  Open();
  AppendUpTo(45);
  Open();
  EXPECT_EQ(channel_->LastLsn(), 45u);
  AppendUpTo(90);
  EXPECT_EQ(ReplayAll(channel_.get()), Expected(1, 90));
  EXPECT_EQ(ReplayAll(channel_.get(), 50), Expected(51, 90));
}

// ---- Concurrency -------------------------------------------------------------------

void ConcurrentAppends(WalChannel* ch, int threads, int per_thread) {
  std::vector<std::vector<Lsn>> lsns(threads);
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        auto lsn = ch->Append("t" + std::to_string(t) + "-" + std::to_string(i));
        ASSERT_TRUE(lsn.ok()) << lsn.status().ToString();
        lsns[t].push_back(*lsn);
      }
    });
  }
  for (auto& w : workers) w.join();

  std::map<Lsn, std::string> by_lsn;  // what each Append call was told
  for (int t = 0; t < threads; ++t) {
    ASSERT_EQ(lsns[t].size(), size_t(per_thread));
    for (int i = 0; i < per_thread; ++i) {
      if (i > 0) {
        EXPECT_LT(lsns[t][i - 1], lsns[t][i]) << "thread " << t;
      }
      EXPECT_TRUE(by_lsn.emplace(lsns[t][i], "t" + std::to_string(t) + "-" + std::to_string(i))
                      .second)
          << "LSN " << lsns[t][i] << " given twice";
    }
  }
  const Lsn total = Lsn(threads) * per_thread;
  EXPECT_EQ(ch->LastLsn(), total);
  Records replayed = ReplayAll(ch);
  ASSERT_EQ(replayed.size(), total);
  std::set<std::string> payloads;
  for (size_t i = 0; i < replayed.size(); ++i) {
    EXPECT_EQ(replayed[i].first, i + 1);
    EXPECT_EQ(replayed[i].second, by_lsn[replayed[i].first]);
    EXPECT_TRUE(payloads.insert(replayed[i].second).second) << replayed[i].second;
  }
}

TEST_F(LocalWalTest, ConcurrentAppendsReplayExactlyOnceInOrder) {
  Open();
  const uint64_t syncs_before = LocalWalAppendSyncCount();
  ConcurrentAppends(channel_.get(), 4, 500);
  const uint64_t syncs = LocalWalAppendSyncCount() - syncs_before;
  EXPECT_LE(syncs, 2000u);
  EXPECT_GT(syncs, 0u);
  RecordProperty("fdatasync_calls_for_2000_appends", std::to_string(syncs));
  std::printf("group commit: %llu fdatasync calls for 2000 appends\n",
              static_cast<unsigned long long>(syncs));
  Open();
  EXPECT_EQ(ReplayAll(channel_.get()).size(), 2000u);
}

TEST_F(LocalWalRollingTest, ConcurrentAppendsAcrossFileRolls) {
  Open();
  ConcurrentAppends(channel_.get(), 4, 500);
  EXPECT_GT(LogFiles().size(), 10u);
  Open();
  EXPECT_EQ(channel_->LastLsn(), 2000u);
  EXPECT_EQ(ReplayAll(channel_.get()).size(), 2000u);
}

TEST_F(LocalWalTest, NoSyncPolicyRoundTrip) {
  options_.sync = WalSyncPolicy::kNoSync;
  Open();
  const uint64_t syncs_before = LocalWalAppendSyncCount();
  AppendUpTo(30);
  EXPECT_EQ(LocalWalAppendSyncCount(), syncs_before);
  Open();
  EXPECT_EQ(ReplayAll(channel_.get()), Expected(1, 30));
}

// ---- Channels ------------------------------------------------------------------------

TEST_F(LocalWalTest, ChannelsAreIndependent) {
  Open();
  auto other = wal_->OpenChannel("other_1-B", 1);
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  AppendUpTo(3);
  EXPECT_EQ(*(*other)->Append("x"), 1u);
  EXPECT_EQ(ReplayAll(other->get()), (Records{{1, "x"}}));
  EXPECT_EQ(ReplayAll(channel_.get()), Expected(1, 3));
}

TEST_F(LocalWalTest, OpenChannelTwiceSharesTheLog) {
  Open();
  auto again = wal_->OpenChannel("ch", 1);
  ASSERT_TRUE(again.ok());
  ASSERT_TRUE((*again)->Append("x").ok());
  EXPECT_EQ(channel_->LastLsn(), (*again)->LastLsn());
  EXPECT_EQ(channel_->LastLsn(), 1u);
}

TEST_F(LocalWalTest, DropChannel) {
  Open();
  AppendUpTo(5);
  ASSERT_TRUE(wal_->DropChannel("ch").ok());
  EXPECT_FALSE(fs::exists(ChannelDir()));
  // The old handle no longer writes.
  EXPECT_EQ(channel_->Append("late").status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(channel_->Replay(0, [](Lsn, std::string_view) { return Status::OK(); }).code(),
            StatusCode::kFailedPrecondition);
  // A channel of the same name starts over.
  auto fresh = wal_->OpenChannel("ch", 1);
  ASSERT_TRUE(fresh.ok());
  EXPECT_NE(fresh->get(), channel_.get());
  EXPECT_EQ((*fresh)->LastLsn(), kNoLsn);
  EXPECT_EQ(*(*fresh)->Append("new"), 1u);
  // Dropping a channel that does not exist is fine.
  EXPECT_TRUE(wal_->DropChannel("never_opened").ok());
}

TEST_F(LocalWalTest, InvalidChannelNamesAreRejected) {
  Open();
  for (const std::string& name :
       {std::string(), std::string("a/b"), std::string(".."), std::string("."),
        std::string("a.b"), std::string("a b"), std::string("\xc3\xa9"), std::string("../x"),
        std::string(256, 'a')}) {
    EXPECT_EQ(wal_->OpenChannel(name, 1).status().code(), StatusCode::kInvalidArgument) << name;
    EXPECT_EQ(wal_->DropChannel(name).code(), StatusCode::kInvalidArgument) << name;
  }
  EXPECT_TRUE(wal_->OpenChannel(std::string(255, 'a'), 1).ok());
}

}  // namespace
}  // namespace kite
