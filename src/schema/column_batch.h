// Column and ColumnBatch: Kite's in-memory columnar rows, used from the proxy
// down to the segments (the wire's FieldData is converted to this in src/rpc).
//
// A Column stores one field for N rows in one of two physical layouts:
//  * fixed width: `fixed` holds N * row_bytes bytes (Bool as one byte 0/1,
//    Int8..Int64, Float, Double, and dense vectors: FloatVector 4*dim,
//    Float16/BFloat16 2*dim, Int8Vector dim, BinaryVector dim/8 bytes);
//  * variable width: row i is bytes[offsets[i], offsets[i+1]) (VarChar as UTF-8,
//    JSON as text, Array in Kite's array encoding below, SparseFloatVector as
//    little-endian (uint32 index, float32 value) pairs sorted by index).
// `valid` is empty when every row is valid, else one byte per row (0 = null);
// null rows still occupy a zeroed fixed slot or an empty variable slot.
//
// Array encoding: fixed-width element types are packed back to back (count =
// size / element width); VarChar elements are each a little-endian uint32
// length followed by the bytes.
//
// Value types; not thread-safe. EncodeColumn/DecodeColumn give the persisted
// form used by WAL records and segment files (docs/formats/segment_file.md).
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/ids.h"
#include "common/status.h"
#include "schema/collection_schema.h"
#include "schema/data_type.h"

namespace kite {

using PrimaryKey = std::variant<int64_t, std::string>;

// Bytes per row of a fixed-width type (0 for variable-width types).
size_t FixedRowBytes(DataType type, int64_t dim);
// Bytes per element of an array element type (0 for VarChar).
size_t ElementBytes(DataType type);

struct Column {
  FieldId field_id;
  DataType type = DataType::kNone;
  DataType element_type = DataType::kNone;
  int64_t dim = 0;
  size_t row_bytes = 0;            // fixed layout only
  std::vector<uint8_t> fixed;      // fixed layout
  std::vector<uint64_t> offsets;   // variable layout: size()+1 entries, starts with 0
  std::string bytes;               // variable layout
  std::vector<uint8_t> valid;      // empty = all valid
  int64_t num_rows = 0;

  // An empty column for `field` in the right layout.
  static Column ForField(const FieldSchema& field);

  bool is_fixed() const { return row_bytes > 0; }
  int64_t size() const { return num_rows; }
  bool IsNull(int64_t row) const { return !valid.empty() && valid[row] == 0; }

  const uint8_t* RowPtr(int64_t row) const { return fixed.data() + row * row_bytes; }
  template <typename T>
  T Get(int64_t row) const {
    T v;
    std::memcpy(&v, RowPtr(row), sizeof(T));
    return v;
  }
  std::string_view GetBytes(int64_t row) const {
    return std::string_view(bytes).substr(offsets[row], offsets[row + 1] - offsets[row]);
  }

  // An empty column of the same field, type and shape.
  Column EmptyLike() const;
  // A new column holding `rows` of this one, in that order.
  Column Select(const std::vector<int64_t>& rows) const;

  // Appends row `row` of `src` (same type); keeps validity.
  void AppendFrom(const Column& src, int64_t row);
  // Appends `count` rows of `src` starting at `begin`.
  void AppendRange(const Column& src, int64_t begin, int64_t count);
  void AppendFixed(const void* data, bool is_valid = true);
  void AppendVar(std::string_view data, bool is_valid = true);
  void AppendNull();
  void Reserve(int64_t rows);
  // Bytes held (for seal-by-size policies).
  size_t MemoryBytes() const;

 private:
  void PushValid(bool v);
};

// Appends `field`'s default value to `c`, or a null when it has none: what
// a row written before the field existed reads (AddCollectionField).
void AppendDefaultOrNull(const FieldSchema& field, Column* c);

struct ColumnBatch {
  int64_t num_rows = 0;
  std::vector<Column> columns;

  const Column* Find(FieldId id) const;
  Column* Find(FieldId id);
  size_t MemoryBytes() const;
};

// The primary key of a row of a pk column (Int64 or VarChar).
PrimaryKey PkAt(const Column& pk_column, int64_t row);
std::string PkToString(const PrimaryKey& pk);

// Persisted form of a column; DecodeColumn returns Corruption on bad input.
void EncodeColumn(const Column& c, std::string* out);
Result<Column> DecodeColumn(std::string_view* in);

// EncodeColumn's bytes as pieces, for writers that stream them (large
// columns are not copied): `parts` are small headers held in `heads` and views
// of the column's own buffers, valid while both the column and this object
// are unchanged and not moved.
struct ColumnEncoding {
  std::string heads[4];
  std::vector<std::string_view> parts;
};
void EncodeColumnParts(const Column& c, ColumnEncoding* out);

// Where DecodeColumnFrom reads persisted bytes from, in order.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  virtual uint64_t remaining() const = 0;
  // Copies the next n bytes into dst (n <= remaining()).
  virtual Status Read(void* dst, size_t n) = 0;
};
// Everything `in` has left, as one string.
Result<std::string> ReadRemaining(ByteSource* in);
// A ByteSource over bytes in memory: reading consumes the view it points to.
class ViewSource final : public ByteSource {
 public:
  // `what` names the input in the error a short read returns ("truncated <what>").
  explicit ViewSource(std::string_view* in, const char* what = "input") : in_(in), what_(what) {}
  uint64_t remaining() const override { return in_->size(); }
  Status Read(void* dst, size_t n) override;

 private:
  std::string_view* in_;
  const char* what_;
};

// DecodeColumn over a source: every buffer is read straight into the column,
// sized only after its length is checked against remaining().
Result<Column> DecodeColumnFrom(ByteSource* in);

// Small helpers for little-endian binary encodings.
void PutU32(std::string* out, uint32_t v);
void PutU64(std::string* out, uint64_t v);
void PutBytes(std::string* out, std::string_view b);  // u64 length + bytes
bool GetU32(std::string_view* in, uint32_t* v);
bool GetU64(std::string_view* in, uint64_t* v);
bool GetBytes(std::string_view* in, std::string_view* b);

}  // namespace kite
