// The catalog service (catalog_grpc.h) over an in-process gRPC server,
// against a real coordinator on the embedded meta store: what a `kite proxy`
// asks of the coordinator answers over the wire as in one process (records
// whole, errors with their code, reason and message), and a client whose
// channel source has no coordinator fails as an unreachable peer.
#include "roles/api/catalog_grpc.h"

#include <map>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "roles/coordinator/coordinator.h"
#include "storage/meta/meta_store.h"

namespace kite {
namespace {

FieldSchema Field(std::string name, DataType type, std::map<std::string, std::string> tp = {}) {
  FieldSchema f;
  f.name = std::move(name);
  f.type = type;
  f.type_params = std::move(tp);
  return f;
}

CreateCollectionParams Params(const std::string& name) {
  CreateCollectionParams p;
  p.schema.name = name;
  p.schema.description = "over the wire";
  p.schema.enable_dynamic_field = true;
  FieldSchema pk = Field("id", DataType::kInt64);
  pk.is_primary = true;
  p.schema.fields.push_back(pk);
  p.schema.fields.push_back(Field("title", DataType::kVarChar, {{"max_length", "64"}}));
  p.schema.fields.push_back(Field("vec", DataType::kFloatVector, {{"dim", "8"}}));
  p.num_shards = 2;
  p.consistency = ConsistencyLevel::kStrong;
  p.properties = {{"collection.ttl.seconds", "3600"}};
  return p;
}

// A data node scheduler that records what it was asked.
class RecordingDataNode final : public DataNodeApi {
 public:
  void Kick() override { kicks++; }
  IndexProgress Progress(CollectionId collection, const IndexInfo& index, Timestamp as_of) const override {
    asked_collection = collection.value;
    asked_index = index.name;
    asked_as_of = as_of;
    IndexProgress p;
    p.total_rows = 100;
    p.indexed_rows = 40;
    p.pending_segments = 2;
    p.fail_reason = "not yet";
    return p;
  }
  Result<int64_t> RequestCompaction(CollectionId collection) override {
    if (collection.value == 0) return InvalidArgument("no collection 0");
    return 4242;
  }
  CompactionJob GetCompaction(int64_t job) const override {
    CompactionJob j;
    if (job != 4242) return j;
    j.state = CompactionJobState::kExecuting;
    j.plans = 3;
    j.completed = 1;
    return j;
  }
  int kicks = 0;
  mutable int64_t asked_collection = 0;
  mutable std::string asked_index;
  mutable Timestamp asked_as_of = 0;
};

class CatalogGrpcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    meta_ = NewMemoryMetaStore();
    coord_ = std::move(OpenCoordinator(meta_.get(), Limits{})).value();
    service_ = MakeCatalogService(coord_.get(), &data_);
    grpc::ServerBuilder b;
    b.RegisterService(service_.get());
    server_ = b.BuildAndStart();
    channel_ = server_->InProcessChannel(grpc::ChannelArguments());
    remote_ = MakeRemoteCoordinator([this] { return channel_; });
    remote_data_ = MakeRemoteDataNode([this] { return channel_; });
  }
  void TearDown() override {
    remote_.reset();
    remote_data_.reset();
    server_->Shutdown();
  }

  std::unique_ptr<MetaStore> meta_;
  std::unique_ptr<CoordinatorApi> coord_;
  RecordingDataNode data_;
  std::unique_ptr<grpc::Service> service_;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<CoordinatorApi> remote_;
  std::unique_ptr<DataNodeApi> remote_data_;
};

