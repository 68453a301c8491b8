// Parquet import reader (parquet_reader.h): files written here with Arrow
// C++'s own Parquet writer (the same libraries the reader links, from the
// pyarrow wheel; std::string crosses the library boundary both ways, so a
// libstdc++ ABI mismatch would fail to link or crash here), read back into
// Kite columns, and damaged or mismatched files refused with Milvus's texts.
#include "rpc/import/parquet_reader.h"

#include <filesystem>

#include <arrow/api.h>
#include <arrow/io/memory.h>
#include <gtest/gtest.h>
#include <parquet/arrow/writer.h>

namespace kite::import {
namespace {

FieldSchema Field(int64_t id, std::string name, DataType type) {
  FieldSchema f;
  f.id = FieldId(id);
  f.name = std::move(name);
  f.type = type;
  return f;
}

CollectionSchema TestSchema() {
  CollectionSchema s;
  s.name = "c";
  FieldSchema pk = Field(100, "id", DataType::kInt64);
  pk.is_primary = true;
  FieldSchema v = Field(101, "v", DataType::kFloatVector);
  v.type_params["dim"] = "3";
  FieldSchema name = Field(102, "name", DataType::kVarChar);
  name.type_params["max_length"] = "16";
  name.nullable = true;
  FieldSchema w = Field(103, "w", DataType::kInt64);
  w.default_value = int64_t{7};
  s.fields = {pk, v, name, w};
  return s;
}

class ParquetReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("kite_parquet_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    auto store = OpenLocalObjectStore(dir_.string());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void Put(const std::string& key, const std::shared_ptr<arrow::Table>& table) {
    auto sink = arrow::io::BufferOutputStream::Create().ValueOrDie();
    ASSERT_TRUE(parquet::arrow::WriteTable(*table, arrow::default_memory_pool(), sink, /*chunk_size=*/2).ok());
    auto buf = sink->Finish().ValueOrDie();
    ASSERT_TRUE(store_->Put(key, buf->ToString()).ok());
  }

  // Every batch of the file, or the first error's message.
  Result<std::vector<ColumnBatch>> ReadAll(const std::string& key, const CollectionSchema& schema) {
    KITE_ASSIGN_OR_RETURN(auto reader, OpenParquet(store_.get(), key, schema, 2));
    std::vector<ColumnBatch> out;
    for (;;) {
      ColumnBatch b;
      KITE_ASSIGN_OR_RETURN(bool more, reader->Next(&b));
      if (!more) return out;
      out.push_back(std::move(b));
    }
  }

  std::string ErrorOf(const std::string& key, const CollectionSchema& schema) {
    auto r = ReadAll(key, schema);
    return r.ok() ? std::string("(no error)") : std::string(r.status().message());
  }

