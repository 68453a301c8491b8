#include "roles/coordinator/coordinator.h"

#include <stdlib.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace kite {
namespace {

// ------------------------------------------------------------------ helpers

FieldSchema MakeField(std::string name, DataType type, std::map<std::string, std::string> tp = {}) {
  FieldSchema f;
  f.name = std::move(name);
  f.type = type;
  f.type_params = std::move(tp);
  return f;
}

// id (Int64 pk), title (VarChar 64), vec (FloatVector dim 8).
CollectionSchema MakeSchema(const std::string& name, bool dynamic = false) {
  CollectionSchema s;
  s.name = name;
  s.enable_dynamic_field = dynamic;
  FieldSchema pk = MakeField("id", DataType::kInt64);
  pk.is_primary = true;
  s.fields.push_back(pk);
  s.fields.push_back(MakeField("title", DataType::kVarChar, {{"max_length", "64"}}));
  s.fields.push_back(MakeField("vec", DataType::kFloatVector, {{"dim", "8"}}));
  return s;
}

CreateCollectionParams Params(const std::string& name, const std::string& db = "", bool dynamic = false) {
  CreateCollectionParams p;
  p.db = db;
  p.schema = MakeSchema(name, dynamic);
  return p;
}

CreateIndexParams IndexOn(const std::string& coll, const std::string& field,
                          std::map<std::string, std::string> params = {{"index_type", "AUTOINDEX"}},
                          const std::string& db = "", const std::string& index_name = "") {
  CreateIndexParams p;
  p.db = db;
  p.collection = coll;
  p.field_name = field;
  p.index_name = index_name;
  p.params = std::move(params);
  return p;
}

std::vector<std::string> Names(const std::vector<CollectionView>& v) {
  std::vector<std::string> out;
  for (const auto& c : v) out.push_back(c.info.schema.name);
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> PartitionNames(const CollectionInfo& c) {
  std::vector<std::string> out;
  for (const auto& p : c.partitions) out.push_back(p.name);
  std::sort(out.begin(), out.end());
  return out;
}

bool HasDb(CoordinatorApi* c, const std::string& name) {
  auto dbs = c->ListDatabases();
  EXPECT_TRUE(dbs.ok()) << dbs.status().ToString();
  if (!dbs.ok()) return false;
  return std::any_of(dbs->begin(), dbs->end(), [&](const DatabaseInfo& d) { return d.name == name; });
}

#define ASSERT_OK(expr)                                      \
  do {                                                       \
    ::kite::Status _st = (expr);                             \
    ASSERT_TRUE(_st.ok()) << #expr << ": " << _st.ToString(); \
  } while (0)
#define EXPECT_OK(expr)                                      \
  do {                                                       \
    ::kite::Status _st = (expr);                             \
    EXPECT_TRUE(_st.ok()) << #expr << ": " << _st.ToString(); \
  } while (0)
// Expects a failing status with the given reason.
#define EXPECT_REASON(expr, r)                                                       \
  do {                                                                               \
    ::kite::Status _st = (expr);                                                     \
    EXPECT_FALSE(_st.ok()) << #expr << " unexpectedly succeeded";                    \
    EXPECT_TRUE(_st.Is(r)) << #expr << ": " << _st.ToString() << " (reason "         \
                           << static_cast<int>(_st.reason()) << ")";                 \
  } while (0)
#define EXPECT_CODE(expr, c)                                                         \
  do {                                                                               \
    ::kite::Status _st = (expr);                                                     \
    EXPECT_EQ(_st.code(), c) << #expr << ": " << _st.ToString();                     \
  } while (0)

class CoordinatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    meta_ = NewMemoryMetaStore();
    Reopen();
  }
  // Opens a new coordinator over the same meta store (the old one is closed first).
  void Reopen(const Limits& limits = Limits{}) {
    coord_.reset();
    auto r = OpenCoordinator(meta_.get(), limits);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    coord_ = std::move(r).value();
  }
  CollectionView Describe(const std::string& name, const std::string& db = "") {
    auto r = coord_->DescribeCollection(db, name);
    EXPECT_TRUE(r.ok()) << name << ": " << r.status().ToString();
    return r.ok() ? *r : CollectionView{};
  }

  std::unique_ptr<MetaStore> meta_;
  std::unique_ptr<CoordinatorApi> coord_;
};

// -------------------------------------------------------------- collections

TEST_F(CoordinatorTest, CreateDescribeListDrop) {
  ASSERT_OK(coord_->CreateCollection(Params("c1")));
  ASSERT_OK(coord_->CreateCollection(Params("c2")));

  CollectionView v = Describe("c1");
  EXPECT_EQ(v.info.schema.name, "c1");
  EXPECT_EQ(v.db_name, "default");
  EXPECT_EQ(v.info.db_id, kDefaultDatabaseId);
  EXPECT_GT(v.info.id.value, 0);
  EXPECT_GT(v.info.created_ts, 0u);
  EXPECT_EQ(v.info.num_shards, 1);
  EXPECT_EQ(v.info.channels.size(), 1u);
  EXPECT_TRUE(v.aliases.empty());
  ASSERT_EQ(v.info.schema.fields.size(), 3u);
  EXPECT_EQ(v.info.load_state(), LoadState::kNotLoad);

  // "" and "default" name the same database.
  CollectionView v2 = Describe("c1", "default");
  EXPECT_EQ(v2.info.id, v.info.id);
  EXPECT_NE(Describe("c2").info.id, v.info.id);

  auto list = coord_->ListCollections("");
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  EXPECT_EQ(Names(*list), (std::vector<std::string>{"c1", "c2"}));

  ASSERT_OK(coord_->DropCollection("", "c1"));
  auto gone = coord_->DescribeCollection("", "c1");
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(gone.status().Is(Reason::kCollectionNotFound)) << gone.status().ToString();
  EXPECT_NE(gone.status().message().find("c1"), std::string::npos) << gone.status().message();

  list = coord_->ListCollections("default");
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(Names(*list), (std::vector<std::string>{"c2"}));
  // Dropping a missing collection succeeds, as in Milvus.
  EXPECT_OK(coord_->DropCollection("", "c1"));
}

TEST_F(CoordinatorTest, ShardsGetOneChannelEach) {
  CreateCollectionParams p = Params("sharded");
  p.num_shards = 3;
  p.consistency = ConsistencyLevel::kStrong;
  ASSERT_OK(coord_->CreateCollection(p));
  CollectionView v = Describe("sharded");
  EXPECT_EQ(v.info.num_shards, 3);
  EXPECT_EQ(v.info.consistency, ConsistencyLevel::kStrong);
  ASSERT_EQ(v.info.channels.size(), 3u);
  EXPECT_EQ(std::set<std::string>(v.info.channels.begin(), v.info.channels.end()).size(), 3u);
}

TEST_F(CoordinatorTest, CreateWithIdenticalSchemaIsIdempotent) {
  ASSERT_OK(coord_->CreateCollection(Params("c1")));
  CollectionId id = Describe("c1").info.id;
  EXPECT_OK(coord_->CreateCollection(Params("c1")));
  EXPECT_EQ(Describe("c1").info.id, id);
  auto list = coord_->ListCollections("");
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->size(), 1u);
}

