#include "query/order_by.h"

#include <gtest/gtest.h>

namespace kite {
namespace {

CollectionSchema Schema(bool dynamic) {
  CollectionSchema s;
  s.name = "c";
  s.enable_dynamic_field = dynamic;
  auto add = [&](int64_t id, const char* name, DataType t) {
    FieldSchema f;
    f.id = FieldId{id};
    f.name = name;
    f.type = t;
    f.is_primary = id == 100;
    f.is_dynamic = std::string(name) == "$meta";
    if (t == DataType::kFloatVector) f.type_params["dim"] = "4";
    s.fields.push_back(f);
  };
  add(100, "id", DataType::kInt64);
  add(101, "v", DataType::kFloatVector);
  add(102, "price", DataType::kDouble);
  add(103, "meta", DataType::kJson);
  if (dynamic) add(104, "$meta", DataType::kJson);
  return s;
}

TEST(OrderBy, ParsesPymilvusText) {
  auto specs = ParseOrderByFields("price:asc, meta[\"a:b\"][\"c\"]:desc,id");
  ASSERT_EQ(specs.size(), 3u);
  EXPECT_EQ(specs[0].field, "price");
  EXPECT_EQ(specs[0].direction, "asc");
  EXPECT_EQ(specs[1].field, "meta[\"a:b\"][\"c\"]");  // the colon inside quotes is not a separator
  EXPECT_EQ(specs[1].direction, "desc");
  EXPECT_EQ(specs[2].field, "id");
  EXPECT_EQ(specs[2].direction, "");
  // An unclosed bracket keeps the colon in the name (Milvus reports 'json_field[invalid:asc').
  specs = ParseOrderByFields("meta[invalid:asc");
  ASSERT_EQ(specs.size(), 1u);
  EXPECT_EQ(specs[0].field, "meta[invalid:asc");
}

TEST(OrderBy, ResolvesFieldsPathsAndDynamicKeys) {
  auto s = Schema(true);
  auto keys = ResolveOrderBy({{"price", "DESCENDING"}, {"meta[\"a\"][0]", ""}, {"age", "asc"}}, s);
  ASSERT_TRUE(keys.ok()) << keys.status().message();
  EXPECT_EQ(keys.value()[0].field->name, "price");
  EXPECT_FALSE(keys.value()[0].ascending);
  EXPECT_EQ(keys.value()[1].path, (std::vector<std::string>{"a", "0"}));
  EXPECT_EQ(keys.value()[2].field->name, "$meta");
  EXPECT_EQ(keys.value()[2].path, (std::vector<std::string>{"age"}));
}

TEST(OrderBy, MilvusErrors) {
  auto s = Schema(false);
  auto msg = [&](std::vector<OrderBySpec> specs) {
    auto r = ResolveOrderBy(specs, s);
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(r.status().reason(), Reason::kUnclassified);
    return r.ok() ? std::string() : r.status().message();
  };
  EXPECT_EQ(msg({{"nope", "asc"}}), "order_by field 'nope' does not exist in collection schema");
  EXPECT_EQ(msg({{"meta[invalid:asc", ""}}), "order_by field 'meta[invalid:asc' does not exist in collection schema");
  EXPECT_EQ(msg({{"meta", "asc"}}),
            "order_by field 'meta' has unsortable type JSON; supported types: bool, int8/16/32/64, float, double, "
            "string, varchar; for JSON fields use path syntax like field[\"key\"]");
  EXPECT_EQ(msg({{"price", "up"}}), "invalid order direction 'up' for field 'price', expected 'asc' or 'desc'");
}

TEST(OrderBy, NullsSortLastAndDirectionsApply) {
  std::vector<OrderByKey> keys(2);
  keys[0].ascending = true;
  keys[1].ascending = false;
  auto num = [](double x) {
    OrderValue v;
    v.kind = OrderValue::kNumber;
    v.number = x;
    return v;
  };
  OrderValue null;
  EXPECT_TRUE(OrderBefore(keys, {num(1), num(0)}, {num(2), num(9)}));
  EXPECT_TRUE(OrderBefore(keys, {num(1), num(5)}, {num(1), num(4)}));  // second key descending
  EXPECT_TRUE(OrderBefore(keys, {num(7), num(0)}, {null, num(0)}));    // nulls last
  EXPECT_FALSE(OrderBefore(keys, {null, num(0)}, {num(7), num(0)}));
  EXPECT_FALSE(OrderBefore(keys, {num(1), num(1)}, {num(1), num(1)}));  // ties keep their order
}

}  // namespace
}  // namespace kite
