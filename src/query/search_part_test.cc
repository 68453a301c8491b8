// The reduce levels of query/search_part.h: answers merged across parts keep
// exactly what a search over all rows would keep.
#include "query/search_part.h"

#include <gtest/gtest.h>

#include <map>
#include <vector>

namespace kite {
namespace {

FieldSchema Int64Field(int64_t id, const char* name, bool pk) {
  FieldSchema f;
  f.id = FieldId(id);
  f.name = name;
  f.type = DataType::kInt64;
  f.is_primary = pk;
  return f;
}

// One query's hits (key, distance, group), best (smallest) first, with their rows.
SearchPart PartOf(const std::vector<std::tuple<int64_t, float, int64_t>>& hits) {
  SearchPart part;
  part.nq = 1;
  part.hits.resize(1);
  Column pk = Column::ForField(Int64Field(100, "id", true));
  Column group = Column::ForField(Int64Field(101, "g", false));
  int64_t r = 0;
  for (const auto& [key, d, g] : hits) {
    pk.AppendFixed(&key);
    group.AppendFixed(&g);
    part.hits[0].push_back(Hit{d, PrimaryKey(key), HitSource{0, r++}});
  }
  part.rows.columns.push_back(std::move(pk));
  part.rows.columns.push_back(std::move(group));
  part.rows.num_rows = r;
  return part;
}

std::vector<int64_t> Keys(const SearchPart& p) {
  std::vector<int64_t> out;
  for (const Hit& h : p.hits[0]) out.push_back(std::get<int64_t>(h.pk));
  return out;
}

TEST(SearchPartTest, TopKAcrossPartsCarriesEachHitsRow) {
  PartSpec spec;
  spec.k = 3;
  std::vector<SearchPart> parts;
  parts.push_back(PartOf({{1, 0.1f, 7}, {2, 0.5f, 8}}));
  parts.push_back(PartOf({{3, 0.2f, 9}, {4, 0.3f, 7}, {1, 0.9f, 7}}));  // key 1 again: the better copy wins
  auto got = ReduceParts(std::move(parts), spec);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(Keys(*got), (std::vector<int64_t>{1, 3, 4}));
  const Column* g = got->rows.Find(FieldId(101));
  ASSERT_NE(g, nullptr);
  std::vector<int64_t> groups;
  for (const Hit& h : got->hits[0]) groups.push_back(g->Get<int64_t>(h.source.row));
  EXPECT_EQ(groups, (std::vector<int64_t>{7, 9, 7}));
}

// A group whose best hit is in one part may rank last in another part: the
// lower levels keep every group's best group_size hits, only the last level
// cuts to the best groups, so the result equals grouping all hits at once.
TEST(SearchPartTest, GroupsAcrossPartsMatchGroupingAllHits) {
  // Node A: group 5's best hit, then groups 1 and 2.
  SearchPart a = PartOf({{10, 0.10f, 5}, {11, 0.20f, 1}, {12, 0.30f, 2}, {13, 0.90f, 5}});
  // Node B holds groups 3, 4 and 6 first; group 5's next-best hit comes last there.
  std::vector<SearchPart> node_b;
  node_b.push_back(PartOf({{20, 0.15f, 3}, {22, 0.17f, 6}, {23, 0.25f, 5}}));
  node_b.push_back(PartOf({{21, 0.16f, 4}}));
  PartSpec lower;  // a delegator or a query node: no group is cut
  lower.group_field = FieldId(101);
  lower.group_size = 2;
  lower.k = 2;
  auto b = ReduceParts(std::move(node_b), lower);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(Keys(*b), (std::vector<int64_t>{20, 21, 22, 23}));
  PartSpec last;
  last.group_field = lower.group_field;
  last.group_size = lower.group_size;
  last.k = lower.k;
  last.groups = 2;  // the proxy: the best 2 groups, 2 hits each
  std::vector<SearchPart> shards;
  shards.push_back(std::move(a));
  shards.push_back(std::move(*b));
  auto got = ReduceParts(std::move(shards), last);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  // All hits by distance: 10(g5) 20(g3) 21(g4) 22(g6) 11(g1) 23(g5) ...; best
  // two groups are 5 and 3; group 5 keeps 10 and 23 (23 is worse than 0.9's 13).
  EXPECT_EQ(Keys(*got), (std::vector<int64_t>{10, 20, 23}));
}

}  // namespace
}  // namespace kite
