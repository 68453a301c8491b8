// order_by_fields (Milvus 2.6 search): the hits a search keeps are reordered
// by scalar fields, each ascending or descending, ties kept in distance
// order. A key is a scalar field (Bool, Int8..Int64, Float, Double, VarChar),
// a path into a JSON field (`meta["a"]["b"]`), or a key of the dynamic field
// (`k`, `k["a"]`). Nulls (and missing JSON keys) sort last in both directions.
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "schema/collection_schema.h"
#include "schema/column_batch.h"

namespace kite {

// One item as the client sent it: "field:direction" (direction may be empty).
struct OrderBySpec {
  std::string field;
  std::string direction;
};

// Splits pymilvus's "a:asc,b[\"k\"]:desc" at commas and the last colon that
// are outside brackets and quotes.
std::vector<OrderBySpec> ParseOrderByFields(const std::string& text);

struct OrderByKey {
  std::string name;                // as the client wrote it
  const FieldSchema* field = nullptr;  // the column read (the dynamic field for dynamic keys)
  std::vector<std::string> path;   // JSON keys below the column; empty for a scalar field
  bool ascending = true;
  bool nulls_first = false;  // search: nulls last; query: PostgreSQL's default (DESC -> NULLS FIRST)
};

// Validates the specs against the schema with Milvus's messages.
Result<std::vector<OrderByKey>> ResolveOrderBy(const std::vector<OrderBySpec>& specs, const CollectionSchema& schema);

// Query's order_by_fields ("f1:asc,f2:desc:nulls_first", Milvus's
// orderby.ParseOrderByFields): each item is `field[:direction[:nulls_first |
// nulls_last]]` on a sortable scalar field of the schema (no dynamic keys, no
// JSON paths); ASC sorts nulls last and DESC first unless the item says.
// Errors are Milvus's texts.
Result<std::vector<OrderByKey>> ResolveQueryOrderBy(const std::string& text, const CollectionSchema& schema);

// A comparable cell value.
struct OrderValue {
  enum Kind { kNull = 0, kNumber = 1, kString = 2 } kind = kNull;
  double number = 0;
  std::string text;
};

// The key's value in row `row` of `column` (the key's field column).
OrderValue OrderValueAt(const OrderByKey& key, const Column& column, int64_t row);

// True when values `a` sort strictly before `b` under `keys` (one value per key).
bool OrderBefore(const std::vector<OrderByKey>& keys, const std::vector<OrderValue>& a,
                 const std::vector<OrderValue>& b);

}  // namespace kite
