#include "rpc/import/import_readers.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <nlohmann/json.hpp>

#include "common/json_scan.h"
#include "rpc/import/parquet_reader.h"
#include "rpc/rest/rest_rows.h"

namespace kite::import {

namespace {

using Json = nlohmann::json;

constexpr int kMaxJsonDepth = 1024;  // as the proxy bounds a JSON field value

Status ImportFailed(const std::string& msg) {
  return MakeStatus(StatusCode::kInvalidArgument, Reason::kImportFailed, "{}: importing data failed", msg);
}

std::string Ext(const std::string& path) {
  const size_t slash = path.rfind('/');
  const size_t dot = path.rfind('.');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return "";
  return path.substr(dot);
}

std::string BaseName(const std::string& path) {
  const size_t slash = path.rfind('/');
  std::string b = slash == std::string::npos ? path : path.substr(slash + 1);
  const size_t dot = b.rfind('.');
  return dot == std::string::npos ? b : b.substr(0, dot);
}

Result<std::string> ReadWhole(ObjectStore* objects, const std::string& path) {
  auto got = objects->Get(path);
  if (!got.ok()) return ImportFailed(fmt::format("failed to read file {}: {}", path, got.status().message()));
  return std::move(got).value();
}

Result<Json> ParseJsonText(std::string_view text, const std::string& what) {
  if (JsonNestingDepth(text, kMaxJsonDepth) > kMaxJsonDepth) {
    return ImportFailed(fmt::format("{} nests JSON deeper than {} levels", what, kMaxJsonDepth));
  }
  Json j = Json::parse(text, nullptr, false);
  if (j.is_discarded()) return ImportFailed(fmt::format("{} is not valid JSON", what));
  return j;
}

// A row's "$meta" object becomes its dynamic keys (LocalBulkWriter writes them so).
Status FlattenMeta(Json* row, const CollectionSchema& schema, const std::string& where) {
  auto it = row->find(kDynamicFieldName);
  if (it == row->end()) return Status::OK();
  if (!schema.DynamicField()) return Status::OK();  // RowsToColumns names the stray key
  if (it->is_string()) {
    KITE_ASSIGN_OR_RETURN(Json parsed, ParseJsonText(it->get<std::string>(), where + " $meta"));
    *it = std::move(parsed);
  }
  if (!it->is_object()) return ImportFailed(fmt::format("{}: $meta must be a JSON object", where));
  Json meta = std::move(*it);
  row->erase(kDynamicFieldName);
  for (auto& [k, v] : meta.items()) {
    if (!row->contains(k)) (*row)[k] = std::move(v);
  }
  return Status::OK();
}

Status DecodeRows(const Json& rows, const CollectionSchema& schema, int64_t first_row, const std::string& path,
                  ColumnBatch* out) {
  *out = ColumnBatch{};
  Status st = rest::RowsToColumnsFrom(rows, schema, /*upsert=*/false, first_row, out);
  if (!st.ok()) return ImportFailed(fmt::format("file {}: {}", path, st.message()));
  return Status::OK();
}

// ------------------------------------------------------------------- JSON
class JsonReader final : public FileReader {
 public:
  JsonReader(std::string path, const CollectionSchema& schema, int64_t batch, int64_t size, Json rows)
      : path_(std::move(path)), schema_(schema), batch_(batch), size_(size), rows_(std::move(rows)) {}

  Result<bool> Next(ColumnBatch* out) override {
    const int64_t n = static_cast<int64_t>(rows_.size());
    if (next_ >= n) return false;
    const int64_t end = std::min(n, next_ + batch_);
    Json chunk = Json::array();
    for (int64_t r = next_; r < end; ++r) {
      Json row = std::move(rows_[r]);
      if (!row.is_object()) {
        return ImportFailed(fmt::format("file {}: row {} is not a JSON object", path_, r));
      }
      KITE_RETURN_IF_ERROR(FlattenMeta(&row, schema_, fmt::format("file {}: row {}", path_, r)));
      chunk.push_back(std::move(row));
    }
    KITE_RETURN_IF_ERROR(DecodeRows(chunk, schema_, next_, path_, out));
    next_ = end;
    return true;
  }
  int64_t size_bytes() const override { return size_; }

