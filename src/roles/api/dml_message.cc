#include "roles/api/dml_message.h"

namespace kite {

namespace {
constexpr uint32_t kDmlVersion = 1;
}

std::string EncodeDml(const DmlMessage& m) {
  std::string out;
  PutU32(&out, kDmlVersion);
  out.push_back(static_cast<char>(m.type));
  PutU64(&out, static_cast<uint64_t>(m.collection.value));
  PutU64(&out, static_cast<uint64_t>(m.partition.value));
  PutU64(&out, m.ts);
  if (m.type != DmlType::kDelete) {
    PutU64(&out, static_cast<uint64_t>(m.rows.num_rows));
    PutU32(&out, static_cast<uint32_t>(m.rows.columns.size()));
    for (const auto& c : m.rows.columns) EncodeColumn(c, &out);
  }
  if (m.type != DmlType::kInsert) {
    PutU64(&out, static_cast<uint64_t>(m.delete_partition.value));
    EncodeColumn(m.delete_pks, &out);
  }
  return out;
}

Result<DmlMessage> DecodeDml(std::string_view in) {
  DmlMessage m;
  uint32_t version = 0;
  uint64_t coll = 0, part = 0;
  if (!GetU32(&in, &version) || version != kDmlVersion || in.empty()) {
    return Corruption("DML message: bad or unsupported version {}", version);
  }
  m.type = static_cast<DmlType>(in[0]);
  in.remove_prefix(1);
  if (m.type != DmlType::kInsert && m.type != DmlType::kDelete && m.type != DmlType::kUpsert) {
    return Corruption("DML message: unknown type {}", static_cast<int>(m.type));
  }
  if (!GetU64(&in, &coll) || !GetU64(&in, &part) || !GetU64(&in, &m.ts)) return Corruption("DML message: truncated");
  m.collection = CollectionId(static_cast<int64_t>(coll));
  m.partition = PartitionId(static_cast<int64_t>(part));
  if (m.type != DmlType::kDelete) {
    uint64_t rows = 0;
    uint32_t ncols = 0;
    if (!GetU64(&in, &rows) || !GetU32(&in, &ncols)) return Corruption("DML message: truncated rows");
    m.rows.num_rows = static_cast<int64_t>(rows);
    for (uint32_t i = 0; i < ncols; ++i) {
      KITE_ASSIGN_OR_RETURN(Column c, DecodeColumn(&in));
      if (c.num_rows != m.rows.num_rows) return Corruption("DML message: column {} row count", c.field_id.value);
      m.rows.columns.push_back(std::move(c));
    }
  }
  if (m.type != DmlType::kInsert) {
    uint64_t dp = 0;
    if (!GetU64(&in, &dp)) return Corruption("DML message: truncated delete");
    m.delete_partition = PartitionId(static_cast<int64_t>(dp));
    KITE_ASSIGN_OR_RETURN(m.delete_pks, DecodeColumn(&in));
  }
  if (!in.empty()) return Corruption("DML message: {} trailing bytes", in.size());
  return m;
}

}  // namespace kite
