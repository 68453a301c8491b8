// Streaming decode of a REST insert/upsert body (rest_rows.h): the body's
// top-level object is parsed without its "data" array (ParseBodyEnvelope),
// then the rows are parsed one at a time (nlohmann's SAX interface) into
// batches of kRowsPerBatch small DOM rows, each decoded by RowsToColumns's
// rules and appended to the columns. Peak memory is the body text plus one
// batch plus the columns, instead of a DOM of the whole body (a 62 MiB body
// of rows with a dozen dynamic keys each took 640 MB as one DOM: issue 20 #17).
#include <functional>
#include <map>
#include <utility>
#include <vector>

#include "rpc/rest/rest_rows.h"

namespace kite::rest {
namespace {

constexpr int64_t kRowsPerBatch = 512;

// Builds one JSON value from SAX events; holds pointers to the open
// containers on the current path only (a child is closed before its parent
// grows again, so they stay valid).
class ValueBuilder {
 public:
  bool done() const { return done_; }
  Json Take() {
    done_ = false;
    return std::move(root_);
  }
  void Key(std::string k) { key_ = std::move(k); }
  void Scalar(Json v) {
    if (stack_.empty()) {
      root_ = std::move(v);
      done_ = true;
    } else if (stack_.back()->is_object()) {
      (*stack_.back())[key_] = std::move(v);
    } else {
      stack_.back()->push_back(std::move(v));
    }
  }
  void Open(Json container) {
    if (stack_.empty()) {
      root_ = std::move(container);
      stack_.push_back(&root_);
    } else if (stack_.back()->is_object()) {
      Json& child = (*stack_.back())[key_] = std::move(container);
      stack_.push_back(&child);
    } else {
      stack_.back()->push_back(std::move(container));
      stack_.push_back(&stack_.back()->back());
    }
  }
  void Close() {
    stack_.pop_back();
    if (stack_.empty()) done_ = true;
  }

 private:
  Json root_;
  std::vector<Json*> stack_;
  std::string key_;
  bool done_ = false;
};

// SAX handler over a whole body. Depth 0 is outside the top-level value, 1
// inside the top-level object. In envelope mode every value but the
// top-level "data" array is built; in rows mode only the elements of that
// array are, each handed to `on_row`.
class BodySax {
 public:
  enum class Mode { kEnvelope, kRows };
  BodySax(Mode mode, std::function<bool(Json)> on_row) : mode_(mode), on_row_(std::move(on_row)) {}

  bool null() { return Scalar(nullptr); }
  bool boolean(bool v) { return Scalar(v); }
  bool number_integer(Json::number_integer_t v) { return Scalar(v); }
  bool number_unsigned(Json::number_unsigned_t v) { return Scalar(v); }
  bool number_float(Json::number_float_t v, const std::string&) { return Scalar(v); }
  bool string(std::string& v) { return Scalar(std::move(v)); }
  bool binary(Json::binary_t& v) { return Scalar(Json::binary(std::move(v))); }
  bool start_object(std::size_t) { return Open(Json::object()); }
  bool end_object() { return Close(); }
  bool start_array(std::size_t) { return Open(Json::array()); }
  bool end_array() { return Close(); }
  bool key(std::string& k) {
    if (depth_ == 1) top_key_ = k;
    if (Building()) builder_.Key(std::move(k));
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& ex) {
    error_ = ex.what();
    return false;
  }

  const std::string& error() const { return error_; }
  bool data_deferred() const { return data_deferred_; }
  Json TakeEnvelope() { return builder_.Take(); }

 private:
  // Inside the top-level "data" array (depth 2 is the array itself).
  bool InData() const { return in_data_; }
  bool Building() const { return mode_ == Mode::kEnvelope ? !InData() : InData() && depth_ >= 3; }

