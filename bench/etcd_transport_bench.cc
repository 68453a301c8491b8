// Measures the two ways Kite could talk to etcd (ARCHITECTURE.md, "Meta store
// on etcd"): the JSON gateway over libcurl (the EtcdMetaStore itself) and
// gRPC (grpc++'s GenericStub, with the few protobuf messages needed encoded
// by hand so that no etcd .proto is needed). Same operations both ways: a
// small Commit (a Txn of two puts) and a Scan of 1000 keys of 100 bytes
// (one Range of limit 1000, keys and values decoded).
//
//   ninja -C build kite_etcd_transport_bench && build/bench/kite_etcd_transport_bench 127.0.0.1:2379
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "storage/meta/etcd_meta_store.h"

namespace {

void Varint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(char(v | 0x80));
    v >>= 7;
  }
  out->push_back(char(v));
}
void Bytes(std::string* out, int field, std::string_view b) {
  Varint(out, uint64_t(field) << 3 | 2);
  Varint(out, b.size());
  out->append(b);
}
void Int(std::string* out, int field, uint64_t v) {
  Varint(out, uint64_t(field) << 3);
  Varint(out, v);
}
bool ReadVarint(std::string_view* in, uint64_t* v) {
  *v = 0;
  for (int shift = 0; !in->empty() && shift < 64; shift += 7) {
    uint8_t b = uint8_t(in->front());
    in->remove_prefix(1);
    *v |= uint64_t(b & 0x7f) << shift;
    if (!(b & 0x80)) return true;
  }
  return false;
}
// Calls fn(field, bytes) for length-delimited fields, skips varints.
void Walk(std::string_view in, const std::function<void(int, std::string_view)>& fn) {
  while (!in.empty()) {
    uint64_t tag, v;
    if (!ReadVarint(&in, &tag)) return;
    if ((tag & 7) == 0) {
      ReadVarint(&in, &v);
    } else if ((tag & 7) == 2) {
      ReadVarint(&in, &v);
      fn(int(tag >> 3), in.substr(0, v));
      in.remove_prefix(v);
    } else {
      return;
    }
  }
}

std::string Call(grpc::GenericStub& stub, grpc::CompletionQueue& cq, const std::string& method,
                 const std::string& request) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  grpc::Slice slice(request);
  grpc::ByteBuffer req(&slice, 1), resp;
  grpc::Status status;
  auto call = stub.PrepareUnaryCall(&ctx, method, req, &cq);
  call->StartCall();
  call->Finish(&resp, &status, reinterpret_cast<void*>(1));
  void* tag;
  bool ok;
  cq.Next(&tag, &ok);
  if (!status.ok()) {
    std::fprintf(stderr, "%s: %s\n", method.c_str(), status.error_message().c_str());
    std::exit(1);
  }
  std::vector<grpc::Slice> slices;
  (void)resp.Dump(&slices);
  std::string out;
  for (auto& s : slices) out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return out;
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
  kite::MetaBatch fill;
  for (int i = 0; i < 1000; ++i) {
    char k[32];
    std::snprintf(k, sizeof k, "scan/%04d", i);
    fill.Put(k, std::string(100, 'v'));
  }
  if (!m->Commit(fill).ok()) return 1;

  int i = 0;
  auto json_commit = TimeUs(1000, [&] {
    kite::MetaBatch b;
    b.Put("k", std::to_string(i++));
    b.Put("j", "x");
    if (!m->Commit(b).ok()) std::exit(1);
  });
  auto json_scan = TimeUs(200, [&] {
    size_t n = 0;
    if (!m->Scan("scan/", [&](std::string_view, std::string_view) { ++n; }).ok() || n != 1000) std::exit(1);
  });

  auto channel = grpc::CreateChannel(endpoint, grpc::InsecureChannelCredentials());
  grpc::GenericStub stub(channel);
  grpc::CompletionQueue cq;
  auto grpc_commit = TimeUs(1000, [&] {
    std::string put1, put2, op1, op2, txn;
    Bytes(&put1, 1, "bench/meta/k");
    Bytes(&put1, 2, std::string(1, '\0') + std::to_string(i++));
    Bytes(&put2, 1, "bench/meta/j");
    Bytes(&put2, 2, std::string(1, '\0') + "x");
    Bytes(&op1, 2, put1);
    Bytes(&op2, 2, put2);
    Bytes(&txn, 2, op1);
    Bytes(&txn, 2, op2);
    Call(stub, cq, "/etcdserverpb.KV/Txn", txn);
  });
  auto grpc_scan = TimeUs(200, [&] {
    std::string range;
    Bytes(&range, 1, "bench/meta/scan/");
    Bytes(&range, 2, "bench/meta/scan0");
    Int(&range, 3, 1000);
    std::string resp = Call(stub, cq, "/etcdserverpb.KV/Range", range);
    size_t n = 0;
    Walk(resp, [&](int field, std::string_view kv) {
      if (field != 2) return;
      std::string key, value;
      Walk(kv, [&](int f, std::string_view b) {
        if (f == 1) key.assign(b);
        if (f == 5) value.assign(b);
      });
      ++n;
    });
    if (n != 1000) std::exit(1);
  });
  std::printf("small commit   JSON gateway p50 %6.0f us p99 %6.0f us | gRPC p50 %6.0f us p99 %6.0f us\n",
              json_commit.first, json_commit.second, grpc_commit.first, grpc_commit.second);
  std::printf("1000-key scan  JSON gateway p50 %6.0f us p99 %6.0f us | gRPC p50 %6.0f us p99 %6.0f us\n",
              json_scan.first, json_scan.second, grpc_scan.first, grpc_scan.second);
  return 0;
}
