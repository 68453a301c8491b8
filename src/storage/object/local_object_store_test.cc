#include "storage/object/object_store.h"

#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace kite {
namespace {

namespace fs = std::filesystem;
using Keys = std::vector<std::string>;

// A fresh directory under the test temp dir, removed at destruction.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = ::testing::TempDir() + "kite_objects_XXXXXX";
    char* p = mkdtemp(tmpl.data());
    EXPECT_NE(p, nullptr) << "mkdtemp " << tmpl;
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

class LocalObjectStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(); }

  void Open() {
    store_.reset();
    auto s = OpenLocalObjectStore(root());
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(*s);
  }

  std::string root() const { return dir_.path() + "/objects"; }

  void Put(const std::string& key, std::string_view data) {
    Status st = store_->Put(key, data);
    ASSERT_TRUE(st.ok()) << st.ToString();
  }

  std::string Get(const std::string& key) {
    auto r = store_->Get(key);
    EXPECT_TRUE(r.ok()) << key << ": " << r.status().ToString();
    return r.ok() ? *r : std::string();
  }

  Keys List(const std::string& prefix) {
    auto r = store_->List(prefix);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : Keys();
  }

  TempDir dir_;
  std::unique_ptr<ObjectStore> store_;
};

TEST_F(LocalObjectStoreTest, PutGetOverwrite) {
  Put("a", "1");
  Put("dir/sub/key.bin", std::string("\0binary\xff", 8));
  Put("empty", "");
  EXPECT_EQ(Get("a"), "1");
  EXPECT_EQ(Get("dir/sub/key.bin"), std::string("\0binary\xff", 8));
  EXPECT_EQ(Get("empty"), "");
  Put("a", "second, longer value");
  EXPECT_EQ(Get("a"), "second, longer value");
  Put("a", "x");
  EXPECT_EQ(Get("a"), "x");
  EXPECT_TRUE(fs::is_regular_file(root() + "/dir/sub/key.bin"));
}

TEST_F(LocalObjectStoreTest, ObjectsSurviveReopen) {
  const std::string big(5 << 20, 'q');
  Put("segments/1/vec", big);
  Open();
  EXPECT_EQ(Get("segments/1/vec"), big);
}

TEST_F(LocalObjectStoreTest, MissingKeyIsNotFound) {
  EXPECT_EQ(store_->Get("nope").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->Get("no/such/dir").status().code(), StatusCode::kNotFound);
  Put("file", "x");
  EXPECT_EQ(store_->Get("file/below").status().code(), StatusCode::kNotFound);
  Put("d/k", "x");
  EXPECT_EQ(store_->Get("d").status().code(), StatusCode::kNotFound) << "a prefix is no object";
}

TEST_F(LocalObjectStoreTest, PutPartsWritesTheConcatenation) {
  const std::string big(3 << 20, 'v');
  Status st = store_->PutParts("p/obj", {"head|", big, "", "|tail"});
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(Get("p/obj"), "head|" + big + "|tail");
  ASSERT_TRUE(store_->PutParts("p/none", {}).ok());
  EXPECT_EQ(Get("p/none"), "");
  EXPECT_EQ(store_->PutParts("../x", {"a"}).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(List("p/").size() == 2) << "no temp file is left behind";
}

TEST_F(LocalObjectStoreTest, OpenReadsPiecesAndRefusesPastTheEnd) {
  Put("r/obj", "0123456789");
  auto r = store_->Open("r/obj");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)->size(), 10u);
  char buf[4] = {};
  ASSERT_TRUE((*r)->ReadAt(6, 4, buf).ok());
  EXPECT_EQ(std::string(buf, 4), "6789");
  ASSERT_TRUE((*r)->ReadAt(0, 0, buf).ok());
  Status past = (*r)->ReadAt(8, 4, buf);
  EXPECT_EQ(past.code(), StatusCode::kIOError);
  EXPECT_NE(past.message().find("r/obj"), std::string::npos) << past.ToString();
  EXPECT_EQ(store_->Open("r/missing").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->Open("r").status().code(), StatusCode::kNotFound) << "a prefix is no object";
}