 private:
  std::string path_;
  const CollectionSchema& schema_;
  int64_t batch_;
  int64_t size_;
  Json rows_;
  int64_t next_ = 0;
};

Result<std::unique_ptr<FileReader>> OpenJson(ObjectStore* objects, const std::string& path,
                                             const CollectionSchema& schema, int64_t batch) {
  KITE_ASSIGN_OR_RETURN(std::string text, ReadWhole(objects, path));
  KITE_ASSIGN_OR_RETURN(Json doc, ParseJsonText(text, "file " + path));
  Json rows;
  if (doc.is_object() && doc.contains("rows") && doc["rows"].is_array()) {
    rows = std::move(doc["rows"]);
  } else if (doc.is_array()) {
    rows = std::move(doc);
  } else {
    return ImportFailed(fmt::format("file {}: expected a JSON array of rows or an object with a \"rows\" array", path));
  }
  return std::unique_ptr<FileReader>(
      new JsonReader(path, schema, batch, static_cast<int64_t>(text.size()), std::move(rows)));
}

// ------------------------------------------------------------------- NumPy
struct NpyArray {
  std::string path;
  std::unique_ptr<ObjectReader> reader;
  char kind = 0;         // 'b' bool, 'i' int, 'u' uint, 'f' float, 'U' unicode, 'S' bytes
  int item_bytes = 0;    // bytes per element
  std::vector<int64_t> shape;
  uint64_t data_offset = 0;
  int64_t row_bytes = 0;  // bytes per first-axis row
};

Result<NpyArray> OpenNpy(ObjectStore* objects, const std::string& path) {
  NpyArray a;
  a.path = path;
  auto r = objects->Open(path);
  if (!r.ok()) return ImportFailed(fmt::format("failed to read file {}: {}", path, r.status().message()));
  a.reader = std::move(r).value();
  auto bad = [&](const std::string& why) { return ImportFailed(fmt::format("file {} is not a valid npy file: {}", path, why)); };
  if (a.reader->size() < 10) return bad("too short");
  unsigned char head[12];
  KITE_RETURN_IF_ERROR(a.reader->ReadAt(0, 10, head));
  if (std::memcmp(head, "\x93NUMPY", 6) != 0) return bad("no NUMPY magic");
  const int major = head[6];
  uint64_t header_len = 0, header_at = 10;
  if (major == 1) {
    header_len = head[8] | (uint64_t{head[9]} << 8);
  } else if (major == 2 || major == 3) {
    if (a.reader->size() < 12) return bad("too short");
    KITE_RETURN_IF_ERROR(a.reader->ReadAt(0, 12, head));
    header_len = head[8] | (uint64_t{head[9]} << 8) | (uint64_t{head[10]} << 16) | (uint64_t{head[11]} << 24);
    header_at = 12;
  } else {
    return bad(fmt::format("unsupported format version {}", major));
  }
  if (header_at + header_len > a.reader->size() || header_len > (1 << 20)) return bad("truncated header");
  std::string header(header_len, '\0');
  KITE_RETURN_IF_ERROR(a.reader->ReadAt(header_at, header_len, header.data()));
  a.data_offset = header_at + header_len;
  // {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
  auto value_of = [&](const std::string& key) -> std::string {
    size_t at = header.find("'" + key + "'");
    if (at == std::string::npos) return "";
    at = header.find(':', at);
    if (at == std::string::npos) return "";
    ++at;
    while (at < header.size() && header[at] == ' ') ++at;
    if (at >= header.size()) return "";
    if (header[at] == '\'') {
      size_t end = header.find('\'', at + 1);
      return end == std::string::npos ? "" : header.substr(at + 1, end - at - 1);
    }
    if (header[at] == '(') {
      size_t end = header.find(')', at);
      return end == std::string::npos ? "" : header.substr(at + 1, end - at - 1);
    }
    size_t end = header.find_first_of(",}", at);
    return header.substr(at, end - at);
  };
  const std::string descr = value_of("descr");
  if (value_of("fortran_order").find("True") != std::string::npos) return bad("fortran_order arrays are not supported");
  if (descr.size() < 3) return bad(fmt::format("unsupported dtype '{}'", descr));
  const char order = descr[0];
  a.kind = descr[1];
  char* end = nullptr;
  const long item = std::strtol(descr.c_str() + 2, &end, 10);
  if (*end != '\0' || item <= 0) return bad(fmt::format("unsupported dtype '{}'", descr));
  a.item_bytes = static_cast<int>(item);
  if (a.kind == 'U') a.item_bytes = static_cast<int>(item) * 4;
  if (order == '>' && a.item_bytes > 1 && a.kind != 'S') return bad("big-endian arrays are not supported");
  std::string shape = value_of("shape");
  size_t pos = 0;
  while (pos < shape.size()) {
    while (pos < shape.size() && (shape[pos] == ' ' || shape[pos] == ',')) ++pos;
    if (pos >= shape.size()) break;
    char* e = nullptr;
    long long d = std::strtoll(shape.c_str() + pos, &e, 10);
    if (e == shape.c_str() + pos || d < 0) return bad(fmt::format("bad shape ({})", shape));
    a.shape.push_back(d);
    pos = e - shape.c_str();
  }
  if (a.shape.empty()) return bad("a 0-d array holds no rows");
  a.row_bytes = a.item_bytes;
  for (size_t i = 1; i < a.shape.size(); ++i) a.row_bytes *= a.shape[i];
  const uint64_t need = a.data_offset + static_cast<uint64_t>(a.shape[0]) * a.row_bytes;
  if (need > a.reader->size()) {
    return bad(fmt::format("truncated data: {} rows need {} bytes, the file has {}", a.shape[0], need, a.reader->size()));
  }
  return a;
}

std::string Utf32ToUtf8(const unsigned char* p, int chars) {
  std::string out;
  for (int i = 0; i < chars; ++i) {
    uint32_t c = p[4 * i] | (uint32_t{p[4 * i + 1]} << 8) | (uint32_t{p[4 * i + 2]} << 16) | (uint32_t{p[4 * i + 3]} << 24);
    if (c == 0) break;
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
    } else if (c < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (c >> 6)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else if (c < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (c >> 12)));
      out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (c >> 18)));
      out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    }
  }
  return out;
}

