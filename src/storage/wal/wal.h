// Write-ahead log: one ordered, durable log per shard channel (DESIGN.md §1,
// "WAL storage"). A DML message is acknowledged to the client only after
// Append() returned OK for it. Recovery replays a channel from its checkpoint.
//
// The embedded implementation (local_wal.h) stores each channel as numbered
// log files under <data>/wal/<channel>/, records framed with a magic, length,
// LSN and CRC-32 (docs/formats/wal_record.md). The Kafka implementation
// (kafka_wal.h) keeps one topic-partition per channel
// (docs/formats/kafka_wal_record.md).
//
// Ownership and fencing: a channel is opened with a term, the writer's epoch,
// handed out by AcquireWalTerm (wal_term.h) each time a streaming node opens
// the channel. The newest term owns the channel: once a channel was opened
// with term t, every WalChannel opened with a lower term is fenced: its
// Append and TruncateBefore fail (StatusCode::kFailedPrecondition,
// Reason::kChannelNotAvailable) and, where a shared log cannot refuse the
// write itself (Kafka), Replay skips the records it slipped in after the newer
// term started. Records a writer appended before the newer term opened stay.
//
// Thread-safety: a WalChannel is safe for concurrent use; concurrent Append()
// calls are group-committed (one fsync for many appends) and receive
// increasing LSNs in the order they are written.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace kite {

using Lsn = uint64_t;  // log sequence number; the first record of a channel has LSN 1
inline constexpr Lsn kNoLsn = 0;
using WalTerm = uint64_t;  // a writer's ownership epoch of a channel; terms start at 1

enum class WalSyncPolicy {
  kFsyncEveryAppend,  // default: fsync (fdatasync) before Append returns; never loses an ack
  kNoSync,            // leave flushing to the OS: fast, loses acked writes on power loss
};

struct WalOptions {
  WalSyncPolicy sync = WalSyncPolicy::kFsyncEveryAppend;
  uint64_t file_bytes_max = 64ull << 20;  // roll to a new log file past this size
};

class WalChannel {
 public:
  virtual ~WalChannel() = default;
  // Appends one record durably (per the sync policy) and returns its LSN.
  virtual Result<Lsn> Append(std::string_view payload) = 0;
  // Calls fn(lsn, payload) for every record with LSN > after, in order. Stops
  // early and returns fn's status if fn returns non-OK. A torn or corrupt tail
  // (a crash mid-append) ends the log silently; corruption before the tail is
  // reported as StatusCode::kCorruption.
  virtual Status Replay(Lsn after, const std::function<Status(Lsn, std::string_view)>& fn) = 0;
  // Makes every record appended so far durable, whatever the sync policy
  // (a flush calls it before its checkpoint covers them).
  virtual Status Sync() = 0;
  // Highest LSN appended so far (kNoLsn if empty).
  virtual Lsn LastLsn() const = 0;
  // Allows deleting log files whose records all have LSN <= upto (a checkpoint
  // covers them). Records after `upto` are kept.
  virtual Status TruncateBefore(Lsn upto) = 0;
};

class Wal {
 public:
  virtual ~Wal() = default;
  // Opens (creating if needed) a channel for the writer of `term` (>= 1). On
  // open, a torn tail left by a crash is cut off so that later appends follow
  // the last complete record. A term higher than any earlier open fences the
  // writers of lower terms; the same term again returns a writer of that term;
  // a term lower than the channel's newest fails (kFailedPrecondition,
  // Reason::kChannelNotAvailable).
  virtual Result<std::shared_ptr<WalChannel>> OpenChannel(const std::string& channel, WalTerm term) = 0;
  // Deletes a channel and all its records (collection dropped).
  virtual Status DropChannel(const std::string& channel) = 0;
};

// The embedded WAL rooted at `dir` (created if missing).
Result<std::unique_ptr<Wal>> OpenLocalWal(const std::string& dir, const WalOptions& options);

}  // namespace kite