TEST_F(CatalogGrpcTest, CollectionsRoundTripWhole) {
  ASSERT_TRUE(remote_->CreateCollection(Params("books")).ok());
  auto local = coord_->DescribeCollection("", "books");
  auto over = remote_->DescribeCollection("", "books");
  ASSERT_TRUE(local.ok() && over.ok()) << over.status().ToString();
  EXPECT_EQ(over->info.id, local->info.id);
  EXPECT_EQ(over->db_name, "default");
  EXPECT_EQ(over->info.schema.description, "over the wire");
  EXPECT_TRUE(over->info.schema.enable_dynamic_field);
  ASSERT_EQ(over->info.schema.fields.size(), local->info.schema.fields.size());
  for (size_t i = 0; i < local->info.schema.fields.size(); i++) {
    EXPECT_EQ(over->info.schema.fields[i].name, local->info.schema.fields[i].name);
    EXPECT_EQ(over->info.schema.fields[i].id, local->info.schema.fields[i].id);
    EXPECT_EQ(over->info.schema.fields[i].type_params, local->info.schema.fields[i].type_params);
  }
  EXPECT_EQ(over->info.num_shards, 2);
  EXPECT_EQ(over->info.consistency, ConsistencyLevel::kStrong);
  EXPECT_EQ(over->info.channels, local->info.channels);
  EXPECT_EQ(over->info.properties.at("collection.ttl.seconds"), "3600");

  ASSERT_TRUE(remote_->CreatePartition("", "books", "p1").ok());
  ASSERT_TRUE(remote_->CreateAlias("", "books", "novels").ok());
  auto alias = remote_->DescribeAlias("", "novels");
  ASSERT_TRUE(alias.ok());
  EXPECT_EQ(alias->collection, "books");
  EXPECT_EQ(alias->db_name, "default");
  auto aliases = remote_->ListAliases("", "books");
  ASSERT_TRUE(aliases.ok());
  EXPECT_EQ(*aliases, std::vector<std::string>{"novels"});
  auto by_alias = remote_->DescribeCollection("", "novels");
  ASSERT_TRUE(by_alias.ok());
  EXPECT_EQ(by_alias->info.id, local->info.id);
  ASSERT_NE(by_alias->info.FindPartition("p1"), nullptr);

  Status set = remote_->AlterCollection("", "books", {{"mmap.enabled", "true"}}, {});
  ASSERT_TRUE(set.ok()) << set.ToString();
  Status dropped = remote_->AlterCollection("", "books", {}, {"collection.ttl.seconds"});
  ASSERT_TRUE(dropped.ok()) << dropped.ToString();
  auto altered = coord_->DescribeCollection("", "books");
  ASSERT_TRUE(altered.ok());
  EXPECT_EQ(altered->info.properties.count("collection.ttl.seconds"), 0u);
  EXPECT_EQ(altered->info.properties.at("mmap.enabled"), "true");

  FieldSchema added = Field("year", DataType::kInt32);
  added.nullable = true;
  ASSERT_TRUE(remote_->AddCollectionField("", "books", added).ok());
  auto with_field = coord_->DescribeCollection("", "books");
  ASSERT_TRUE(with_field.ok());
  ASSERT_NE(with_field->info.schema.FindField("year"), nullptr);
  EXPECT_TRUE(with_field->info.schema.FindField("year")->nullable);

  CreateIndexParams ip;
  ip.collection = "books";
  ip.field_name = "vec";
  ip.index_name = "vec_idx";
  ip.params = {{"index_type", "HNSW"}, {"metric_type", "L2"}, {"M", "8"}};
  ASSERT_TRUE(remote_->CreateIndex(ip).ok());
  auto indexes = remote_->DescribeIndex("", "books", "", "");
  ASSERT_TRUE(indexes.ok());
  ASSERT_EQ(indexes->size(), 1u);
  EXPECT_EQ((*indexes)[0].name, "vec_idx");
  EXPECT_EQ((*indexes)[0].user_params.at("M"), "8");

  ASSERT_TRUE(remote_->Load("", "books", {}).ok());
  auto progress = remote_->GetLoadProgress("", "books", {});
  ASSERT_TRUE(progress.ok());
  auto local_progress = coord_->GetLoadProgress("", "books", {});
  EXPECT_EQ(progress->state, local_progress->state);
  EXPECT_EQ(progress->progress, local_progress->progress);
  auto listed = remote_->ListCollections("");
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_TRUE((*listed)[0].info.load_requested);
  EXPECT_EQ((*listed)[0].aliases, std::vector<std::string>{"novels"});

  ASSERT_TRUE(remote_->RenameCollection("", "books", "", "volumes").ok());
  EXPECT_TRUE(coord_->DescribeCollection("", "volumes").ok());
  ASSERT_TRUE(remote_->DropAlias("", "novels").ok());
  ASSERT_TRUE(remote_->Release("", "volumes", {}).ok());
  ASSERT_TRUE(remote_->DropIndex("", "volumes", "vec", "").ok());
  ASSERT_TRUE(remote_->DropCollection("", "volumes").ok());
  EXPECT_FALSE(coord_->DescribeCollection("", "volumes").ok());
}