class NumpyReader final : public FileReader {
 public:
  NumpyReader(const CollectionSchema& schema, int64_t batch) : schema_(schema), batch_(batch) {}

  Status Init(ObjectStore* objects, const std::vector<std::string>& paths) {
    for (const auto& p : paths) {
      const std::string name = BaseName(p);
      const FieldSchema* f = name == kDynamicFieldName ? schema_.DynamicField() : schema_.FindField(name);
      if (!f || (f->is_dynamic && name != kDynamicFieldName)) {
        return ImportFailed(fmt::format("the field '{}' of file {} is not in the schema of collection {}", name, p,
                                        schema_.name));
      }
      if (f->is_function_output) {
        return ImportFailed(fmt::format("file {}: field '{}' is the output of a function and cannot be imported", p, name));
      }
      if (f->is_primary && f->auto_id) {
        return ImportFailed(fmt::format("file {}: the primary key '{}' is auto-generated, no need to provide", p, name));
      }
      KITE_ASSIGN_OR_RETURN(NpyArray a, OpenNpy(objects, p));
      KITE_RETURN_IF_ERROR(CheckType(*f, a));
      size_ += static_cast<int64_t>(a.reader->size());
      if (rows_ < 0) {
        rows_ = a.shape[0];
      } else if (a.shape[0] != rows_) {
        return ImportFailed(fmt::format("the numpy files hold different row counts: {} has {}, another has {}", p,
                                        a.shape[0], rows_));
      }
      arrays_.emplace_back(f, std::move(a));
    }
    for (const FieldSchema& f : schema_.fields) {
      if (f.is_dynamic || f.is_function_output || (f.is_primary && f.auto_id)) continue;
      bool have = std::any_of(arrays_.begin(), arrays_.end(), [&](const auto& e) { return e.first == &f; });
      if (!have && !f.nullable && !f.default_value) {
        return ImportFailed(fmt::format("no numpy file for field '{}' among the import files", f.name));
      }
    }
    if (rows_ < 0) rows_ = 0;
    return Status::OK();
  }