  std::filesystem::path dir_;
  std::unique_ptr<ObjectStore> store_;
};

std::shared_ptr<arrow::Array> Vectors(const std::vector<std::vector<float>>& rows) {
  arrow::ListBuilder b(arrow::default_memory_pool(), std::make_shared<arrow::FloatBuilder>());
  auto* values = static_cast<arrow::FloatBuilder*>(b.value_builder());
  for (const auto& r : rows) {
    EXPECT_TRUE(b.Append().ok());
    EXPECT_TRUE(values->AppendValues(r).ok());
  }
  return b.Finish().ValueOrDie();
}

template <typename Builder, typename T>
std::shared_ptr<arrow::Array> Build(const std::vector<std::optional<T>>& xs) {
  Builder b;
  for (const auto& x : xs) {
    if (x) {
      EXPECT_TRUE(b.Append(*x).ok());
    } else {
      EXPECT_TRUE(b.AppendNull().ok());
    }
  }
  return b.Finish().ValueOrDie();
}

std::shared_ptr<arrow::Table> Good() {
  auto ids = Build<arrow::Int32Builder, int32_t>({1, 2, 3});  // int32 widens into Int64
  auto v = Vectors({{1, 2, 3}, {4, 5, 6}, {7, 8, 9}});
  auto names = Build<arrow::StringBuilder, std::string>({std::string("a"), std::nullopt, std::string("ccc")});
  auto w = Build<arrow::Int64Builder, int64_t>({10, std::nullopt, 30});
  auto schema = arrow::schema({arrow::field("id", arrow::int32()), arrow::field("v", arrow::list(arrow::float32())),
                               arrow::field("name", arrow::utf8()), arrow::field("w", arrow::int64())});
  return arrow::Table::Make(schema, {ids, v, names, w});
}

TEST_F(ParquetReaderTest, ReadsColumnsInBatchesWithNullsAndWidening) {
  Put("a.parquet", Good());
  auto batches = ReadAll("a.parquet", TestSchema());
  ASSERT_TRUE(batches.ok()) << batches.status().ToString();
  ASSERT_EQ(batches->size(), 2u);  // 3 rows in batches of 2
  std::vector<int64_t> ids;
  std::vector<float> floats;
  std::vector<std::string> names;
  std::vector<bool> name_null, w_null;
  std::vector<int64_t> ws;
  for (const ColumnBatch& b : *batches) {
    const Column* id = b.Find(FieldId(100));
    const Column* v = b.Find(FieldId(101));
    const Column* name = b.Find(FieldId(102));
    const Column* w = b.Find(FieldId(103));
    ASSERT_TRUE(id && v && name && w);
    for (int64_t r = 0; r < b.num_rows; ++r) {
      ids.push_back(id->Get<int64_t>(r));
      for (int k = 0; k < 3; ++k) {
        float x;
        std::memcpy(&x, v->RowPtr(r) + 4 * k, 4);
        floats.push_back(x);
      }
      name_null.push_back(name->IsNull(r));
      if (!name->IsNull(r)) names.emplace_back(name->GetBytes(r));
      w_null.push_back(w->IsNull(r));  // null: the proxy fills the default value
      if (!w->IsNull(r)) ws.push_back(w->Get<int64_t>(r));
    }
  }
  EXPECT_EQ(ids, (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(floats, (std::vector<float>{1, 2, 3, 4, 5, 6, 7, 8, 9}));
  EXPECT_EQ(names, (std::vector<std::string>{"a", "ccc"}));
  EXPECT_EQ(name_null, (std::vector<bool>{false, true, false}));
  EXPECT_EQ(w_null, (std::vector<bool>{false, true, false}));
  EXPECT_EQ(ws, (std::vector<int64_t>{10, 30}));
}

TEST_F(ParquetReaderTest, RefusesMismatchedFilesWithMilvusTexts) {
  auto good = Good();
  // a schema field missing
  Put("missing.parquet", good->RemoveColumn(3).ValueOrDie());
  EXPECT_EQ(ErrorOf("missing.parquet", TestSchema()),
            "schema not equal, err=field 'w' not in arrow schema: importing data failed: importing data failed");
  // the wrong type: a string column for the vector
  auto strs = Build<arrow::StringBuilder, std::string>({std::string("x"), std::string("y"), std::string("z")});
  Put("type.parquet", good->SetColumn(1, arrow::field("v", arrow::utf8()), std::make_shared<arrow::ChunkedArray>(strs))
                          .ValueOrDie());
  EXPECT_EQ(ErrorOf("type.parquet", TestSchema()),
            "schema not equal, err=field 'v' type mis-match, milvus data type 'FloatVector', arrow data type get "
            "'string': importing data failed: importing data failed");
  // int64 into Int32 is not a widening Milvus allows
  CollectionSchema narrow = TestSchema();
  narrow.fields[3].type = DataType::kInt32;
  Put("narrow.parquet", good);
  EXPECT_EQ(ErrorOf("narrow.parquet", narrow),
            "schema not equal, err=field 'w' type mis-match, milvus data type 'Int32', arrow data type get "
            "'int64': importing data failed: importing data failed");
  // a column the schema lacks
  auto extra = good->AddColumn(4, arrow::field("extra", arrow::int64()),
                               std::make_shared<arrow::ChunkedArray>(Build<arrow::Int64Builder, int64_t>({1, 2, 3})))
                   .ValueOrDie();
  Put("extra.parquet", extra);
  EXPECT_EQ(ErrorOf("extra.parquet", TestSchema()),
            "the field: extra is not in schema, if it's a dynamic field, please reformat data by bulk_writer: "
            "importing data failed");
  // a null where the field is neither nullable nor defaulted
  auto ids = Build<arrow::Int64Builder, int64_t>({1, std::nullopt, 3});
  Put("null.parquet",
      good->SetColumn(0, arrow::field("id", arrow::int64()), std::make_shared<arrow::ChunkedArray>(ids)).ValueOrDie());
  EXPECT_EQ(ErrorOf("null.parquet", TestSchema()),
            "file null.parquet: field 'id': row 1: not nullable, but has null value: invalid parameter: importing "
            "data failed");
  // a vector of the wrong length
  Put("short.parquet", good->SetColumn(1, arrow::field("v", arrow::list(arrow::float32())),
                                       std::make_shared<arrow::ChunkedArray>(Vectors({{1, 2, 3}, {4, 5, 6}, {7, 8}})))
                           .ValueOrDie());
  EXPECT_EQ(ErrorOf("short.parquet", TestSchema()),
            "file short.parquet: field 'v': row 2: length of vector is not aligned: expected 3 but got 2, data type: "
            "FloatVector: importing data failed");
}

TEST_F(ParquetReaderTest, DamagedBytesAreAnErrorNotACrash) {
  Put("a.parquet", Good());
  std::string bytes = store_->Get("a.parquet").value();
  ASSERT_TRUE(store_->Put("junk.parquet", "PAR1 not a parquet file").ok());
  EXPECT_NE(ErrorOf("junk.parquet", TestSchema()).find("new parquet reader failed"), std::string::npos);
  ASSERT_TRUE(store_->Put("cut.parquet", bytes.substr(0, bytes.size() / 2)).ok());
  EXPECT_NE(ErrorOf("cut.parquet", TestSchema()).find("new parquet reader failed"), std::string::npos);
  // single-byte flips spread over the file (each Put syncs a file: about 200 of them) read or fail cleanly
  const size_t stride = std::max<size_t>(1, bytes.size() / 200);
  for (size_t at = 0; at < bytes.size(); at += (at < 64 || at + 64 > bytes.size()) ? 1 : stride) {
    std::string damaged = bytes;
    damaged[at] = static_cast<char>(damaged[at] ^ 0x5a);
    ASSERT_TRUE(store_->Put("flip.parquet", damaged).ok());
    auto r = ReadAll("flip.parquet", TestSchema());
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << at << ": " << r.status().ToString();
    }
  }
  EXPECT_EQ(ErrorOf("none.parquet", TestSchema()).rfind("failed to read file none.parquet", 0), 0u);
}

}  // namespace
}  // namespace kite::import