TEST_F(CoordinatorTest, CreateWithIdenticalDynamicSchemaIsIdempotent) {
  // The stored schema gains the hidden "$meta" field; repeating the very same
  // request must still be recognised as identical.
  ASSERT_OK(coord_->CreateCollection(Params("dyn", "", /*dynamic=*/true)));
  CollectionId id = Describe("dyn").info.id;
  EXPECT_OK(coord_->CreateCollection(Params("dyn", "", /*dynamic=*/true)));
  EXPECT_EQ(Describe("dyn").info.id, id);
}

TEST_F(CoordinatorTest, CreateWithDifferentSchemaFails) {
  ASSERT_OK(coord_->CreateCollection(Params("c1")));
  CreateCollectionParams p = Params("c1");
  p.schema.fields[2].type_params["dim"] = "16";
  Status st = coord_->CreateCollection(p);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.ToString();
  EXPECT_NE(st.message().find("c1"), std::string::npos) << st.message();

  CreateCollectionParams shards = Params("c1");
  shards.num_shards = 2;
  EXPECT_CODE(coord_->CreateCollection(shards), StatusCode::kInvalidArgument);

  EXPECT_EQ(Describe("c1").info.schema.fields[2].dim(), 8);
}

TEST_F(CoordinatorTest, FieldIdsStartAt100) {
  ASSERT_OK(coord_->CreateCollection(Params("c1")));
  CollectionView v = Describe("c1");
  ASSERT_EQ(v.info.schema.fields.size(), 3u);
  EXPECT_EQ(v.info.schema.fields[0].id, FieldId(100));
  EXPECT_EQ(v.info.schema.fields[0].name, "id");
  EXPECT_EQ(v.info.schema.fields[1].id, FieldId(101));
  EXPECT_EQ(v.info.schema.fields[2].id, FieldId(102));
  EXPECT_EQ(v.info.schema.DynamicField(), nullptr);
  EXPECT_EQ(v.info.schema.FindField(kDynamicFieldName), nullptr);
}

TEST_F(CoordinatorTest, DynamicFieldIsAdded) {
  ASSERT_OK(coord_->CreateCollection(Params("dyn", "", /*dynamic=*/true)));
  CollectionView v = Describe("dyn");
  EXPECT_TRUE(v.info.schema.enable_dynamic_field);
  ASSERT_EQ(v.info.schema.fields.size(), 4u);
  const FieldSchema* meta = v.info.schema.DynamicField();
  ASSERT_NE(meta, nullptr);
  EXPECT_EQ(meta->name, "$meta");
  EXPECT_EQ(meta->type, DataType::kJson);
  EXPECT_TRUE(meta->is_dynamic);
  EXPECT_FALSE(meta->is_primary);
  EXPECT_EQ(meta->id, FieldId(103));
}

TEST_F(CoordinatorTest, DefaultPartitionExists) {
  ASSERT_OK(coord_->CreateCollection(Params("c1")));
  CollectionView v = Describe("c1");
  ASSERT_EQ(v.info.partitions.size(), 1u);
  EXPECT_EQ(v.info.partitions[0].name, "_default");
  EXPECT_GT(v.info.partitions[0].id.value, 0);
  EXPECT_FALSE(v.info.partitions[0].loaded);
  EXPECT_NE(v.info.FindPartition("_default"), nullptr);
  EXPECT_EQ(v.info.num_partitions, 0);
}

TEST_F(CoordinatorTest, PartitionKeyCollectionGetsDefaultPartitions) {
  CreateCollectionParams p = Params("pk_coll");
  p.schema.fields.push_back(MakeField("tenant", DataType::kInt64));
  p.schema.fields.back().is_partition_key = true;
  ASSERT_OK(coord_->CreateCollection(p));
  CollectionView v = Describe("pk_coll");
  EXPECT_EQ(v.info.num_partitions, 16);
  EXPECT_EQ(v.info.partitions.size(), 16u);
  std::set<int64_t> ids;
  for (const auto& part : v.info.partitions) ids.insert(part.id.value);
  EXPECT_EQ(ids.size(), 16u);
  EXPECT_CODE(coord_->CreatePartition("", "pk_coll", "p1"), StatusCode::kInvalidArgument);
  EXPECT_CODE(coord_->DropPartition("", "pk_coll", "_default_0"), StatusCode::kInvalidArgument);
}

TEST_F(CoordinatorTest, DescribeUnknownCollection) {
  auto r = coord_->DescribeCollection("", "nope");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().Is(Reason::kCollectionNotFound));
  EXPECT_REASON(coord_->Load("", "nope", {}), Reason::kCollectionNotFound);
  EXPECT_REASON(coord_->CreatePartition("", "nope", "p"), Reason::kCollectionNotFound);
  EXPECT_REASON(coord_->CreateIndex(IndexOn("nope", "vec")), Reason::kCollectionNotFound);
  EXPECT_REASON(coord_->AlterCollection("", "nope", {{"a", "b"}}, {}), Reason::kCollectionNotFound);
}

TEST_F(CoordinatorTest, CollectionLimit) {
  Limits l;
  l.max_collection_num = 2;
  Reopen(l);
  ASSERT_OK(coord_->CreateCollection(Params("c1")));
  ASSERT_OK(coord_->CreateCollection(Params("c2")));
  Status st = coord_->CreateCollection(Params("c3"));
  EXPECT_EQ(st.code(), StatusCode::kResourceExhausted) << st.ToString();
  EXPECT_TRUE(st.Is(Reason::kCollectionLimit));
}

TEST_F(CoordinatorTest, DatabaseMaxCollectionsProperty) {
  ASSERT_OK(coord_->CreateDatabase("small", {{"database.max.collections", "1"}}));
  ASSERT_OK(coord_->CreateCollection(Params("c1", "small")));
  EXPECT_REASON(coord_->CreateCollection(Params("c2", "small")), Reason::kCollectionLimit);
  EXPECT_OK(coord_->CreateCollection(Params("c2")));  // other databases are unaffected
}

// --------------------------------------------------------------- partitions

TEST_F(CoordinatorTest, CreateAndDropPartition) {
  ASSERT_OK(coord_->CreateCollection(Params("c1")));
  ASSERT_OK(coord_->CreatePartition("", "c1", "p1"));
  EXPECT_EQ(PartitionNames(Describe("c1").info), (std::vector<std::string>{"_default", "p1"}));
  // Creating it again is a no-op.
  EXPECT_OK(coord_->CreatePartition("", "c1", "p1"));
  EXPECT_EQ(Describe("c1").info.partitions.size(), 2u);

  EXPECT_CODE(coord_->CreatePartition("", "c1", "bad name"), StatusCode::kInvalidArgument);
  EXPECT_CODE(coord_->CreatePartition("", "c1", ""), StatusCode::kInvalidArgument);

  ASSERT_OK(coord_->DropPartition("", "c1", "p1"));
  EXPECT_EQ(PartitionNames(Describe("c1").info), (std::vector<std::string>{"_default"}));
  EXPECT_OK(coord_->DropPartition("", "c1", "p1"));  // missing: no-op

  Status st = coord_->DropPartition("", "c1", "_default");
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.ToString();
  EXPECT_NE(st.message().find("default partition"), std::string::npos) << st.message();
  EXPECT_EQ(Describe("c1").info.partitions.size(), 1u);
}