  Result<bool> Next(ColumnBatch* out) override {
    if (next_ >= rows_) return false;
    const int64_t n = std::min(batch_, rows_ - next_);
    *out = ColumnBatch{};
    out->num_rows = n;
    std::string buf;
    for (auto& [f, a] : arrays_) {
      buf.resize(static_cast<size_t>(n * a.row_bytes));
      KITE_RETURN_IF_ERROR(a.reader->ReadAt(a.data_offset + static_cast<uint64_t>(next_) * a.row_bytes, buf.size(), buf.data()));
      Column c = Column::ForField(*f);
      KITE_RETURN_IF_ERROR(Fill(*f, a, reinterpret_cast<const unsigned char*>(buf.data()), n, &c));
      out->columns.push_back(std::move(c));
    }
    next_ += n;
    return true;
  }
  int64_t size_bytes() const override { return size_; }

 private:
  Status Mismatch(const FieldSchema& f, const NpyArray& a, const std::string& why) {
    return ImportFailed(fmt::format("file {}: the array does not fit field '{}' ({}): {}", a.path, f.name,
                                    DataTypeName(f.type), why));
  }

  Status CheckType(const FieldSchema& f, const NpyArray& a) {
    const bool one_d = a.shape.size() == 1;
    auto scalar = [&](char kind, int bytes) -> Status {
      if (!one_d || a.kind != kind || a.item_bytes != bytes) {
        return Mismatch(f, a, fmt::format("expected a 1-d array of '{}{}'", kind, bytes));
      }
      return Status::OK();
    };
    switch (f.type) {
      case DataType::kBool: return scalar('b', 1);
      case DataType::kInt8: return scalar('i', 1);
      case DataType::kInt16: return scalar('i', 2);
      case DataType::kInt32: return scalar('i', 4);
      case DataType::kInt64: return scalar('i', 8);
      case DataType::kFloat: return scalar('f', 4);
      case DataType::kDouble: return scalar('f', 8);
      case DataType::kVarChar:
      case DataType::kJson:
        if (!one_d || (a.kind != 'U' && a.kind != 'S')) return Mismatch(f, a, "expected a 1-d array of strings");
        return Status::OK();
      case DataType::kFloatVector:
      case DataType::kFloat16Vector:
      case DataType::kBFloat16Vector:
      case DataType::kInt8Vector:
      case DataType::kBinaryVector: {
        int64_t want = f.dim();
        if (f.type == DataType::kBinaryVector) want /= 8;
        if (a.shape.size() != 2) return Mismatch(f, a, "expected a 2-d array, one vector per row");
        bool ok = false;
        if (f.type == DataType::kFloatVector) ok = a.kind == 'f' && (a.item_bytes == 4 || a.item_bytes == 8);
        if (f.type == DataType::kFloat16Vector || f.type == DataType::kBFloat16Vector) {
          ok = (a.item_bytes == 2) || (a.kind == 'u' && a.item_bytes == 1 && a.shape[1] == 2 * f.dim());
          if (a.kind == 'u' && a.item_bytes == 1) want = 2 * f.dim();
        }
        if (f.type == DataType::kInt8Vector) ok = a.kind == 'i' && a.item_bytes == 1;
        if (f.type == DataType::kBinaryVector) ok = a.kind == 'u' && a.item_bytes == 1;
        if (!ok) return Mismatch(f, a, "unsupported element type for this vector type");
        if (a.shape[1] != want) {
          return Mismatch(f, a, fmt::format("vector dimension mismatch, expected {} but got {}", want, a.shape[1]));
        }
        return Status::OK();
      }
      default:
        return Mismatch(f, a, "numpy import does not support this data type");
    }
  }