// A store that implements only the required methods: PutParts and Open come
// from ObjectStore's defaults.
class MinimalStore final : public ObjectStore {
 public:
  Status Put(const std::string& key, std::string_view data) override {
    objects_[key] = std::string(data);
    return Status::OK();
  }
  Result<std::string> Get(const std::string& key) override {
    auto it = objects_.find(key);
    if (it == objects_.end()) return MakeStatus(StatusCode::kNotFound, Reason::kNone, "no {}", key);
    return it->second;
  }
  Status Delete(const std::string& key) override {
    objects_.erase(key);
    return Status::OK();
  }
  Status DeletePrefix(const std::string&) override { return Status::OK(); }
  Result<std::vector<std::string>> List(const std::string&) override { return std::vector<std::string>{}; }

 private:
  std::map<std::string, std::string> objects_;
};

TEST(ObjectStoreDefaultsTest, PutPartsAndOpenWorkOverPutAndGet) {
  MinimalStore store;
  ASSERT_TRUE(store.PutParts("k", {"ab", "", "cde"}).ok());
  EXPECT_EQ(*store.Get("k"), "abcde");
  auto r = store.Open("k");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)->size(), 5u);
  char buf[3];
  ASSERT_TRUE((*r)->ReadAt(2, 3, buf).ok());
  EXPECT_EQ(std::string(buf, 3), "cde");
  EXPECT_EQ((*r)->ReadAt(3, 3, buf).code(), StatusCode::kIOError);
  EXPECT_EQ((*r)->ReadAt(~uint64_t{0}, 1, buf).code(), StatusCode::kIOError) << "offset overflow";
  EXPECT_EQ(store.Open("missing").status().code(), StatusCode::kNotFound);
}