TEST_F(CoordinatorTest, PartitionLimit) {
  Limits l;
  l.max_partition_num = 2;
  Reopen(l);
  ASSERT_OK(coord_->CreateCollection(Params("c1")));
  ASSERT_OK(coord_->CreatePartition("", "c1", "p1"));
  Status st = coord_->CreatePartition("", "c1", "p2");
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("2"), std::string::npos) << st.message();
  EXPECT_EQ(Describe("c1").info.partitions.size(), 2u);
}

TEST_F(CoordinatorTest, DropLoadedPartitionFails) {
  ASSERT_OK(coord_->CreateCollection(Params("c1")));
  ASSERT_OK(coord_->CreatePartition("", "c1", "p1"));
  ASSERT_OK(coord_->CreateIndex(IndexOn("c1", "vec")));
  ASSERT_OK(coord_->Load("", "c1", {"p1"}));
  Status st = coord_->DropPartition("", "c1", "p1");
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.ToString();
  EXPECT_NE(st.message().find("loaded"), std::string::npos) << st.message();
  EXPECT_NE(Describe("c1").info.FindPartition("p1"), nullptr);

  ASSERT_OK(coord_->Release("", "c1", {"p1"}));
  EXPECT_OK(coord_->DropPartition("", "c1", "p1"));
  EXPECT_EQ(Describe("c1").info.FindPartition("p1"), nullptr);
}

// ------------------------------------------------------------------ aliases

TEST_F(CoordinatorTest, AliasLifecycle) {
  ASSERT_OK(coord_->CreateCollection(Params("c1")));
  ASSERT_OK(coord_->CreateCollection(Params("c2")));
  ASSERT_OK(coord_->CreateAlias("", "c1", "a1"));
  EXPECT_OK(coord_->CreateAlias("", "c1", "a1"));  // same target again: no-op

  auto a = coord_->DescribeAlias("", "a1");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->alias, "a1");
  EXPECT_EQ(a->collection, "c1");
  EXPECT_EQ(a->db_name, "default");

  // Describe via the alias gives the collection, which lists its aliases.
  CollectionView via = Describe("a1");
  EXPECT_EQ(via.info.schema.name, "c1");
  EXPECT_EQ(via.info.id, Describe("c1").info.id);
  EXPECT_EQ(via.aliases, (std::vector<std::string>{"a1"}));

  auto aliases = coord_->ListAliases("", "c1");
  ASSERT_TRUE(aliases.ok()) << aliases.status().ToString();
  EXPECT_EQ(*aliases, (std::vector<std::string>{"a1"}));
  auto all = coord_->ListAliases("", "");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(*all, (std::vector<std::string>{"a1"}));

  // Pointing an existing alias at another collection needs AlterAlias.
  EXPECT_REASON(coord_->CreateAlias("", "c2", "a1"), Reason::kAliasExists);
  ASSERT_OK(coord_->AlterAlias("", "c2", "a1"));
  a = coord_->DescribeAlias("", "a1");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->collection, "c2");
  EXPECT_EQ(Describe("a1").info.schema.name, "c2");
  EXPECT_TRUE(Describe("c1").aliases.empty());
  EXPECT_EQ(Describe("c2").aliases, (std::vector<std::string>{"a1"}));

  ASSERT_OK(coord_->DropAlias("", "a1"));
  auto gone = coord_->DescribeAlias("", "a1");
  ASSERT_FALSE(gone.ok());
  EXPECT_TRUE(gone.status().Is(Reason::kAliasNotFound)) << gone.status().ToString();
  EXPECT_REASON(coord_->DescribeCollection("", "a1").status(), Reason::kCollectionNotFound);
  EXPECT_OK(coord_->DropAlias("", "a1"));  // idempotent
}

TEST_F(CoordinatorTest, AliasErrors) {
  ASSERT_OK(coord_->CreateCollection(Params("c1")));
  ASSERT_OK(coord_->CreateCollection(Params("c2")));
  // Alias equal to a collection name.
  Status st = coord_->CreateAlias("", "c1", "c2");
  EXPECT_TRUE(st.Is(Reason::kAliasNameConflict)) << st.ToString();
  EXPECT_NE(st.message().find("c2"), std::string::npos) << st.message();
  // Collection name equal to an alias.
  ASSERT_OK(coord_->CreateAlias("", "c1", "a1"));
  EXPECT_REASON(coord_->CreateCollection(Params("a1")), Reason::kAliasNameConflict);
  // Alias on an alias, on a missing collection; altering a missing alias.
  EXPECT_CODE(coord_->CreateAlias("", "a1", "a2"), StatusCode::kInvalidArgument);
  EXPECT_REASON(coord_->CreateAlias("", "nope", "a3"), Reason::kCollectionNotFound);
  EXPECT_REASON(coord_->AlterAlias("", "c2", "missing"), Reason::kAliasNotFound);
  EXPECT_REASON(coord_->AlterAlias("", "nope", "a1"), Reason::kCollectionNotFound);
  // Invalid alias names.
  EXPECT_REASON(coord_->CreateAlias("", "c1", "1alias"), Reason::kInvalidName);
  // A collection with aliases cannot be dropped; nor can one be dropped via an alias.
  EXPECT_CODE(coord_->DropCollection("", "c1"), StatusCode::kInvalidArgument);
  EXPECT_CODE(coord_->DropCollection("", "a1"), StatusCode::kInvalidArgument);
  EXPECT_EQ(Describe("c1").info.schema.name, "c1");
  ASSERT_OK(coord_->DropAlias("", "a1"));
  EXPECT_OK(coord_->DropCollection("", "c1"));
  EXPECT_REASON(coord_->DescribeCollection("", "c1").status(), Reason::kCollectionNotFound);
}

TEST_F(CoordinatorTest, AliasesAreScopedToTheirDatabase) {
  ASSERT_OK(coord_->CreateDatabase("db1", {}));
  ASSERT_OK(coord_->CreateCollection(Params("c1")));
  ASSERT_OK(coord_->CreateCollection(Params("c1", "db1")));
  ASSERT_OK(coord_->CreateAlias("", "c1", "a"));
  ASSERT_OK(coord_->CreateAlias("db1", "c1", "a"));
  EXPECT_EQ(Describe("a").info.id, Describe("c1").info.id);
  EXPECT_EQ(Describe("a", "db1").info.id, Describe("c1", "db1").info.id);
  EXPECT_NE(Describe("a").info.id, Describe("a", "db1").info.id);
  auto d = coord_->DescribeAlias("db1", "a");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->db_name, "db1");
}

// ---------------------------------------------------------------- databases