  Status Fill(const FieldSchema& f, const NpyArray& a, const unsigned char* data, int64_t n, Column* c) {
    if (f.type == DataType::kVarChar || f.type == DataType::kJson) {
      for (int64_t r = 0; r < n; ++r) {
        const unsigned char* p = data + r * a.row_bytes;
        std::string s;
        if (a.kind == 'U') {
          s = Utf32ToUtf8(p, a.item_bytes / 4);
        } else {
          s.assign(reinterpret_cast<const char*>(p), strnlen(reinterpret_cast<const char*>(p), a.item_bytes));
        }
        if (f.type == DataType::kJson) {
          auto j = ParseJsonText(s, fmt::format("file {}: row {}", a.path, next_ + r));
          if (!j.ok()) return j.status();
          if (f.is_dynamic && !j->is_object()) {
            return ImportFailed(fmt::format("file {}: row {}: $meta must be a JSON object", a.path, next_ + r));
          }
        }
        c->AppendVar(s);
      }
      return Status::OK();
    }
    if (f.type == DataType::kFloatVector && a.item_bytes == 8) {
      c->Reserve(n);
      std::vector<float> row(static_cast<size_t>(f.dim()));
      for (int64_t r = 0; r < n; ++r) {
        for (int64_t d = 0; d < f.dim(); ++d) {
          double v;
          std::memcpy(&v, data + r * a.row_bytes + d * 8, 8);
          row[d] = static_cast<float>(v);
        }
        c->AppendFixed(row.data());
      }
      return Status::OK();
    }
    // The npy bytes are Kite's fixed layout already (little-endian, packed).
    if (static_cast<int64_t>(c->row_bytes) != a.row_bytes) {
      return Mismatch(f, a, fmt::format("rows of {} bytes, expected {}", a.row_bytes, c->row_bytes));
    }
    if (f.type == DataType::kBool) {
      for (int64_t r = 0; r < n; ++r) {
        if (data[r] > 1) return Mismatch(f, a, fmt::format("row {} is not a boolean", next_ + r));
      }
    }
    c->fixed.assign(data, data + n * a.row_bytes);
    c->num_rows = n;
    return Status::OK();
  }

  const CollectionSchema& schema_;
  int64_t batch_;
  std::vector<std::pair<const FieldSchema*, NpyArray>> arrays_;
  int64_t rows_ = -1;
  int64_t next_ = 0;
  int64_t size_ = 0;
};

// ------------------------------------------------------------------- CSV
// RFC 4180 records: quoted fields may hold separators, quotes ("") and newlines.
Status SplitCsv(std::string_view text, char sep, const std::string& path, std::vector<std::vector<std::string>>* out) {
  std::vector<std::string> rec;
  std::string field;
  bool quoted = false, in_quotes = false, any = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char ch = text[i];
    if (in_quotes) {
      if (ch == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field.push_back('"');
          ++i;
        } else {
          in_quotes = false;
        }
      } else {
        field.push_back(ch);
      }
      continue;
    }
    if (ch == '"' && field.empty() && !quoted) {
      in_quotes = quoted = any = true;
    } else if (ch == sep) {
      rec.push_back(std::move(field));
      field.clear();
      quoted = false;
      any = true;
    } else if (ch == '\n' || ch == '\r') {
      if (ch == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      if (any || !field.empty()) {
        rec.push_back(std::move(field));
        out->push_back(std::move(rec));
      }
      rec.clear();
      field.clear();
      quoted = any = false;
    } else {
      field.push_back(ch);
      any = true;
    }
  }
  if (in_quotes) return ImportFailed(fmt::format("file {}: a quoted CSV field is not closed", path));
  if (any || !field.empty()) {
    rec.push_back(std::move(field));
    out->push_back(std::move(rec));
  }
  return Status::OK();
}

