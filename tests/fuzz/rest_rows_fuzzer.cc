// libFuzzer target: the REST row decoder (src/rpc/rest/rest_rows.cc). The
// input is parsed as the "data" array of an insert, the way the REST service
// does it (depth-checked first), and decoded against a schema holding every
// field type, for insert and for upsert. Invariants: decoding fails only with
// InvalidArgument; on success every column has one value per row, and each
// decoded cell converts back to JSON; the streaming decoder (a large body's
// path: StreamRowsToColumns over {"data": rows}) agrees with RowsToColumns.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/json_scan.h"
#include "fuzz_schema.h"
#include "rpc/rest/rest_rows.h"

namespace {
void Check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "rest_rows_fuzzer invariant violated: %s\n", what);
  std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const kite::CollectionSchema* schema = new kite::CollectionSchema(kite::fuzz::AllTypesSchema());
  std::string_view text(reinterpret_cast<const char*>(data), size);
  // nlohmann's parser takes a NUL byte for the end of the input (what follows
  // is ignored), so a body built around the text would not end where the text
  // does: compare the two decoders on the text up to its first NUL.
  text = text.substr(0, text.find('\0'));
  if (kite::JsonNestingDepth(text, 10000) > 10000) return 0;  // the REST service refuses these first
  kite::rest::Json rows = kite::rest::Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (rows.is_discarded()) return 0;
  const std::string body = "{\"data\": " + std::string(text) + "}";
  for (bool upsert : {false, true}) {
    kite::ColumnBatch out;
    kite::Status st = kite::rest::RowsToColumns(rows, *schema, upsert, &out);
    if (rows.is_array()) {
      kite::ColumnBatch streamed;
      kite::Status st2 = kite::rest::StreamRowsToColumns(body, *schema, upsert, &streamed);
      Check(st.ok() == st2.ok(), "streamed decoding disagrees on success");
      if (st.ok()) {
        Check(streamed.num_rows == out.num_rows && streamed.columns.size() == out.columns.size(), "streamed shape");
        for (size_t i = 0; i < out.columns.size(); ++i) {
          const kite::Column& a = out.columns[i];
          const kite::Column* b = streamed.Find(a.field_id);
          Check(b != nullptr, "streamed column missing");
          Check(a.fixed == b->fixed && a.bytes == b->bytes && a.offsets == b->offsets, "streamed values differ");
          for (int64_t r = 0; r < a.num_rows; ++r) Check(a.IsNull(r) == b->IsNull(r), "streamed validity differs");
        }
      }
    }
    if (!st.ok()) {
      Check(st.code() == kite::StatusCode::kInvalidArgument, "failed with a non-user error");
      continue;
    }
    for (const kite::Column& c : out.columns) {
      Check(c.num_rows == out.num_rows, "column row count");
      const kite::FieldSchema* f = schema->FindField(c.field_id);
      Check(f != nullptr, "column of an unknown field");
      for (int64_t r = 0; r < c.num_rows; ++r) (void)kite::rest::CellToJson(c, *f, r, true).dump();
    }
  }
  return 0;
}