TEST_F(CoordinatorTest, DatabaseLifecycle) {
  EXPECT_TRUE(HasDb(coord_.get(), "default"));
  ASSERT_OK(coord_->CreateDatabase("db1", {{"k", "v"}}));
  EXPECT_TRUE(HasDb(coord_.get(), "db1"));
  auto d = coord_->DescribeDatabase("db1");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->name, "db1");
  EXPECT_NE(d->id, kDefaultDatabaseId);
  EXPECT_EQ(d->properties.at("k"), "v");

  EXPECT_CODE(coord_->CreateDatabase("db1", {}), StatusCode::kInvalidArgument);  // exists
  EXPECT_REASON(coord_->CreateDatabase("1db", {}), Reason::kInvalidDatabaseName);
  EXPECT_REASON(coord_->CreateDatabase("my-db", {}), Reason::kInvalidDatabaseName);

  // Same collection name in two databases: two collections.
  ASSERT_OK(coord_->CreateCollection(Params("c1", "db1")));
  ASSERT_OK(coord_->CreateCollection(Params("c1")));
  CollectionView in_db1 = Describe("c1", "db1");
  EXPECT_EQ(in_db1.db_name, "db1");
  EXPECT_EQ(in_db1.info.db_id, d->id);
  EXPECT_NE(in_db1.info.id, Describe("c1").info.id);
  auto list = coord_->ListCollections("db1");
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(Names(*list), (std::vector<std::string>{"c1"}));

  // A non-empty database cannot be dropped.
  Status st = coord_->DropDatabase("db1");
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.ToString();
  EXPECT_NE(st.message().find("db1"), std::string::npos) << st.message();
  EXPECT_TRUE(HasDb(coord_.get(), "db1"));

  ASSERT_OK(coord_->DropCollection("db1", "c1"));
  ASSERT_OK(coord_->DropDatabase("db1"));
  EXPECT_FALSE(HasDb(coord_.get(), "db1"));
  EXPECT_REASON(coord_->DescribeDatabase("db1").status(), Reason::kDatabaseNotFound);
  EXPECT_OK(coord_->DropDatabase("db1"));  // missing: no-op
  // The default database's collection is untouched.
  EXPECT_EQ(Describe("c1").info.schema.name, "c1");
}

TEST_F(CoordinatorTest, DefaultDatabaseCannotBeDropped) {
  Status st = coord_->DropDatabase("default");
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.ToString();
  EXPECT_TRUE(HasDb(coord_.get(), "default"));
}

TEST_F(CoordinatorTest, DropDatabaseWithEmptyNameDoesNotDropDefault) {
  // An empty database argument means "default" (coordinator.h), and the
  // default database can never be dropped; Milvus rejects the empty name.
  Status st = coord_->DropDatabase("");
  EXPECT_FALSE(st.ok()) << "DropDatabase(\"\") succeeded";
  EXPECT_TRUE(HasDb(coord_.get(), "default"));
  EXPECT_OK(coord_->CreateCollection(Params("still_works")));
}

TEST_F(CoordinatorTest, UnknownDatabase) {
  EXPECT_REASON(coord_->DescribeDatabase("ghost").status(), Reason::kDatabaseNotFound);
  EXPECT_REASON(coord_->CreateCollection(Params("c1", "ghost")), Reason::kDatabaseNotFound);
  EXPECT_REASON(coord_->ListCollections("ghost").status(), Reason::kDatabaseNotFound);
  EXPECT_REASON(coord_->DescribeCollection("ghost", "c1").status(), Reason::kDatabaseNotFound);
  EXPECT_REASON(coord_->DropCollection("ghost", "c1"), Reason::kDatabaseNotFound);
  EXPECT_REASON(coord_->CreateAlias("ghost", "c1", "a"), Reason::kDatabaseNotFound);
  EXPECT_REASON(coord_->AlterDatabase("ghost", {{"a", "b"}}, {}), Reason::kDatabaseNotFound);
  Status st = coord_->DescribeDatabase("ghost").status();
  EXPECT_NE(st.message().find("ghost"), std::string::npos) << st.message();
}

TEST_F(CoordinatorTest, AlterDatabase) {
  ASSERT_OK(coord_->CreateDatabase("db1", {{"a", "1"}, {"b", "2"}}));
  // Milvus's rootcoord: setting and deleting in one call, or neither, is refused.
  EXPECT_CODE(coord_->AlterDatabase("db1", {{"a", "10"}}, {"b"}), StatusCode::kInvalidArgument);
  EXPECT_CODE(coord_->AlterDatabase("db1", {}, {}), StatusCode::kInvalidArgument);
  ASSERT_OK(coord_->AlterDatabase("db1", {{"a", "10"}, {"c", "3"}}, {}));
  ASSERT_OK(coord_->AlterDatabase("db1", {}, {"b"}));
  auto d = coord_->DescribeDatabase("db1");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->properties, (std::map<std::string, std::string>{{"a", "10"}, {"c", "3"}}));
}

TEST_F(CoordinatorTest, DatabaseLimit) {
  Limits l;
  l.max_database_num = 3;  // default + 2
  Reopen(l);
  ASSERT_OK(coord_->CreateDatabase("db1", {}));
  ASSERT_OK(coord_->CreateDatabase("db2", {}));
  Status st = coord_->CreateDatabase("db3", {});
  EXPECT_EQ(st.code(), StatusCode::kResourceExhausted) << st.ToString();
  EXPECT_TRUE(st.Is(Reason::kDatabaseLimit));
  EXPECT_FALSE(HasDb(coord_.get(), "db3"));
}

// ----------------------------------------------------------- rename / alter

TEST_F(CoordinatorTest, RenameCollection) {
  ASSERT_OK(coord_->CreateCollection(Params("old")));
  ASSERT_OK(coord_->CreateCollection(Params("other")));
  CollectionId id = Describe("old").info.id;
  ASSERT_OK(coord_->RenameCollection("", "old", "", "fresh"));
  EXPECT_REASON(coord_->DescribeCollection("", "old").status(), Reason::kCollectionNotFound);
  CollectionView v = Describe("fresh");
  EXPECT_EQ(v.info.id, id);
  EXPECT_EQ(v.info.schema.name, "fresh");
  EXPECT_GT(v.info.update_ts, v.info.created_ts);

  EXPECT_CODE(coord_->RenameCollection("", "fresh", "", "other"), StatusCode::kInvalidArgument);
  EXPECT_REASON(coord_->RenameCollection("", "fresh", "", "1bad"), Reason::kInvalidName);
  EXPECT_REASON(coord_->RenameCollection("", "missing", "", "x"), Reason::kCollectionNotFound);
  // The old name is free again.
  EXPECT_OK(coord_->CreateCollection(Params("old")));
  EXPECT_NE(Describe("old").info.id, id);
}

TEST_F(CoordinatorTest, RenameCollectionAcrossDatabases) {
  ASSERT_OK(coord_->CreateDatabase("db2", {}));
  ASSERT_OK(coord_->CreateCollection(Params("c1")));
  CollectionId id = Describe("c1").info.id;
  ASSERT_OK(coord_->RenameCollection("", "c1", "db2", "moved"));
  EXPECT_REASON(coord_->DescribeCollection("", "c1").status(), Reason::kCollectionNotFound);
  CollectionView v = Describe("moved", "db2");
  EXPECT_EQ(v.info.id, id);
  EXPECT_EQ(v.db_name, "db2");
  EXPECT_REASON(coord_->RenameCollection("", "x", "ghost", "y"), Reason::kDatabaseNotFound);
  // A collection with aliases cannot change database.
  ASSERT_OK(coord_->CreateAlias("db2", "moved", "al"));
  EXPECT_CODE(coord_->RenameCollection("db2", "moved", "default", "back"), StatusCode::kInvalidArgument);
}