class CsvReader final : public FileReader {
 public:
  CsvReader(std::string path, const CollectionSchema& schema, int64_t batch, int64_t size, std::string nullkey)
      : path_(std::move(path)), schema_(schema), batch_(batch), size_(size), nullkey_(std::move(nullkey)) {}

  Status Init(std::string_view text, char sep) {
    KITE_RETURN_IF_ERROR(SplitCsv(text, sep, path_, &records_));
    if (records_.empty()) return ImportFailed(fmt::format("file {}: the CSV file has no header row", path_));
    header_ = std::move(records_[0]);
    for (const auto& name : header_) {
      const FieldSchema* f = name == kDynamicFieldName ? schema_.DynamicField() : schema_.FindField(name);
      if (!f && !schema_.DynamicField()) {
        return ImportFailed(fmt::format("file {}: column '{}' is not a field of collection {}", path_, name, schema_.name));
      }
      fields_.push_back(f);
    }
    next_ = 1;
    return Status::OK();
  }

  Result<bool> Next(ColumnBatch* out) override {
    const int64_t n = static_cast<int64_t>(records_.size());
    if (next_ >= n) return false;
    const int64_t end = std::min(n, next_ + batch_);
    Json chunk = Json::array();
    for (int64_t r = next_; r < end; ++r) {
      const auto& rec = records_[r];
      const std::string where = fmt::format("file {}: row {}", path_, r - 1);
      if (rec.size() != header_.size()) {
        return ImportFailed(fmt::format("{}: {} values for {} columns", where, rec.size(), header_.size()));
      }
      Json row = Json::object();
      for (size_t i = 0; i < rec.size(); ++i) {
        KITE_RETURN_IF_ERROR(Cell(header_[i], fields_[i], rec[i], where, &row));
      }
      KITE_RETURN_IF_ERROR(FlattenMeta(&row, schema_, where));
      chunk.push_back(std::move(row));
    }
    KITE_RETURN_IF_ERROR(DecodeRows(chunk, schema_, next_ - 1, path_, out));
    next_ = end;
    return true;
  }
  int64_t size_bytes() const override { return size_; }

 private:
  Status Cell(const std::string& name, const FieldSchema* f, const std::string& text, const std::string& where, Json* row) {
    const std::string at = fmt::format("{}: field '{}'", where, name);
    if (!f) {  // a dynamic key
      (*row)[name] = text;
      return Status::OK();
    }
    if (text == nullkey_ && (f->nullable || f->default_value || f->is_dynamic)) return Status::OK();
    switch (f->type) {
      case DataType::kBool:
        if (text == "true" || text == "True" || text == "TRUE" || text == "1") {
          (*row)[name] = true;
        } else if (text == "false" || text == "False" || text == "FALSE" || text == "0") {
          (*row)[name] = false;
        } else {
          return ImportFailed(fmt::format("{}: '{}' is not a boolean", at, text));
        }
        return Status::OK();
      case DataType::kInt8:
      case DataType::kInt16:
      case DataType::kInt32:
      case DataType::kInt64: {
        errno = 0;
        char* e = nullptr;
        long long v = std::strtoll(text.c_str(), &e, 10);
        if (text.empty() || *e != '\0' || errno == ERANGE) {
          return ImportFailed(fmt::format("{}: '{}' is not an integer", at, text));
        }
        (*row)[name] = static_cast<int64_t>(v);
        return Status::OK();
      }
      case DataType::kFloat:
      case DataType::kDouble: {
        char* e = nullptr;
        double v = std::strtod(text.c_str(), &e);
        if (text.empty() || *e != '\0') return ImportFailed(fmt::format("{}: '{}' is not a number", at, text));
        (*row)[name] = v;
        return Status::OK();
      }
      case DataType::kVarChar:
      case DataType::kText:
      case DataType::kGeometry:
      case DataType::kTimestamptz:
        (*row)[name] = text;
        return Status::OK();
      default: {
        KITE_ASSIGN_OR_RETURN(Json j, ParseJsonText(text, at));
        (*row)[name] = std::move(j);
        return Status::OK();
      }
    }
  }

