// libFuzzer target: the gRPC FieldData decoder (src/rpc/field_data.cc), the
// first code a gRPC insert's columns meet. Input: byte 0 picks the schema
// field, byte 1 the expected row count (0..15), the rest is a serialized
// milvus.proto.schema.FieldData. Invariants: decoding fails only with a
// user error (InvalidArgument / NotFound); a decoded column has the expected
// rows and survives a round trip through ColumnToFieldData.
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "fuzz_schema.h"
#include "rpc/field_data.h"

namespace {
void Check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "field_data_fuzzer invariant violated: %s\n", what);
  std::abort();
}
bool UserError(const kite::Status& st) {
  return st.code() == kite::StatusCode::kInvalidArgument || st.code() == kite::StatusCode::kNotFound;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const kite::CollectionSchema* schema = new kite::CollectionSchema(kite::fuzz::AllTypesSchema());
  if (size < 2) return 0;
  const kite::FieldSchema& field = schema->fields[data[0] % schema->fields.size()];
  const int64_t rows = data[1] % 16;
  ::milvus::proto::schema::FieldData in;
  if (!in.ParseFromArray(data + 2, static_cast<int>(size - 2))) return 0;
  auto col = kite::rpc::ColumnFromFieldData(in, field, rows, "UTC");
  if (!col.ok()) {
    Check(UserError(col.status()), "failed with a non-user error");
    return 0;
  }
  Check(col->num_rows == rows, "decoded row count");
  ::milvus::proto::schema::FieldData out;
  kite::rpc::ColumnToFieldData(*col, field, {}, "UTC", &out);
  auto again = kite::rpc::ColumnFromFieldData(out, field, rows, "UTC");
  Check(again.ok(), "an encoded column does not decode");
  Check(again->num_rows == rows, "round-trip row count");
  return 0;
}