TEST_F(LocalObjectStoreTest, Delete) {
  Put("a/b/c", "1");
  Put("a/b/d", "2");
  ASSERT_TRUE(store_->Delete("a/b/c").ok());
  EXPECT_EQ(store_->Get("a/b/c").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(Get("a/b/d"), "2");
  EXPECT_TRUE(store_->Delete("a/b/c").ok()) << "deleting a missing key is OK";
  EXPECT_TRUE(store_->Delete("a/b").ok()) << "a prefix is not an object";
  EXPECT_EQ(Get("a/b/d"), "2");
  ASSERT_TRUE(store_->Delete("a/b/d").ok());
  EXPECT_FALSE(fs::exists(root() + "/a")) << "emptied directories are removed";
  EXPECT_TRUE(fs::exists(root()));
  Put("a/b/d", "3");  // and created again on demand
  EXPECT_EQ(Get("a/b/d"), "3");
}

TEST_F(LocalObjectStoreTest, ListIsSortedRecursiveAndByStringPrefix) {
  for (const char* k : {"seg/2/c", "seg/1/b", "seg/1/a", "seg/10/x", "seg/1.meta", "other", "s"}) {
    Put(k, k);
  }
  EXPECT_EQ(List(""), (Keys{"other", "s", "seg/1.meta", "seg/1/a", "seg/1/b", "seg/10/x",
                            "seg/2/c"}));
  EXPECT_EQ(List("seg/1/"), (Keys{"seg/1/a", "seg/1/b"}));
  EXPECT_EQ(List("seg/1"), (Keys{"seg/1.meta", "seg/1/a", "seg/1/b", "seg/10/x"}));
  EXPECT_EQ(List("se"), (Keys{"seg/1.meta", "seg/1/a", "seg/1/b", "seg/10/x", "seg/2/c"}));
  EXPECT_EQ(List("seg/2/c"), (Keys{"seg/2/c"}));
  EXPECT_TRUE(List("seg/3").empty());
  EXPECT_TRUE(List("missing/dir/").empty());
}

TEST_F(LocalObjectStoreTest, DeletePrefix) {
  for (const char* k : {"c/1/a", "c/1/b/deep", "c/10/a", "c/2/a", "d/1"}) Put(k, k);
  ASSERT_TRUE(store_->DeletePrefix("c/1/").ok());
  EXPECT_EQ(List(""), (Keys{"c/10/a", "c/2/a", "d/1"}));
  EXPECT_FALSE(fs::exists(root() + "/c/1"));
  ASSERT_TRUE(store_->DeletePrefix("c/").ok());
  EXPECT_EQ(List(""), (Keys{"d/1"}));
  EXPECT_FALSE(fs::exists(root() + "/c"));
  ASSERT_TRUE(store_->DeletePrefix("nothing/").ok());
  ASSERT_TRUE(store_->DeletePrefix("").ok());
  EXPECT_TRUE(List("").empty());
  EXPECT_TRUE(fs::exists(root()));
}

TEST_F(LocalObjectStoreTest, BadKeysAreRejected) {
  const std::vector<std::string> bad_keys = {
      "",      "/abs",  "a//b", "a/",   "..",   "../x", "a/../b", "a/..", "a..b", ".",
      "a/./b", "a b",   "a~b",  "a\\b", "a:b",  "\xc3\xa4", "a\nb", std::string(1025, 'k'),
      std::string(256, 's') + "/x"};
  for (const std::string& key : bad_keys) {
    EXPECT_EQ(store_->Put(key, "x").code(), StatusCode::kInvalidArgument) << key;
    EXPECT_EQ(store_->Get(key).status().code(), StatusCode::kInvalidArgument) << key;
    EXPECT_EQ(store_->Delete(key).code(), StatusCode::kInvalidArgument) << key;
  }
  for (const char* prefix : {"/a", "a//", "../", "a b", "x/./", "a~"}) {
    EXPECT_EQ(store_->List(prefix).status().code(), StatusCode::kInvalidArgument) << prefix;
    EXPECT_EQ(store_->DeletePrefix(prefix).code(), StatusCode::kInvalidArgument) << prefix;
  }
  EXPECT_TRUE(List("").empty()) << "nothing was written";
  Put("Az09_.=-/.hidden/v=1.x", "ok");
  EXPECT_EQ(Get("Az09_.=-/.hidden/v=1.x"), "ok");
}

TEST_F(LocalObjectStoreTest, TempFilesAreHiddenAndCleanedOnOpen) {
  Put("d/k", "v");
  // What a crash in the middle of a Put leaves behind.
  std::ofstream(root() + "/d/~tmp.123.4") << "partial";
  std::ofstream(root() + "/~tmp.9.9") << "partial";
  EXPECT_EQ(List(""), (Keys{"d/k"}));
  Open();
  EXPECT_FALSE(fs::exists(root() + "/d/~tmp.123.4"));
  EXPECT_FALSE(fs::exists(root() + "/~tmp.9.9"));
  EXPECT_EQ(Get("d/k"), "v");
}

TEST_F(LocalObjectStoreTest, ConcurrentPutsOfOneKeyAreAtomic) {
  constexpr int kThreads = 4;
  std::vector<std::string> values;
  for (int t = 0; t < kThreads; ++t) values.push_back(std::string(256 << 10, char('a' + t)));
  std::vector<std::thread> workers;
  for (int t = 0; t < kThreads; ++t) {
    workers.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) EXPECT_TRUE(store_->Put("k/v", values[t]).ok());
    });
  }
  // Readers see some whole value or nothing yet, never a mix or a prefix.
  for (int i = 0; i < 50; ++i) {
    auto r = store_->Get("k/v");
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
      continue;
    }
    EXPECT_NE(std::find(values.begin(), values.end(), *r), values.end());
  }
  for (auto& w : workers) w.join();
  EXPECT_NE(std::find(values.begin(), values.end(), Get("k/v")), values.end());
  EXPECT_EQ(List(""), (Keys{"k/v"}));
}

TEST_F(LocalObjectStoreTest, ConcurrentPutAndDeletePrefixInOneDirectory) {
  // A Put must not fail because a DeletePrefix removed the directory it writes in.
  std::vector<std::thread> workers;
  for (int t = 0; t < 2; ++t) {
    workers.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        Status st = store_->Put("p/q/" + std::to_string(t) + "-" + std::to_string(i), "v");
        EXPECT_TRUE(st.ok()) << st.ToString();
      }
    });
  }
  for (int i = 0; i < 200; ++i) {
    Status st = store_->DeletePrefix("p/");
    EXPECT_TRUE(st.ok()) << st.ToString();
  }
  for (auto& w : workers) w.join();
  ASSERT_TRUE(store_->DeletePrefix("p/").ok());
  EXPECT_TRUE(List("").empty());
}

}  // namespace
}  // namespace kite
