#include "storage/meta/meta_store.h"

#include <stdlib.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <thread>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

namespace kite {
namespace {

// A fresh directory under the test temp dir, removed at destruction.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = ::testing::TempDir() + "kite_meta_XXXXXX";
    char* p = mkdtemp(tmpl.data());
    EXPECT_NE(p, nullptr) << "mkdtemp " << tmpl;
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

using KvList = std::vector<std::pair<std::string, std::string>>;

KvList ScanAll(MetaStore* m, std::string_view prefix) {
  KvList out;
  Status st = m->Scan(prefix, [&](std::string_view k, std::string_view v) { out.emplace_back(k, v); });
  EXPECT_TRUE(st.ok()) << st.ToString();
  return out;
}

std::optional<std::string> GetOrDie(MetaStore* m, std::string_view key) {
  auto r = m->Get(key);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : std::nullopt;
}

enum class Kind { kMemory, kRocksDb };

class MetaStoreTest : public ::testing::TestWithParam<Kind> {
 protected:
  void SetUp() override {
    if (GetParam() == Kind::kMemory) {
      store_ = NewMemoryMetaStore();
    } else {
      dir_ = std::make_unique<TempDir>();
      auto r = OpenRocksDbMetaStore(dir_->path());
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      store_ = std::move(r).value();
    }
    ASSERT_NE(store_, nullptr);
  }
  void TearDown() override { store_.reset(); }

  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<MetaStore> store_;
};

TEST_P(MetaStoreTest, PutGetDelete) {
  EXPECT_EQ(GetOrDie(store_.get(), "a"), std::nullopt);

  MetaBatch put;
  put.Put("a", "1");
  put.Put("b", std::string("bin\0ary", 7));
  put.Put("empty", "");
  ASSERT_TRUE(store_->Commit(put).ok());
  EXPECT_EQ(GetOrDie(store_.get(), "a"), "1");
  EXPECT_EQ(GetOrDie(store_.get(), "b"), std::string("bin\0ary", 7));
  // An empty value is present, not absent.
  EXPECT_EQ(GetOrDie(store_.get(), "empty"), std::optional<std::string>(""));

  MetaBatch overwrite;
  overwrite.Put("a", "2");
  ASSERT_TRUE(store_->Commit(overwrite).ok());
  EXPECT_EQ(GetOrDie(store_.get(), "a"), "2");

  MetaBatch del;
  del.Delete("a");
  del.Delete("never-existed");
  ASSERT_TRUE(store_->Commit(del).ok());
  EXPECT_EQ(GetOrDie(store_.get(), "a"), std::nullopt);
  EXPECT_EQ(GetOrDie(store_.get(), "b"), std::string("bin\0ary", 7));

  MetaBatch empty;
  EXPECT_TRUE(empty.empty());
  EXPECT_TRUE(store_->Commit(empty).ok());
  EXPECT_EQ(GetOrDie(store_.get(), "b"), std::string("bin\0ary", 7));
}

TEST_P(MetaStoreTest, BatchAppliesOperationsInOrder) {
  MetaBatch b;
  b.Put("k", "first");
  b.Delete("k");
  b.Put("j", "x");
  b.Put("j", "y");
  b.Put("gone", "1");
  b.Delete("gone");
  ASSERT_TRUE(store_->Commit(b).ok());
  EXPECT_EQ(GetOrDie(store_.get(), "k"), std::nullopt);
  EXPECT_EQ(GetOrDie(store_.get(), "j"), "y");
  EXPECT_EQ(GetOrDie(store_.get(), "gone"), std::nullopt);
}

TEST_P(MetaStoreTest, ScanReturnsOnlyThePrefixInKeyOrder) {
  MetaBatch b;
  // Inserted out of order, with neighbours on both sides of the prefix.
  for (const char* k : {"kite/coll/3", "kite/coll/10", "kite/col", "kite/colm", "kite/coll/1", "kite/coll0",
                        "kite/coll/", "kite/db/1", "a", "kite/coll/2/x", "z"}) {
    b.Put(k, std::string("v:") + k);
  }
  ASSERT_TRUE(store_->Commit(b).ok());

  KvList got = ScanAll(store_.get(), "kite/coll/");
  KvList want = {{"kite/coll/", "v:kite/coll/"},         {"kite/coll/1", "v:kite/coll/1"},
                 {"kite/coll/10", "v:kite/coll/10"},     {"kite/coll/2/x", "v:kite/coll/2/x"},
                 {"kite/coll/3", "v:kite/coll/3"}};
  EXPECT_EQ(got, want);

  EXPECT_TRUE(ScanAll(store_.get(), "nothing/").empty());
  EXPECT_EQ(ScanAll(store_.get(), "kite/db/").size(), 1u);
  // The empty prefix scans everything, in order.
  KvList all = ScanAll(store_.get(), "");
  ASSERT_EQ(all.size(), 11u);
  EXPECT_EQ(all.front().first, "a");
  EXPECT_EQ(all.back().first, "z");
  for (size_t i = 1; i < all.size(); ++i) EXPECT_LT(all[i - 1].first, all[i].first);

  // Deleted keys disappear from scans.
  MetaBatch del;
  del.Delete("kite/coll/10");
  ASSERT_TRUE(store_->Commit(del).ok());
  EXPECT_EQ(ScanAll(store_.get(), "kite/coll/1").size(), 1u);
}

TEST_P(MetaStoreTest, ScanOrderIsBytewise) {
  MetaBatch b;
  b.Put("p/\xff", "hi");
  b.Put("p/B", "upper");
  b.Put("p/a", "lower");
  ASSERT_TRUE(store_->Commit(b).ok());
  KvList got = ScanAll(store_.get(), "p/");
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].first, "p/B");
  EXPECT_EQ(got[1].first, "p/a");
  EXPECT_EQ(got[2].first, "p/\xff");
}