TEST_F(CoordinatorTest, AlterCollectionProperties) {
  ASSERT_OK(coord_->CreateCollection(Params("c1")));
  ASSERT_OK(coord_->AlterCollection("", "c1", {{"collection.ttl.seconds", "60"}, {"custom", "x"}}, {}));
  CollectionView v = Describe("c1");
  EXPECT_EQ(v.info.properties.at("collection.ttl.seconds"), "60");
  EXPECT_EQ(v.info.properties.at("custom"), "x");
  EXPECT_GT(v.info.update_ts, v.info.created_ts);

  ASSERT_OK(coord_->AlterCollection("", "c1", {}, {"custom", "absent"}));
  v = Describe("c1");
  EXPECT_EQ(v.info.properties.count("custom"), 0u);
  EXPECT_EQ(v.info.properties.at("collection.ttl.seconds"), "60");

  Status st = coord_->AlterCollection("", "c1", {{"collection.ttl.seconds", "-5"}}, {});
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("-5"), std::string::npos) << st.message();
  EXPECT_CODE(coord_->AlterCollection("", "c1", {{"collection.ttl.seconds", "soon"}}, {}),
              StatusCode::kInvalidArgument);
  EXPECT_CODE(coord_->AlterCollection("", "c1", {{"a", "b"}}, {"c"}), StatusCode::kInvalidArgument);
  EXPECT_EQ(Describe("c1").info.properties.at("collection.ttl.seconds"), "60");

  // Via an alias.
  ASSERT_OK(coord_->CreateAlias("", "c1", "al"));
  ASSERT_OK(coord_->AlterCollection("", "al", {{"via", "alias"}}, {}));
  EXPECT_EQ(Describe("c1").info.properties.at("via"), "alias");
}

TEST_F(CoordinatorTest, MmapCannotBeAlteredWhileLoaded) {
  ASSERT_OK(coord_->CreateCollection(Params("c1")));
  ASSERT_OK(coord_->CreateIndex(IndexOn("c1", "vec")));
  ASSERT_OK(coord_->Load("", "c1", {}));
  // Milvus: merr.WrapErrCollectionLoaded (104), for lazy load too.
  EXPECT_REASON(coord_->AlterCollection("", "c1", {{"mmap.enabled", "true"}}, {}), Reason::kCollectionLoaded);
  EXPECT_REASON(coord_->AlterCollection("", "c1", {{"lazyload.enabled", "true"}}, {}), Reason::kCollectionLoaded);
  EXPECT_REASON(coord_->AlterCollection("", "c1", {}, {"mmap.enabled"}), Reason::kCollectionLoaded);
  EXPECT_EQ(Describe("c1").info.properties.count("mmap.enabled"), 0u);
  ASSERT_OK(coord_->Release("", "c1", {}));
  EXPECT_OK(coord_->AlterCollection("", "c1", {{"mmap.enabled", "true"}}, {}));
}

TEST_F(CoordinatorTest, CreateCollectionKeepsProperties) {
  CreateCollectionParams p = Params("c1");
  p.properties = {{"collection.ttl.seconds", "10"}};
  ASSERT_OK(coord_->CreateCollection(p));
  EXPECT_EQ(Describe("c1").info.properties, p.properties);
}

// ------------------------------------------------------------------ indexes

TEST_F(CoordinatorTest, AutoIndexResolvesToHnsw) {
  ASSERT_OK(coord_->CreateCollection(Params("c1")));
  ASSERT_OK(coord_->CreateIndex(IndexOn("c1", "vec", {{"index_type", "AUTOINDEX"}})));
  auto idx = coord_->DescribeIndex("", "c1", "", "");
  ASSERT_TRUE(idx.ok()) << idx.status().ToString();
  ASSERT_EQ(idx->size(), 1u);
  const IndexInfo& i = (*idx)[0];
  EXPECT_EQ(i.name, "vec");  // defaults to the field name
  EXPECT_EQ(i.field_id, FieldId(102));
  EXPECT_EQ(i.collection_id, Describe("c1").info.id);
  EXPECT_GT(i.id.value, 0);
  EXPECT_EQ(i.user_params, (std::map<std::string, std::string>{{"index_type", "AUTOINDEX"}}));
  EXPECT_EQ(i.resolved_params.at("index_type"), "HNSW");
  EXPECT_EQ(i.resolved_params.at("M"), "18");
  EXPECT_EQ(i.resolved_params.at("efConstruction"), "240");
  EXPECT_EQ(i.resolved_params.at("metric_type"), "COSINE");
}

TEST_F(CoordinatorTest, IndexDuplicates) {
  ASSERT_OK(coord_->CreateCollection(Params("c1")));
  ASSERT_OK(coord_->CreateIndex(IndexOn("c1", "vec")));
  // Identical request again: no-op.
  EXPECT_OK(coord_->CreateIndex(IndexOn("c1", "vec")));
  // A distinct index on the same field.
  Status st = coord_->CreateIndex(IndexOn("c1", "vec", {{"index_type", "HNSW"}, {"metric_type", "L2"}}));
  EXPECT_EQ(st.code(), StatusCode::kAlreadyExists) << st.ToString();
  EXPECT_TRUE(st.Is(Reason::kIndexDuplicate)) << st.ToString();
  EXPECT_REASON(coord_->CreateIndex(IndexOn("c1", "vec", {{"index_type", "AUTOINDEX"}}, "", "other_name")),
                Reason::kIndexDuplicate);
  // The same index name on another field.
  EXPECT_REASON(coord_->CreateIndex(IndexOn("c1", "title", {{"index_type", "INVERTED"}}, "", "vec")),
                Reason::kIndexDuplicate);
  auto idx = coord_->DescribeIndex("", "c1", "", "");
  ASSERT_TRUE(idx.ok());
  EXPECT_EQ(idx->size(), 1u);
}

TEST_F(CoordinatorTest, DescribeIndexFilters) {
  ASSERT_OK(coord_->CreateCollection(Params("c1")));
  auto none = coord_->DescribeIndex("", "c1", "", "");
  ASSERT_FALSE(none.ok());
  EXPECT_TRUE(none.status().Is(Reason::kIndexNotFound)) << none.status().ToString();

  ASSERT_OK(coord_->CreateIndex(IndexOn("c1", "vec", {{"index_type", "HNSW"}, {"metric_type", "l2"}, {"M", "8"}},
                                        "", "vec_idx")));
  ASSERT_OK(coord_->CreateIndex(IndexOn("c1", "title", {{"index_type", "INVERTED"}})));
  auto all = coord_->DescribeIndex("", "c1", "", "");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 2u);

  auto by_field = coord_->DescribeIndex("", "c1", "vec", "");
  ASSERT_TRUE(by_field.ok());
  ASSERT_EQ(by_field->size(), 1u);
  EXPECT_EQ((*by_field)[0].name, "vec_idx");
  EXPECT_EQ((*by_field)[0].resolved_params.at("metric_type"), "L2");
  EXPECT_EQ((*by_field)[0].resolved_params.at("M"), "8");

  auto by_name = coord_->DescribeIndex("", "c1", "", "title");
  ASSERT_TRUE(by_name.ok());
  ASSERT_EQ(by_name->size(), 1u);
  EXPECT_EQ((*by_name)[0].resolved_params.at("index_type"), "INVERTED");

  auto missing = coord_->DescribeIndex("", "c1", "", "nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(missing.status().Is(Reason::kIndexNotFound));
  EXPECT_NE(missing.status().message().find("nope"), std::string::npos) << missing.status().message();

  // Via an alias.
  ASSERT_OK(coord_->CreateAlias("", "c1", "al"));
  auto via = coord_->DescribeIndex("", "al", "vec", "");
  ASSERT_TRUE(via.ok()) << via.status().ToString();
  EXPECT_EQ(via->size(), 1u);
}

