// DML messages: what the streaming node writes to a shard's WAL before it
// acknowledges a write. One message carries one timestamp for all its rows.
// An upsert is one message (delete of the keys + insert of the new rows at the
// same timestamp), so a crash can never leave half an upsert.
// Byte layout: docs/formats/wal_record.md ("DML payload").
#pragma once

#include <string>

#include "common/ids.h"
#include "common/status.h"
#include "common/timestamp.h"
#include "schema/column_batch.h"

namespace kite {

enum class DmlType : uint8_t { kInsert = 1, kDelete = 2, kUpsert = 3 };

struct DmlMessage {
  DmlType type = DmlType::kInsert;
  CollectionId collection;
  PartitionId partition;  // insert/upsert target partition
  Timestamp ts = 0;
  ColumnBatch rows;       // insert/upsert: every stored field, pk included
  Column delete_pks;      // delete/upsert: keys to delete
  PartitionId delete_partition;  // delete limited to this partition; 0 = every partition
};

std::string EncodeDml(const DmlMessage& m);
Result<DmlMessage> DecodeDml(std::string_view payload);

}  // namespace kite