  bool Scalar(Json v) {
    if (mode_ == Mode::kRows && InData() && depth_ == 2) {
      // a scalar row: decoded (and refused) like any other row
      return on_row_(std::move(v));
    }
    if (Building()) builder_.Scalar(std::move(v));
    return true;
  }
  bool Open(Json container) {
    ++depth_;
    if (depth_ == 2 && top_key_ == "data" && container.is_array() && !in_data_) {
      in_data_ = true;
      data_deferred_ = true;
      if (mode_ == Mode::kEnvelope) builder_.Scalar(Json::array());  // placeholder: type checks still see an array
      return true;
    }
    if (Building()) builder_.Open(std::move(container));
    return true;
  }
  bool Close() {
    bool ok = true;
    if (in_data_ && depth_ == 2) {
      in_data_ = false;
      top_key_.clear();
    } else if (Building()) {
      builder_.Close();
      if (mode_ == Mode::kRows && depth_ == 3 && builder_.done()) ok = on_row_(builder_.Take());
    }
    --depth_;
    return ok;
  }

  Mode mode_;
  std::function<bool(Json)> on_row_;
  ValueBuilder builder_;
  int depth_ = 0;
  std::string top_key_;
  bool in_data_ = false;
  bool data_deferred_ = false;
  std::string error_;
};

// Appends per-batch columns into one batch: a column a batch lacks (a
// nullable or defaulted field none of its rows gave) is null there.
class ColumnMerger {
 public:
  explicit ColumnMerger(const CollectionSchema& schema) : schema_(schema) {}

  void Add(ColumnBatch&& b) {
    std::vector<bool> seen(order_.size(), false);
    for (Column& c : b.columns) {
      auto it = index_.find(c.field_id.value);
      if (it == index_.end()) {
        Column col = Column::ForField(*schema_.FindField(c.field_id));
        for (int64_t r = 0; r < rows_; ++r) col.AppendNull();
        it = index_.emplace(c.field_id.value, order_.size()).first;
        order_.push_back(std::move(col));
        seen.push_back(false);
      }
      order_[it->second].AppendRange(c, 0, c.num_rows);
      seen[it->second] = true;
    }
    for (size_t i = 0; i < order_.size(); ++i) {
      if (!seen[i]) {
        for (int64_t r = 0; r < b.num_rows; ++r) order_[i].AppendNull();
      }
    }
    rows_ += b.num_rows;
  }

  void Finish(ColumnBatch* out) {
    out->num_rows = rows_;
    out->columns = std::move(order_);
  }

 private:
  const CollectionSchema& schema_;
  std::map<int64_t, size_t> index_;
  std::vector<Column> order_;
  int64_t rows_ = 0;
};

}  // namespace

bool ParseBodyEnvelope(std::string_view body, Json* out, bool* data_deferred, std::string* error) {
  BodySax sax(BodySax::Mode::kEnvelope, nullptr);
  bool ok = Json::sax_parse(body, &sax, Json::input_format_t::json, /*strict=*/true);
  if (!ok) {
    *error = sax.error().empty() ? "malformed JSON" : sax.error();
    return false;
  }
  *out = sax.TakeEnvelope();
  *data_deferred = sax.data_deferred();
  return true;
}

Status StreamRowsToColumns(std::string_view body, const CollectionSchema& schema, bool upsert, ColumnBatch* out) {
  ColumnMerger merger(schema);
  Json batch = Json::array();
  int64_t first_row = 0;
  Status st;
  auto flush = [&]() -> bool {
    ColumnBatch part;
    st = RowsToColumnsFrom(batch, schema, upsert, first_row, &part);
    if (!st.ok()) return false;
    first_row += static_cast<int64_t>(batch.size());
    merger.Add(std::move(part));
    batch = Json::array();
    return true;
  };
  BodySax sax(BodySax::Mode::kRows, [&](Json row) {
    batch.push_back(std::move(row));
    return static_cast<int64_t>(batch.size()) < kRowsPerBatch || flush();
  });
  bool ok = Json::sax_parse(body, &sax, Json::input_format_t::json, /*strict=*/true);
  if (!st.ok()) return st;
  if (!ok) return InvalidArgument("data: {}", sax.error());
  if (!batch.empty() || first_row == 0) {
    if (!flush()) return st;
  }
  merger.Finish(out);
  return Status::OK();
}

}  // namespace kite::rest