TEST_F(CoordinatorTest, CreateIndexErrors) {
  ASSERT_OK(coord_->CreateCollection(Params("c1", "", /*dynamic=*/true)));
  EXPECT_REASON(coord_->CreateIndex(IndexOn("c1", "missing")), Reason::kFieldNotFound);
  EXPECT_REASON(coord_->CreateIndex(IndexOn("c1", "$meta")), Reason::kFieldNotFound);
  EXPECT_CODE(coord_->CreateIndex(IndexOn("c1", "vec", {{"index_type", "NOT_AN_INDEX"}, {"metric_type", "L2"}})),
              StatusCode::kInvalidArgument);
  EXPECT_CODE(coord_->CreateIndex(IndexOn("c1", "vec", {{"index_type", "HNSW"}, {"metric_type", "HAMMING"}})),
              StatusCode::kInvalidArgument);
  EXPECT_REASON(coord_->DescribeIndex("", "c1", "", "").status(), Reason::kIndexNotFound);
}

TEST_F(CoordinatorTest, DropIndex) {
  ASSERT_OK(coord_->CreateCollection(Params("c1")));
  ASSERT_OK(coord_->CreateIndex(IndexOn("c1", "vec")));
  ASSERT_OK(coord_->DropIndex("", "c1", "vec", ""));
  EXPECT_REASON(coord_->DescribeIndex("", "c1", "", "").status(), Reason::kIndexNotFound);
  EXPECT_OK(coord_->DropIndex("", "c1", "vec", ""));  // missing: no-op
  // A different index can now be created on the field.
  EXPECT_OK(coord_->CreateIndex(IndexOn("c1", "vec", {{"index_type", "FLAT"}, {"metric_type", "IP"}})));
}

TEST_F(CoordinatorTest, DropIndexWhileLoadedFails) {
  ASSERT_OK(coord_->CreateCollection(Params("c1")));
  ASSERT_OK(coord_->CreateIndex(IndexOn("c1", "vec")));
  ASSERT_OK(coord_->Load("", "c1", {}));
  Status st = coord_->DropIndex("", "c1", "vec", "");
  EXPECT_FALSE(st.ok());
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition) << st.ToString();
  EXPECT_NE(st.message().find("release"), std::string::npos) << st.message();
  auto idx = coord_->DescribeIndex("", "c1", "vec", "");
  ASSERT_TRUE(idx.ok());
  EXPECT_EQ(idx->size(), 1u);
  ASSERT_OK(coord_->Release("", "c1", {}));
  EXPECT_OK(coord_->DropIndex("", "c1", "vec", ""));
}

TEST_F(CoordinatorTest, DropCollectionDropsItsIndexes) {
  ASSERT_OK(coord_->CreateCollection(Params("c1")));
  ASSERT_OK(coord_->CreateIndex(IndexOn("c1", "vec", {{"index_type", "HNSW"}, {"metric_type", "L2"}})));
  ASSERT_OK(coord_->DropCollection("", "c1"));
  ASSERT_OK(coord_->CreateCollection(Params("c1")));
  EXPECT_REASON(coord_->DescribeIndex("", "c1", "", "").status(), Reason::kIndexNotFound);
  // An index with different parameters is not a duplicate of the dropped one.
  EXPECT_OK(coord_->CreateIndex(IndexOn("c1", "vec", {{"index_type", "AUTOINDEX"}})));
}

TEST_F(CoordinatorTest, AlterIndex) {
  ASSERT_OK(coord_->CreateCollection(Params("c1")));
  ASSERT_OK(coord_->CreateIndex(IndexOn("c1", "vec")));
  ASSERT_OK(coord_->AlterIndex("", "c1", "vec", {{"mmap.enabled", "true"}}, {}));
  auto idx = coord_->DescribeIndex("", "c1", "", "vec");
  ASSERT_TRUE(idx.ok());
  EXPECT_EQ((*idx)[0].user_params.at("mmap.enabled"), "true");
  EXPECT_CODE(coord_->AlterIndex("", "c1", "vec", {{"M", "4"}}, {}), StatusCode::kInvalidArgument);
  EXPECT_REASON(coord_->AlterIndex("", "c1", "nope", {{"mmap.enabled", "true"}}, {}), Reason::kIndexNotFound);
}

// --------------------------------------------------------------------- load

TEST_F(CoordinatorTest, LoadWithoutIndexFails) {
  ASSERT_OK(coord_->CreateCollection(Params("c1")));
  Status st = coord_->Load("", "c1", {});
  EXPECT_EQ(st.code(), StatusCode::kNotFound) << st.ToString();
  EXPECT_TRUE(st.Is(Reason::kIndexNotFound)) << st.ToString();
  // No index at all: Milvus's index lookup answers first.
  EXPECT_EQ(st.message(), "index not found[collection=c1]");
  EXPECT_EQ(Describe("c1").info.load_state(), LoadState::kNotLoad);
  // An index on a scalar field is not enough: the vector field is named.
  ASSERT_OK(coord_->CreateIndex(IndexOn("c1", "title", {{"index_type", "INVERTED"}})));
  st = coord_->Load("", "c1", {});
  EXPECT_TRUE(st.Is(Reason::kIndexNotFound)) << st.ToString();
  EXPECT_NE(st.message().find("vec"), std::string::npos) << st.message();
}

TEST_F(CoordinatorTest, LoadReleaseProgress) {
  ASSERT_OK(coord_->CreateCollection(Params("c1")));
  ASSERT_OK(coord_->CreatePartition("", "c1", "p1"));
  ASSERT_OK(coord_->CreateIndex(IndexOn("c1", "vec")));

  auto prog = coord_->GetLoadProgress("", "c1", {});
  ASSERT_TRUE(prog.ok());
  EXPECT_EQ(prog->state, LoadState::kNotLoad);
  EXPECT_EQ(prog->progress, 0);

  ASSERT_OK(coord_->Load("", "c1", {}));
  prog = coord_->GetLoadProgress("", "c1", {});
  ASSERT_TRUE(prog.ok());
  EXPECT_EQ(prog->state, LoadState::kLoaded);
  EXPECT_EQ(prog->progress, 100);
  CollectionView v = Describe("c1");
  EXPECT_TRUE(v.info.load_requested);
  for (const auto& p : v.info.partitions) EXPECT_TRUE(p.loaded) << p.name;

  // A partition created while the collection is loaded is loaded too.
  ASSERT_OK(coord_->CreatePartition("", "c1", "p2"));
  const PartitionInfo* p2 = Describe("c1").info.FindPartition("p2");
  ASSERT_NE(p2, nullptr);
  EXPECT_TRUE(p2->loaded);

  ASSERT_OK(coord_->Release("", "c1", {}));
  prog = coord_->GetLoadProgress("", "c1", {});
  ASSERT_TRUE(prog.ok());
  EXPECT_EQ(prog->state, LoadState::kNotLoad);
  EXPECT_EQ(prog->progress, 0);
  v = Describe("c1");
  EXPECT_FALSE(v.info.load_requested);
  for (const auto& p : v.info.partitions) EXPECT_FALSE(p.loaded) << p.name;
}