TEST_F(CatalogGrpcTest, DatabasesTimestampsAndIds) {
  ASSERT_TRUE(remote_->CreateDatabase("shelf", {{"database.max.collections", "7"}}).ok());
  auto db = remote_->DescribeDatabase("shelf");
  ASSERT_TRUE(db.ok());
  EXPECT_EQ(db->name, "shelf");
  EXPECT_EQ(db->properties.at("database.max.collections"), "7");
  ASSERT_TRUE(remote_->AlterDatabase("shelf", {{"database.force.deny.writing", "true"}}, {}).ok());
  auto dbs = remote_->ListDatabases();
  ASSERT_TRUE(dbs.ok());
  EXPECT_EQ(dbs->size(), 2u);  // default and shelf
  ASSERT_TRUE(remote_->DropDatabase("shelf").ok());

  auto t1 = remote_->AllocTimestamp();
  auto t2 = coord_->AllocTimestamp();
  auto t3 = remote_->AllocTimestamp();
  ASSERT_TRUE(t1.ok() && t2.ok() && t3.ok());
  EXPECT_LT(*t1, *t2);
  EXPECT_LT(*t2, *t3);
  auto a = remote_->AllocIds(10);
  auto b = remote_->AllocIds(1);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_GE(*b, *a + 10);
}

TEST_F(CatalogGrpcTest, ErrorsKeepTheirCodeAndMessage) {
  auto local = coord_->DescribeCollection("", "missing");
  auto over = remote_->DescribeCollection("", "missing");
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.status().code(), local.status().code());
  EXPECT_EQ(over.status().reason(), local.status().reason());
  EXPECT_EQ(over.status().message(), local.status().message());
  ASSERT_TRUE(remote_->CreateCollection(Params("twice")).ok());
  CreateCollectionParams other = Params("twice");
  other.schema.fields.pop_back();
  Status again = remote_->CreateCollection(other);
  Status again_local = coord_->CreateCollection(other);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.message(), again_local.message());
  EXPECT_EQ(again.code(), again_local.code());
}

TEST_F(CatalogGrpcTest, DataNodeCallsCrossTheWire) {
  remote_data_->Kick();
  EXPECT_EQ(data_.kicks, 1);
  IndexInfo index;
  index.id = IndexId(9);
  index.name = "vec_idx";
  index.user_params = {{"index_type", "HNSW"}};
  IndexProgress p = remote_data_->Progress(CollectionId(77), index, 1234);
  EXPECT_EQ(data_.asked_collection, 77);
  EXPECT_EQ(data_.asked_index, "vec_idx");
  EXPECT_EQ(data_.asked_as_of, 1234u);
  EXPECT_EQ(p.total_rows, 100);
  EXPECT_EQ(p.indexed_rows, 40);
  EXPECT_EQ(p.pending_segments, 2);
  EXPECT_STREQ(p.state(), "InProgress");
  auto job = remote_data_->RequestCompaction(CollectionId(77));
  ASSERT_TRUE(job.ok());
  EXPECT_EQ(*job, 4242);
  EXPECT_FALSE(remote_data_->RequestCompaction(CollectionId(0)).ok());
  CompactionJob j = remote_data_->GetCompaction(4242);
  EXPECT_EQ(j.state, CompactionJobState::kExecuting);
  EXPECT_EQ(j.plans, 3);
  EXPECT_EQ(j.completed, 1);
  EXPECT_EQ(remote_data_->GetCompaction(1).state, CompactionJobState::kUnknown);
}

TEST_F(CatalogGrpcTest, NoCoordinatorIsAnUnreachablePeer) {
  auto orphan = MakeRemoteCoordinator([] { return std::shared_ptr<grpc::Channel>(); });
  auto r = orphan->ListDatabases();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kIOError);
  EXPECT_NE(r.status().message().find("role peer unavailable"), std::string::npos) << r.status().message();
  auto orphan_data = MakeRemoteDataNode([] { return std::shared_ptr<grpc::Channel>(); });
  IndexInfo index;
  EXPECT_STREQ(orphan_data->Progress(CollectionId(1), index, 0).state(), "InProgress");  // unknown: not finished
}

}  // namespace
}  // namespace kite
