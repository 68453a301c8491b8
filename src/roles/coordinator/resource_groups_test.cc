#include "roles/coordinator/resource_groups.h"

#include <gtest/gtest.h>

namespace kite {
namespace {

ResourceGroupConfig Cfg(int32_t requests, int32_t limits) {
  ResourceGroupConfig c;
  c.requests = requests;
  c.limits = limits;
  return c;
}

int NodesOf(const ResourceGroupManager& m, const std::string& rg) {
  auto v = m.Describe(rg);
  return v ? static_cast<int>(v->nodes.size()) : -1;
}

TEST(ResourceGroupsTest, TheNodeFollowsRequestsAndLimits) {
  auto meta = NewMemoryMetaStore();
  auto m = ResourceGroupManager::Open(meta.get(), 7).value();
  EXPECT_EQ(m->List(), std::vector<std::string>{kDefaultResourceGroup});
  EXPECT_EQ(NodesOf(*m, kDefaultResourceGroup), 1);
  ASSERT_TRUE(m->Create("a", Cfg(1, 1)).ok());
  EXPECT_EQ(m->NodeGroup(), "a");
  ASSERT_TRUE(m->Create("b", Cfg(0, 3)).ok());
  EXPECT_EQ(m->NodeGroup(), "a");  // a holds no more than it requests
  ASSERT_TRUE(m->Update({{"a", Cfg(0, 0)}}).ok());
  // a is over its limit: the node goes to a group with room (b: 3, default: 1000000 -> default ranks higher)
  EXPECT_NE(m->NodeGroup(), "a");
  ResourceGroupConfig to_b = Cfg(0, 0);
  to_b.transfer_to = {"b"};
  ASSERT_TRUE(m->Update({{"a", Cfg(1, 1)}}).ok());
  EXPECT_EQ(m->NodeGroup(), "a");
  ASSERT_TRUE(m->Update({{"a", to_b}}).ok());
  // Milvus ranks a `transfer_to` group by room x 100000: b's 3 x 100000 loses to the
  // default group's room of 1000000, as in Milvus's selectNodeForRedundantRecover.
  EXPECT_EQ(m->NodeGroup(), kDefaultResourceGroup);
  ASSERT_TRUE(m->Update({{"b", Cfg(1, 3)}}).ok());
  EXPECT_EQ(m->NodeGroup(), "b");  // b now misses a node the default group holds beyond its requests
  // Persisted: a second manager over the same meta sees the same groups and placement.
  auto again = ResourceGroupManager::Open(meta.get(), 7).value();
  EXPECT_EQ(again->List(), m->List());
  EXPECT_EQ(again->NodeGroup(), "b");
  EXPECT_EQ(again->Describe("a")->config, to_b);
}

TEST(ResourceGroupsTest, RefusalsUseMilvusTexts) {
  auto meta = NewMemoryMetaStore();
  auto m = ResourceGroupManager::Open(meta.get(), 1).value();
  EXPECT_EQ(m->Create("x", Cfg(2, 1)).message(),
            "limits node num should not less than requests node num: resource group illegal "
            "config[rg=x][config=requests:{node_num:2} limits:{node_num:1}]");
  ASSERT_TRUE(m->Create("x", Cfg(0, 0)).ok());
  ASSERT_TRUE(m->Create("x", Cfg(0, 0)).ok());  // idempotent
  EXPECT_EQ(m->Create("x", Cfg(0, 1)).message(), "resource group already exist, but create with different config[rg=x]");
  EXPECT_EQ(m->Drop(kDefaultResourceGroup, std::nullopt).message(),
            "default resource group is not deletable: invalid parameter[expected=not default resource "
            "group][actual=__default_resource_group]");
  EXPECT_EQ(m->TransferNode("x", kDefaultResourceGroup, 1).message(),
            "resource group node not enough[rg=x][currentNodeNum=0][expectedNodeNum=1]");
  EXPECT_TRUE(m->Drop("x", std::nullopt).ok());
  EXPECT_TRUE(m->Drop("x", std::nullopt).ok());  // idempotent
}

TEST(ResourceGroupsTest, ReplicaRecordsPersist) {
  auto meta = NewMemoryMetaStore();
  auto m = ResourceGroupManager::Open(meta.get(), 1).value();
  ASSERT_TRUE(m->PutReplica({42, 9, kDefaultResourceGroup}).ok());
  auto again = ResourceGroupManager::Open(meta.get(), 1).value();
  ASSERT_TRUE(again->ReplicaOf(9).has_value());
  EXPECT_EQ(again->ReplicaOf(9)->id, 42);
  ASSERT_TRUE(again->DeleteReplica(9).ok());
  EXPECT_FALSE(ResourceGroupManager::Open(meta.get(), 1).value()->ReplicaOf(9).has_value());
}

}  // namespace
}  // namespace kite