TEST_F(CoordinatorTest, LoadPartitions) {
  ASSERT_OK(coord_->CreateCollection(Params("c1")));
  ASSERT_OK(coord_->CreatePartition("", "c1", "p1"));
  ASSERT_OK(coord_->CreateIndex(IndexOn("c1", "vec")));
  ASSERT_OK(coord_->Load("", "c1", {"p1"}));

  auto p1 = coord_->GetLoadProgress("", "c1", {"p1"});
  ASSERT_TRUE(p1.ok());
  EXPECT_EQ(p1->state, LoadState::kLoaded);
  EXPECT_EQ(p1->progress, 100);
  auto def = coord_->GetLoadProgress("", "c1", {"_default"});
  ASSERT_TRUE(def.ok());
  EXPECT_EQ(def->state, LoadState::kNotLoad);
  auto both = coord_->GetLoadProgress("", "c1", {"p1", "_default"});
  ASSERT_TRUE(both.ok());
  EXPECT_EQ(both->state, LoadState::kNotLoad);
  // A collection with a loaded partition reports Loaded.
  EXPECT_EQ(Describe("c1").info.load_state(), LoadState::kLoaded);
  EXPECT_FALSE(Describe("c1").info.load_requested);

  EXPECT_REASON(coord_->Load("", "c1", {"ghost"}), Reason::kPartitionNotFound);
  EXPECT_REASON(coord_->GetLoadProgress("", "c1", {"ghost"}).status(), Reason::kPartitionNotFound);
  EXPECT_REASON(coord_->Release("", "c1", {"ghost"}), Reason::kPartitionNotFound);

  ASSERT_OK(coord_->Load("", "c1", {"_default"}));
  both = coord_->GetLoadProgress("", "c1", {"p1", "_default"});
  ASSERT_TRUE(both.ok());
  EXPECT_EQ(both->state, LoadState::kLoaded);

  ASSERT_OK(coord_->Release("", "c1", {"p1"}));
  EXPECT_EQ(Describe("c1").info.load_state(), LoadState::kLoaded);  // _default still loaded
  ASSERT_OK(coord_->Release("", "c1", {"_default"}));
  EXPECT_EQ(Describe("c1").info.load_state(), LoadState::kNotLoad);
}

TEST_F(CoordinatorTest, LoadViaAlias) {
  ASSERT_OK(coord_->CreateCollection(Params("c1")));
  ASSERT_OK(coord_->CreateAlias("", "c1", "al"));
  ASSERT_OK(coord_->CreateIndex(IndexOn("al", "vec")));
  ASSERT_OK(coord_->Load("", "al", {}));
  EXPECT_EQ(Describe("c1").info.load_state(), LoadState::kLoaded);
  ASSERT_OK(coord_->Release("", "al", {}));
  EXPECT_EQ(Describe("c1").info.load_state(), LoadState::kNotLoad);
}

TEST_F(CoordinatorTest, TimestampsIncrease) {
  Timestamp prev = 0;
  for (int i = 0; i < 100; ++i) {
    auto ts = coord_->AllocTimestamp();
    ASSERT_TRUE(ts.ok());
    ASSERT_GT(*ts, prev);
    prev = *ts;
  }
  Reopen();
  auto ts = coord_->AllocTimestamp();
  ASSERT_TRUE(ts.ok());
  EXPECT_GT(*ts, prev);
}

TEST_F(CoordinatorTest, AllocIdsReservesDisjointRanges) {
  auto a = coord_->AllocIds(100);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  auto b = coord_->AllocIds(1);
  ASSERT_TRUE(b.ok());
  EXPECT_GE(*b, *a + 100);
  EXPECT_FALSE(coord_->AllocIds(0).ok());
  Reopen();
  auto c = coord_->AllocIds(1);
  ASSERT_TRUE(c.ok());
  EXPECT_GT(*c, *b);
}

TEST_F(CoordinatorTest, CollectionWithNonFiniteDefaultSurvivesReopen) {
  // A Double default of NaN/inf passes ValidateSchema (the proxy's check), so
  // the coordinator must be able to read the collection back after a restart.
  CreateCollectionParams p = Params("nan_default");
  p.schema.fields.push_back(MakeField("score", DataType::kDouble));
  p.schema.fields.back().default_value = std::numeric_limits<double>::quiet_NaN();
  if (!ValidateSchema(p.schema, Limits{}).ok()) GTEST_SKIP() << "non-finite defaults are rejected up front";
  ASSERT_OK(coord_->CreateCollection(p));
  coord_.reset();
  auto r = OpenCoordinator(meta_.get(), Limits{});
  ASSERT_TRUE(r.ok()) << "coordinator cannot restart: " << r.status().ToString();
  coord_ = std::move(r).value();
  const FieldSchema* f = Describe("nan_default").info.schema.FindField("score");
  ASSERT_NE(f, nullptr);
  ASSERT_TRUE(f->default_value && std::holds_alternative<double>(*f->default_value));
  EXPECT_TRUE(std::isnan(std::get<double>(*f->default_value)));
}

// ------------------------------------------------------------------ reopen

// Builds a catalog touching every kind of record.
void Populate(CoordinatorApi* c) {
  ASSERT_OK(c->CreateDatabase("db1", {{"owner", "me"}}));
  CreateCollectionParams p = Params("c1", "", /*dynamic=*/true);
  p.num_shards = 2;
  p.consistency = ConsistencyLevel::kSession;
  ASSERT_OK(c->CreateCollection(p));
  ASSERT_OK(c->CreateCollection(Params("c2", "db1")));
  ASSERT_OK(c->CreateCollection(Params("to_rename")));
  ASSERT_OK(c->CreateCollection(Params("to_drop")));
  ASSERT_OK(c->CreatePartition("", "c1", "p1"));
  ASSERT_OK(c->CreatePartition("", "c1", "p2"));
  ASSERT_OK(c->DropPartition("", "c1", "p2"));
  ASSERT_OK(c->CreateAlias("", "c1", "a1"));
  ASSERT_OK(c->CreateAlias("db1", "c2", "a2"));
  ASSERT_OK(c->CreateAlias("", "to_drop", "a3"));
  ASSERT_OK(c->DropAlias("", "a3"));
  ASSERT_OK(c->DropCollection("", "to_drop"));
  ASSERT_OK(c->AlterCollection("", "c1", {{"collection.ttl.seconds", "30"}}, {}));
  ASSERT_OK(c->RenameCollection("", "to_rename", "", "renamed"));
  ASSERT_OK(c->CreateIndex(IndexOn("c1", "vec")));
  ASSERT_OK(c->CreateIndex(IndexOn("c1", "title", {{"index_type", "INVERTED"}}, "", "title_idx")));
  ASSERT_OK(c->CreateIndex(IndexOn("c2", "vec", {{"index_type", "HNSW"}, {"metric_type", "IP"}}, "db1")));
  ASSERT_OK(c->Load("", "c1", {"p1"}));
  ASSERT_OK(c->Load("db1", "c2", {}));
}

