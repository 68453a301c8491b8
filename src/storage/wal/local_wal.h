// The embedded WAL (OpenLocalWal in wal.h): its on-disk format constants and
// process-wide counters. Read wal.h first; the byte layout is specified in
// docs/formats/wal_record.md, and the constants here must match it.
//
// Layout: <dir>/<channel>/<first LSN, 20 digits>.log, e.g.
// 00000000000000000001.log. Each file starts with a file header, then
// records back to back. Only the last file of a channel is ever written.
//
// Behaviour beyond wal.h:
//  - Channel names are 1..255 characters of [A-Za-z0-9_-]; anything else is
//    InvalidArgument (the name is a directory name).
//  - OpenChannel returns the same WalChannel object while one is alive for
//    that name (two writers on one log would interleave LSNs).
//  - OpenChannel reads only the last file. A torn tail there (a record cut
//    short, a bad checksum, garbage, a partial file header) that is NOT
//    followed by a valid record is cut with ftruncate. A bad record that IS
//    followed by a valid record with a higher LSN is corruption: nothing is
//    cut, and Replay returns StatusCode::kCorruption when it reaches it.
//    Non-last files are checked by Replay; any bad byte there is kCorruption.
//  - A failed write or fdatasync makes the channel fail every later Append
//    with the same IOError (the page cache state is unknown after a failed
//    fsync); reopen the channel to recover. Replay keeps working.
//  - Replay(after) starts at the oldest record still on disk when records
//    after `after` were already removed by TruncateBefore.
//  - After DropChannel, handles to the dropped channel fail Append and
//    Replay with kFailedPrecondition. Channels may outlive their Wal.
//  - One process per WAL directory (the server's data-dir lock ensures it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "storage/wal/wal.h"

namespace kite {
namespace wal_format {

// File header: magic, version, first LSN, CRC-32 of the preceding 16 bytes.
inline constexpr uint32_t kFileMagic = 0x4C41574B;  // bytes "KWAL"
inline constexpr uint32_t kFileVersion = 1;
inline constexpr size_t kFileHeaderBytes = 20;

// Record header: magic, payload length, LSN, CRC-32 of LSN bytes + payload.
inline constexpr uint32_t kRecordMagic = 0x4345524B;  // bytes "KREC"
inline constexpr size_t kRecordHeaderBytes = 20;

// Append rejects larger payloads (InvalidArgument); a reader treats a larger
// length field as a bad record.
inline constexpr uint32_t kPayloadBytesMax = 256u << 20;

// The name of the log file whose first record has LSN first_lsn.
std::string FileName(Lsn first_lsn);

}  // namespace wal_format

// Number of fdatasync calls made by local WAL channels for appends in this
// process (a metric: appends / syncs is the group-commit factor).
uint64_t LocalWalAppendSyncCount();

}  // namespace kite
