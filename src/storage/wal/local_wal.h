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
//  - OpenChannel reads only the last file. After a crash (no clean-stop
//    marker), a torn tail there (a record cut short, a bad checksum, garbage)
//    that is NOT followed by a valid record is cut with ftruncate. A bad
//    record that IS followed by a valid record with a higher LSN is
//    corruption: nothing is cut, and Replay returns StatusCode::kCorruption
//    when it reaches it. A bad file header is kCorruption from OpenChannel
//    (files are created whole, by rename). After a clean stop (the channel's
//    CLEAN marker, written when the channel object is destroyed without a
//    write error) the last file must end exactly where the marker says:
//    anything else is kCorruption from OpenChannel, naming file and offset.
//    Non-last files are checked by Replay; any bad byte there is kCorruption.
//  - A failed write or fdatasync makes Append fail with that IOError; the
//    next Append first cuts the last file back to its committed end and
//    syncs it, and goes on when that works (so appends resume by themselves
//    once the disk has room again). Replay keeps working.
//  - Replay(after) starts at the oldest record still on disk when records
//    after `after` were already removed by TruncateBefore.
//  - After DropChannel, handles to the dropped channel fail Append and
//    Replay with kFailedPrecondition. Channels may outlive their Wal.
//  - One process per WAL directory (the server's data-dir lock ensures it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

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

// Suffix of a file being created (a log file or the marker) before its
// rename; such files are removed when a channel is opened.
inline constexpr char kTempSuffix[] = ".tmp";

// Clean-stop marker <channel dir>/CLEAN (36 bytes): magic, version, first LSN
// of the last file, that file's size, the channel's last LSN, CRC-32 of the
// preceding 32 bytes. Written when a channel is closed without error; removed
// when the channel is opened again.
inline constexpr char kCleanMarkerName[] = "CLEAN";
inline constexpr uint32_t kCleanMagic = 0x4E4C434B;  // bytes "KCLN"
inline constexpr uint32_t kCleanVersion = 1;
inline constexpr size_t kCleanMarkerBytes = 36;

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