// Checks everything Populate() did.
void Verify(CoordinatorApi* c) {
  auto dbs = c->ListDatabases();
  ASSERT_TRUE(dbs.ok());
  EXPECT_EQ(dbs->size(), 2u);
  auto db1 = c->DescribeDatabase("db1");
  ASSERT_TRUE(db1.ok()) << db1.status().ToString();
  EXPECT_EQ(db1->properties.at("owner"), "me");

  auto list = c->ListCollections("");
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(Names(*list), (std::vector<std::string>{"c1", "renamed"}));
  auto list1 = c->ListCollections("db1");
  ASSERT_TRUE(list1.ok());
  EXPECT_EQ(Names(*list1), (std::vector<std::string>{"c2"}));
  EXPECT_REASON(c->DescribeCollection("", "to_drop").status(), Reason::kCollectionNotFound);
  EXPECT_REASON(c->DescribeCollection("", "to_rename").status(), Reason::kCollectionNotFound);

  auto v = c->DescribeCollection("", "a1");  // via alias
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  const CollectionInfo& c1 = v->info;
  EXPECT_EQ(c1.schema.name, "c1");
  EXPECT_EQ(v->aliases, (std::vector<std::string>{"a1"}));
  EXPECT_EQ(c1.num_shards, 2);
  EXPECT_EQ(c1.channels.size(), 2u);
  EXPECT_EQ(c1.consistency, ConsistencyLevel::kSession);
  EXPECT_EQ(c1.properties.at("collection.ttl.seconds"), "30");
  EXPECT_EQ(PartitionNames(c1), (std::vector<std::string>{"_default", "p1"}));
  ASSERT_NE(c1.FindPartition("p1"), nullptr);
  EXPECT_TRUE(c1.FindPartition("p1")->loaded);
  EXPECT_FALSE(c1.FindPartition("_default")->loaded);
  ASSERT_NE(c1.schema.DynamicField(), nullptr);
  EXPECT_EQ(c1.schema.DynamicField()->id, FieldId(103));
  EXPECT_EQ(c1.schema.FindField("vec")->dim(), 8);

  auto a2 = c->DescribeAlias("db1", "a2");
  ASSERT_TRUE(a2.ok()) << a2.status().ToString();
  EXPECT_EQ(a2->collection, "c2");
  EXPECT_REASON(c->DescribeAlias("", "a3").status(), Reason::kAliasNotFound);

  auto idx = c->DescribeIndex("", "c1", "vec", "");
  ASSERT_TRUE(idx.ok()) << idx.status().ToString();
  ASSERT_EQ(idx->size(), 1u);
  EXPECT_EQ((*idx)[0].resolved_params.at("index_type"), "HNSW");
  EXPECT_EQ((*idx)[0].resolved_params.at("metric_type"), "COSINE");
  EXPECT_EQ((*idx)[0].user_params.at("index_type"), "AUTOINDEX");
  auto all = c->DescribeIndex("", "c1", "", "");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 2u);
  auto idx2 = c->DescribeIndex("db1", "c2", "", "");
  ASSERT_TRUE(idx2.ok());
  EXPECT_EQ((*idx2)[0].resolved_params.at("metric_type"), "IP");

  auto prog = c->GetLoadProgress("db1", "c2", {});
  ASSERT_TRUE(prog.ok());
  EXPECT_EQ(prog->state, LoadState::kLoaded);
  auto v2 = c->DescribeCollection("db1", "c2");
  ASSERT_TRUE(v2.ok());
  EXPECT_TRUE(v2->info.load_requested);
  // Still loaded, so the index cannot be dropped; still non-empty, so db1 stays.
  EXPECT_CODE(c->DropIndex("db1", "c2", "vec", ""), StatusCode::kFailedPrecondition);
  EXPECT_FALSE(c->DropDatabase("db1").ok());
  // Duplicates are still detected after reopening.
  EXPECT_REASON(c->CreateIndex(IndexOn("c1", "vec", {{"index_type", "FLAT"}, {"metric_type", "L2"}})),
                Reason::kIndexDuplicate);
  EXPECT_REASON(c->CreateCollection(Params("a1")), Reason::kAliasNameConflict);
}

TEST_F(CoordinatorTest, EverythingSurvivesReopenOverMemoryStore) {
  Populate(coord_.get());
  if (HasFatalFailure()) return;
  Verify(coord_.get());
  Reopen();
  Verify(coord_.get());
}

class CoordinatorRocksDbTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "kite_coord_XXXXXX";
    ASSERT_NE(mkdtemp(dir_.data()), nullptr);
  }
  void TearDown() override {
    coord_.reset();
    meta_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  // Closes the coordinator and the store, then opens both again on the same dir.
  void Reopen() {
    coord_.reset();
    meta_.reset();
    auto m = OpenRocksDbMetaStore(dir_);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    meta_ = std::move(m).value();
    auto c = OpenCoordinator(meta_.get(), Limits{});
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    coord_ = std::move(c).value();
  }

  std::string dir_;
  std::unique_ptr<MetaStore> meta_;
  std::unique_ptr<CoordinatorApi> coord_;
};

TEST_F(CoordinatorRocksDbTest, EverythingSurvivesReopen) {
  ASSERT_NO_FATAL_FAILURE(Reopen());
  Populate(coord_.get());
  if (HasFatalFailure()) return;
  Verify(coord_.get());
  CollectionId c1_id = coord_->DescribeCollection("", "c1")->info.id;
  Timestamp last_ts = *coord_->AllocTimestamp();

  ASSERT_NO_FATAL_FAILURE(Reopen());
  Verify(coord_.get());
  EXPECT_EQ(coord_->DescribeCollection("", "c1")->info.id, c1_id);
  auto ts = coord_->AllocTimestamp();
  ASSERT_TRUE(ts.ok());
  EXPECT_GT(*ts, last_ts);

  // New objects after reopening get fresh ids.
  ASSERT_OK(coord_->CreateCollection(Params("after")));
  std::set<int64_t> ids;
  for (const char* n : {"c1", "renamed", "after"}) ids.insert(coord_->DescribeCollection("", n)->info.id.value);
  ids.insert(coord_->DescribeCollection("db1", "c2")->info.id.value);
  EXPECT_EQ(ids.size(), 4u);

  // Changes made after the first reopen survive a second one.
  ASSERT_OK(coord_->Release("db1", "c2", {}));
  ASSERT_OK(coord_->DropIndex("db1", "c2", "vec", ""));
  ASSERT_OK(coord_->DropAlias("db1", "a2"));
  ASSERT_OK(coord_->DropCollection("db1", "c2"));
  ASSERT_OK(coord_->DropDatabase("db1"));
  ASSERT_NO_FATAL_FAILURE(Reopen());
  EXPECT_REASON(coord_->DescribeDatabase("db1").status(), Reason::kDatabaseNotFound);
  auto list = coord_->ListCollections("");
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(Names(*list), (std::vector<std::string>{"after", "c1", "renamed"}));
  EXPECT_TRUE(HasDb(coord_.get(), "default"));
}

}  // namespace
}  // namespace kite
