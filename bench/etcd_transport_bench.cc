// Measures the two ways Kite could talk to etcd (ARCHITECTURE.md, "Meta store
// on etcd"): gRPC (the EtcdMetaStore itself, C++ generated from the etcd3
// package's descriptors) and etcd's JSON gateway over libcurl (a minimal
// client here: a kept-alive curl handle, nlohmann::json, base64). Same
// operations both ways: a small Commit (a Txn of two puts) and a Scan of 1000
// keys of 100 bytes (one range request of limit 1000, keys and values decoded).
//
//   ninja -C build kite_etcd_transport_bench && build/bench/kite_etcd_transport_bench 127.0.0.1:2379
#include <curl/curl.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "storage/meta/etcd_meta_store.h"

namespace {

using json = nlohmann::json;
const char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string B64(std::string_view in) {
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    for (int s : {18, 12, 6, 0}) out += kB64[(v >> s) & 63];
  }
  if (i + 1 == in.size()) {
    uint32_t v = uint8_t(in[i]) << 16;
    out += kB64[v >> 18];
    out += kB64[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    for (int s : {18, 12, 6}) out += kB64[(v >> s) & 63];
    out += '=';
  }
  return out;
}

std::string UnB64(std::string_view in) {
  static const auto table = [] {
    std::array<int8_t, 256> t;
    t.fill(-1);
    for (int i = 0; i < 64; ++i) t[uint8_t(kB64[i])] = int8_t(i);
    return t;
  }();
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int8_t v = table[uint8_t(c)];
    if (v < 0) break;
    acc = (acc << 6) | uint32_t(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += char((acc >> bits) & 0xff);
    }
  }
  return out;
}

size_t Append(char* d, size_t s, size_t n, void* out) {
  static_cast<std::string*>(out)->append(d, s * n);
  return s * n;
}

json Post(CURL* c, const std::string& url, const json& body) {
  std::string payload = body.dump(), response;
  curl_slist* h = curl_slist_append(nullptr, "Content-Type: application/json");
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, payload.c_str());
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, Append);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &response);
  curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
  CURLcode rc = curl_easy_perform(c);
  curl_slist_free_all(h);
  if (rc != CURLE_OK) {
    std::fprintf(stderr, "%s: %s\n", url.c_str(), curl_easy_strerror(rc));
    std::exit(1);
  }
  return json::parse(response);
}

std::pair<double, double> TimeUs(int n, const std::function<void()>& fn) {
  std::vector<double> us;
  for (int i = 0; i < n; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    fn();
    us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(us.begin(), us.end());
  return {us[us.size() / 2], us[us.size() * 99 / 100]};
}

}  // namespace

int main(int argc, char** argv) {
  std::string endpoint = argc > 1 ? argv[1] : "127.0.0.1:2379";
  kite::EtcdMetaStoreOptions o;
  o.endpoints = {endpoint};
  o.key_prefix = "bench/meta/";
  o.chunk_prefix = "bench/kv/chunks/";
  auto store = kite::OpenEtcdMetaStore(o);
  if (!store.ok()) {
    std::fprintf(stderr, "%s\n", store.status().ToString().c_str());
    return 1;
  }
  kite::MetaStore* m = store->get();
  for (int b = 0; b < 10; ++b) {  // etcd's default --max-txn-ops is 128
    kite::MetaBatch fill;
    for (int i = b * 100; i < (b + 1) * 100; ++i) {
      char k[32];
      std::snprintf(k, sizeof k, "scan/%04d", i);
      fill.Put(k, std::string(100, 'v'));
    }
    kite::Status st = m->Commit(fill);
    if (!st.ok()) {
      std::fprintf(stderr, "%s\n", st.ToString().c_str());
      return 1;
    }
  }

  int i = 0;
  auto grpc_commit = TimeUs(1000, [&] {
    kite::MetaBatch b;
    b.Put("k", std::to_string(i++));
    b.Put("j", "x");
    if (!m->Commit(b).ok()) std::exit(1);
  });
  auto grpc_scan = TimeUs(200, [&] {
    size_t n = 0;
    if (!m->Scan("scan/", [&](std::string_view, std::string_view) { ++n; }).ok() || n != 1000) std::exit(1);
  });

  curl_global_init(CURL_GLOBAL_DEFAULT);
  CURL* c = curl_easy_init();
  const std::string base = "http://" + endpoint;
  auto json_commit = TimeUs(1000, [&] {
    json success = json::array();
    success.push_back({{"request_put", {{"key", B64("bench/meta/k")}, {"value", B64(std::string(1, '\0') + std::to_string(i++))}}}});
    success.push_back({{"request_put", {{"key", B64("bench/meta/j")}, {"value", B64(std::string(1, '\0') + "x")}}}});
    json r = Post(c, base + "/v3/kv/txn", json{{"success", success}});
    if (!r.value("succeeded", false)) std::exit(1);
  });
  auto json_scan = TimeUs(200, [&] {
    json r = Post(c, base + "/v3/kv/range",
                  json{{"key", B64("bench/meta/scan/")}, {"range_end", B64("bench/meta/scan0")}, {"limit", "1000"}});
    size_t n = 0;
    for (const json& kv : r["kvs"]) {
      std::string key = UnB64(kv["key"].get<std::string>());
      std::string value = UnB64(kv["value"].get<std::string>());
      n += !key.empty();
    }
    if (n != 1000) std::exit(1);
  });
  curl_easy_cleanup(c);
  std::printf("small commit   gRPC p50 %6.0f us p99 %6.0f us | JSON gateway p50 %6.0f us p99 %6.0f us\n",
              grpc_commit.first, grpc_commit.second, json_commit.first, json_commit.second);
  std::printf("1000-key scan  gRPC p50 %6.0f us p99 %6.0f us | JSON gateway p50 %6.0f us p99 %6.0f us\n",
              grpc_scan.first, grpc_scan.second, json_scan.first, json_scan.second);
  return 0;
}