TEST_P(MetaStoreTest, BatchIsAtomicForReaders) {
  // A scan that runs while a writer commits batches of (a, b) pairs must never
  // see one key of a pair without the other.
  {
    MetaBatch b;
    b.Put("pair/a", "0");
    b.Put("pair/b", "0");
    ASSERT_TRUE(store_->Commit(b).ok());
  }
  std::atomic<bool> stop{false};
  std::atomic<int> torn{0};
  std::thread reader([&] {
    while (!stop.load()) {
      KvList kv;
      ASSERT_TRUE(store_->Scan("pair/", [&](std::string_view k, std::string_view v) { kv.emplace_back(k, v); }).ok());
      if (kv.size() != 2 || kv[0].second != kv[1].second) torn++;
    }
  });
  for (int i = 1; i <= 200; ++i) {
    MetaBatch b;
    b.Put("pair/a", std::to_string(i));
    b.Put("pair/b", std::to_string(i));
    ASSERT_TRUE(store_->Commit(b).ok());
  }
  stop = true;
  reader.join();
  EXPECT_EQ(torn.load(), 0);
  EXPECT_EQ(GetOrDie(store_.get(), "pair/a"), "200");
}

INSTANTIATE_TEST_SUITE_P(Stores, MetaStoreTest, ::testing::Values(Kind::kMemory, Kind::kRocksDb),
                         [](const ::testing::TestParamInfo<Kind>& i) {
                           return i.param == Kind::kMemory ? "Memory" : "RocksDb";
                         });

TEST(RocksDbMetaStoreTest, DataSurvivesReopen) {
  TempDir dir;
  {
    auto r = OpenRocksDbMetaStore(dir.path());
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    std::unique_ptr<MetaStore> m = std::move(r).value();
    MetaBatch b;
    b.Put("kite/x/1", "one");
    b.Put("kite/x/2", "two");
    b.Put("kite/y", "gone soon");
    ASSERT_TRUE(m->Commit(b).ok());
    MetaBatch d;
    d.Delete("kite/y");
    ASSERT_TRUE(m->Commit(d).ok());
  }  // closed here
  auto r = OpenRocksDbMetaStore(dir.path());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::unique_ptr<MetaStore> m = std::move(r).value();
  EXPECT_EQ(GetOrDie(m.get(), "kite/x/1"), "one");
  EXPECT_EQ(GetOrDie(m.get(), "kite/y"), std::nullopt);
  KvList want = {{"kite/x/1", "one"}, {"kite/x/2", "two"}};
  EXPECT_EQ(ScanAll(m.get(), "kite/"), want);
}

TEST(RocksDbMetaStoreTest, SecondOpenOfSameDirFails) {
  TempDir dir;
  auto first = OpenRocksDbMetaStore(dir.path());
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  auto second = OpenRocksDbMetaStore(dir.path());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kIOError);
}

TEST(RocksDbMetaStoreTest, OpenOnAFileFails) {
  TempDir dir;
  std::string file = dir.path() + "/not_a_dir";
  { FILE* f = fopen(file.c_str(), "w"); ASSERT_NE(f, nullptr); fclose(f); }
  auto r = OpenRocksDbMetaStore(file);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kIOError);
  EXPECT_NE(r.status().message().find(file), std::string::npos) << r.status().message();
}

TEST(MemoryMetaStoreTest, StoresAreIndependent) {
  auto a = NewMemoryMetaStore();
  auto b = NewMemoryMetaStore();
  MetaBatch batch;
  batch.Put("k", "v");
  ASSERT_TRUE(a->Commit(batch).ok());
  EXPECT_EQ(GetOrDie(a.get(), "k"), "v");
  EXPECT_EQ(GetOrDie(b.get(), "k"), std::nullopt);
}

}  // namespace
}  // namespace kite
