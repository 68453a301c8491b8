// The etcd value framing of docs/formats/meta_keys.md ("On etcd") against a
// committed fixture (tests/fixtures/formats/etcd_meta/kvs.bin): the raw etcd
// keys and values an earlier build of EtcdMetaStore wrote for the values
// below (inline values, an empty one, one whose first byte is the chunk tag,
// and chunked values of several chunks), relative to the etcd root. The test
// puts them into a fresh etcd root, opens EtcdMetaStore on it and checks it
// reads every value; checks the stored bytes by the doc's layout; and checks
// that today's writer frames the same values the same way (the generation,
// random per write, aside). KITE_WRITE_FORMAT_FIXTURES=1 writes the file when
// it is missing (never over a committed one).
//
// File: records of u32 key length, key, u32 value length, value (little
// endian), in etcd key order.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "rpc.grpc.pb.h"  // etcd's API (cmake/EtcdProto.cmake)
#include "storage/meta/etcd_meta_store.h"
#include "storage/testing/etcd_server.h"

namespace kite {
namespace {

constexpr size_t kChunkBytes = 64;  // small, so the fixture stays small
const char* const kMetaSub = "meta/";
const char* const kChunkSub = "kv/kite-meta-chunks/";

using KvMap = std::map<std::string, std::string>;

// The Kite values of the fixture, each committed in its own batch.
KvMap Values() {
  KvMap v;
  v["kite/id/limit"] = "100000";
  v["kite/db/1"] = R"({"created_ts":0,"id":1,"name":"default","properties":{}})";
  v["kite/empty"] = "";
  static const char kTagged[] = "\x01\x00 starts with the chunk tag";
  v["kite/tagged"] = std::string(kTagged, sizeof kTagged - 1);
  v["kite/edge"] = std::string(kChunkBytes, 'e');  // at the limit: inline
  std::string big;
  for (int i = 0; i < 300; ++i) big.push_back(static_cast<char>((i * 37 + 11) % 256));
  v["kite/big"] = big;                                     // 5 chunks, the last one short
  v["kite/two"] = std::string(2 * kChunkBytes, 't');       // 2 full chunks
  return v;
}

testing::EtcdServer* Etcd() {
  static testing::EtcdServer server;  // stopped at exit
  static const Status started = server.Start();
  EXPECT_TRUE(started.ok()) << started.ToString();
  return &server;
}

std::string FreshRoot(const char* what) {
  static int n = 0;
  return "fx" + std::to_string(getpid()) + "-" + std::to_string(n++) + "-" + what + "/";
}

std::unique_ptr<etcdserverpb::KV::Stub> RawKv() {
  return etcdserverpb::KV::NewStub(grpc::CreateChannel(Etcd()->endpoint(), grpc::InsecureChannelCredentials()));
}

std::string PrefixEnd(std::string p) {
  while (!p.empty()) {
    if (static_cast<unsigned char>(p.back()) < 0xff) {
      p.back() = static_cast<char>(p.back() + 1);
      return p;
    }
    p.pop_back();
  }
  return std::string(1, '\0');
}

// Every raw key under root (root stripped) with its stored value.
KvMap RawDump(const std::string& root) {
  etcdserverpb::RangeRequest req;
  req.set_key(root);
  req.set_range_end(PrefixEnd(root));
  etcdserverpb::RangeResponse resp;
  grpc::ClientContext ctx;
  grpc::Status s = RawKv()->Range(&ctx, req, &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();
  KvMap out;
  for (const auto& kv : resp.kvs()) out[kv.key().substr(root.size())] = kv.value();
  return out;
}

std::unique_ptr<MetaStore> Open(const std::string& root) {
  EtcdMetaStoreOptions o;
  o.endpoints = {Etcd()->endpoint()};
  o.key_prefix = root + kMetaSub;
  o.chunk_prefix = root + kChunkSub;
  o.chunk_bytes = kChunkBytes;
  o.request_timeout_ms = 5000;
  auto r = OpenEtcdMetaStore(o);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? std::move(r).value() : nullptr;
}

// What today's EtcdMetaStore stores for Values(), raw.
KvMap WriteToday() {
  const std::string root = FreshRoot("today");
  auto m = Open(root);
  if (!m) return {};
  for (const auto& [k, v] : Values()) {
    MetaBatch b;
    b.Put(k, v);
    Status st = m->Commit(b);
    EXPECT_TRUE(st.ok()) << st.ToString();
  }
  return RawDump(root);
}

void PutU32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

std::string Encode(const KvMap& kvs) {
  std::string out;
  for (const auto& [k, v] : kvs) {
    PutU32(&out, uint32_t(k.size()));
    out += k;
    PutU32(&out, uint32_t(v.size()));
    out += v;
  }
  return out;
}

bool Decode(const std::string& bytes, KvMap* out) {
  size_t off = 0;
  auto u32 = [&](uint32_t* v) {
    if (bytes.size() - off < 4) return false;
    *v = 0;
    for (int i = 0; i < 4; ++i) *v |= uint32_t(static_cast<unsigned char>(bytes[off + i])) << (8 * i);
    off += 4;
    return true;
  };
  while (off < bytes.size()) {
    uint32_t kl = 0, vl = 0;
    if (!u32(&kl) || bytes.size() - off < kl) return false;
    std::string k = bytes.substr(off, kl);
    off += kl;
    if (!u32(&vl) || bytes.size() - off < vl) return false;
    (*out)[k] = bytes.substr(off, vl);
    off += vl;
  }
  return true;
}

// The chunk header body "<gen> <count> <size>" of a stored value, by the doc.
struct Header {
  std::string gen;
  size_t count = 0, size = 0;
};
bool ParseHeader(const std::string& stored, Header* h) {
  if (stored.empty() || stored[0] != '\x01') return false;
  std::istringstream in(stored.substr(1));
  if (!(in >> h->gen >> h->count >> h->size)) return false;
  std::string rest;
  return !(in >> rest) && h->gen.size() == 32 && h->gen.find_first_not_of("0123456789abcdef") == std::string::npos;
}

// The stored framing with every generation replaced by its order of first
// appearance: what must not change between writers.
KvMap Normalized(const KvMap& raw) {
  std::map<std::string, std::string> gens;
  for (const auto& [k, v] : raw) {
    Header h;
    if (k.rfind(kMetaSub, 0) == 0 && ParseHeader(v, &h) && !gens.count(h.gen)) {
      gens[h.gen] = "gen" + std::to_string(gens.size());
    }
  }
  auto swap = [&](std::string s) {
    for (const auto& [g, name] : gens) {
      for (size_t at = s.find(g); at != std::string::npos; at = s.find(g, at + name.size())) s.replace(at, g.size(), name);
    }
    return s;
  };
  KvMap out;
  for (const auto& [k, v] : raw) out[swap(k)] = swap(v);
  return out;
}

TEST(EtcdFormatFixtureTest, CommittedEtcdValuesRead) {
  const std::string path = std::string(KITE_SOURCE_DIR) + "/tests/fixtures/formats/etcd_meta/kvs.bin";
  std::string bytes;
  {
    std::ifstream f(path, std::ios::binary);
    if (f) {
      std::stringstream ss;
      ss << f.rdbuf();
      bytes = ss.str();
    }
  }
  if (bytes.empty()) {
    ASSERT_NE(std::getenv("KITE_WRITE_FORMAT_FIXTURES"), nullptr) << path << " is missing";
    bytes = Encode(WriteToday());
    std::ofstream(path, std::ios::binary) << bytes;
  }
  KvMap fixture;
  ASSERT_TRUE(Decode(bytes, &fixture)) << path << " is not a list of key/value records";
  const KvMap want = Values();

  // The stored bytes by the doc's layout.
  size_t chunked = 0;
  for (const auto& [key, value] : want) {
    auto it = fixture.find(kMetaSub + key);
    ASSERT_NE(it, fixture.end()) << key;
    const std::string& stored = it->second;
    if (value.size() <= kChunkBytes) {
      EXPECT_EQ(stored, std::string(1, '\0') + value) << key;
      continue;
    }
    ++chunked;
    Header h;
    ASSERT_TRUE(ParseHeader(stored, &h)) << key << ": " << stored;
    EXPECT_EQ(h.size, value.size()) << key;
    EXPECT_EQ(h.count, (value.size() + kChunkBytes - 1) / kChunkBytes) << key;
    std::string joined;
    for (size_t i = 0; i < h.count; ++i) {
      char idx[24];
      std::snprintf(idx, sizeof idx, "%08zu", i);
      auto c = fixture.find(std::string(kChunkSub) + h.gen + "/" + idx);
      ASSERT_NE(c, fixture.end()) << key << " chunk " << i;
      EXPECT_LE(c->second.size(), kChunkBytes);
      joined += c->second;
    }
    EXPECT_TRUE(joined == value) << key;
  }
  EXPECT_EQ(chunked, 2u);
  EXPECT_EQ(fixture.size(), want.size() + 5 + 2) << "meta keys, then the chunks of kite/big and kite/two";

  // EtcdMetaStore reads the committed keys back as the values they stand for.
  const std::string root = FreshRoot("old");
  {
    auto kv = RawKv();
    for (const auto& [k, v] : fixture) {
      etcdserverpb::PutRequest put;
      put.set_key(root + k);
      put.set_value(v);
      etcdserverpb::PutResponse resp;
      grpc::ClientContext ctx;
      grpc::Status s = kv->Put(&ctx, put, &resp);
      ASSERT_TRUE(s.ok()) << s.error_message();
    }
  }
  auto m = Open(root);
  ASSERT_NE(m, nullptr);
  KvMap scanned;
  Status st = m->Scan("kite/", [&](std::string_view k, std::string_view v) { scanned.emplace(k, v); });
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_TRUE(scanned == want);
  for (const auto& [k, v] : want) {
    auto got = m->Get(k);
    ASSERT_TRUE(got.ok()) << k << ": " << got.status().ToString();
    ASSERT_TRUE(got->has_value()) << k;
    EXPECT_TRUE(**got == v) << k;
  }

  // Today's writer stores the same framing.
  EXPECT_TRUE(Normalized(WriteToday()) == Normalized(fixture))
      << "today's EtcdMetaStore stores other bytes (a format change needs a new fixture beside this one)";
}

}  // namespace
}  // namespace kite