  std::string path_;
  const CollectionSchema& schema_;
  int64_t batch_;
  int64_t size_;
  std::string nullkey_;
  std::vector<std::vector<std::string>> records_;
  std::vector<std::string> header_;
  std::vector<const FieldSchema*> fields_;
  int64_t next_ = 1;
};

}  // namespace

Result<FileType> FileTypeOf(const std::vector<std::string>& paths) {
  if (paths.empty()) return ImportFailed("no file to import");
  const std::string ext = Ext(paths[0]);
  for (size_t i = 1; i < paths.size(); ++i) {
    if (Ext(paths[i]) != ext) {
      return ImportFailed(fmt::format("inconsistency in file types, ({}) vs ({})", paths[0], paths[i]));
    }
  }
  if (ext == ".json") {
    if (paths.size() != 1) return ImportFailed("for JSON or parquet import, accepts only one file");
    return FileType::kJson;
  }
  if (ext == ".npy") return FileType::kNumpy;
  if (ext == ".parquet") {
    if (paths.size() != 1) return ImportFailed("for JSON or parquet import, accepts only one file");
    return FileType::kParquet;
  }
  if (ext == ".csv") {
    if (paths.size() != 1) return ImportFailed("for CSV import, accepts only one file");
    return FileType::kCsv;
  }
  std::string list;
  for (size_t i = 0; i < paths.size(); ++i) list += (i ? " " : "") + paths[i];
  return ImportFailed(fmt::format("unexpected file type, files=[{}]", list));
}

Result<std::unique_ptr<FileReader>> OpenFileReader(ObjectStore* objects, const std::vector<std::string>& paths,
                                                   const CollectionSchema& schema,
                                                   const std::map<std::string, std::string>& options,
                                                   int64_t batch_rows) {
  KITE_ASSIGN_OR_RETURN(FileType type, FileTypeOf(paths));
  switch (type) {
    case FileType::kJson: return OpenJson(objects, paths[0], schema, batch_rows);
    case FileType::kNumpy: {
      auto r = std::make_unique<NumpyReader>(schema, batch_rows);
      KITE_RETURN_IF_ERROR(r->Init(objects, paths));
      return std::unique_ptr<FileReader>(std::move(r));
    }
    case FileType::kCsv: {
      std::string sep = ",", nullkey;
      if (auto it = options.find("sep"); it != options.end()) sep = it->second;
      if (auto it = options.find("nullkey"); it != options.end()) nullkey = it->second;
      if (sep.size() != 1 || sep == "\"" || sep == "\n" || sep == "\r") {
        return ImportFailed(fmt::format("unsupported csv separator: {}", sep));
      }
      KITE_ASSIGN_OR_RETURN(std::string text, ReadWhole(objects, paths[0]));
      auto r = std::make_unique<CsvReader>(paths[0], schema, batch_rows, static_cast<int64_t>(text.size()), nullkey);
      KITE_RETURN_IF_ERROR(r->Init(text, sep[0]));
      return std::unique_ptr<FileReader>(std::move(r));
    }
    case FileType::kParquet: return OpenParquet(objects, paths[0], schema, batch_rows);
  }
  return ImportFailed("unexpected file type");
}

}  // namespace kite::import
