// kite_loadgen: a closed-loop Search load generator for any server that speaks the Milvus gRPC
// protocol (Kite, Milvus). It exists so that the benchmark suite can measure server speed without
// the Python client's per-request cost hiding it.
//
// C threads, each with its own gRPC channel, send Search requests back to back for T seconds
// (after a warm-up that is not counted), cycling over the query vectors from a per-thread offset.
// Each request carries --batch query vectors (nq, default 1: one query per request, what an
// application answering one user at a time sends; a larger batch is what a bulk or offline caller
// sends, and is how an in-process kernel is usually measured).
// The request is built field for field as pymilvus 2.6 builds it (client/prepare.py,
// search_requests_with_expr): a PlaceholderGroup with one FloatVector placeholder tagged "$0", and
// search_params key/value pairs topk, round_decimal, ignore_growing, metric_type, anns_field and
// params (a JSON object holding the index knobs and the metric type).
//
// Output: one JSON object on stdout:
//   {"requests":N,"errors":E,"seconds":S,"qps":Q,"p50_ms":..,"p99_ms":..,"mean_ms":..,"batch":B,
// where qps counts query vectors per second (requests x batch) and the latencies are per request,
//    "recall":R (only with --gt),"first_error":"..."}
//
// Inputs are .npy files (little-endian, C order): queries float32 [nq, dim]; ground truth int64
// [nq, >=k]. Not a test of correctness: the suite checks recall separately through pymilvus too.

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "milvus.grpc.pb.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string address = "127.0.0.1:19530";
  std::string collection;
  std::string field = "vec";
  std::string metric = "L2";
  std::string params_json = "{}";  // e.g. {"ef":64}
  std::string filter;
  std::string queries_path;
  std::string gt_path;
  int topk = 10;
  int concurrency = 1;
  double duration_s = 5.0;
  double warmup_s = 0.5;
  int64_t max_queries = 0;  // 0: all rows of the query file
  int batch = 1;              // query vectors per request (nq)
  std::string authorization;  // base64("user:password") from --token, sent as pymilvus sends it
};

std::string Base64(const std::string& in) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out.push_back(kAlphabet[(v >> s) & 63]);
  }
  if (i < in.size()) {
    uint32_t v = uint8_t(in[i]) << 16;
    if (i + 1 < in.size()) v |= uint8_t(in[i + 1]) << 8;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(i + 1 < in.size() ? kAlphabet[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

// A 2-D .npy array: shape and raw little-endian payload.
struct NpyArray {
  int64_t rows = 0;
  int64_t cols = 0;
  std::string dtype;  // "<f4" or "<i8"
  std::vector<char> data;
};

NpyArray ReadNpy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  char magic[6];
  in.read(magic, 6);
  if (std::memcmp(magic, "\x93NUMPY", 6) != 0) throw std::runtime_error(path + ": not a .npy file");
  uint8_t major = 0, minor = 0;
  in.read(reinterpret_cast<char*>(&major), 1);
  in.read(reinterpret_cast<char*>(&minor), 1);
  uint32_t header_len = 0;
  if (major == 1) {
    uint16_t h = 0;
    in.read(reinterpret_cast<char*>(&h), 2);
    header_len = h;
  } else {
    in.read(reinterpret_cast<char*>(&header_len), 4);
  }
  std::string header(header_len, '\0');
  in.read(header.data(), header_len);
  if (header.find("'fortran_order': False") == std::string::npos)
    throw std::runtime_error(path + ": only C-order arrays are supported");
  NpyArray a;
  auto descr = header.find("'descr': '");
  if (descr == std::string::npos) throw std::runtime_error(path + ": no descr");
  a.dtype = header.substr(descr + 10, 3);
  auto shape = header.find("'shape': (");
  if (shape == std::string::npos) throw std::runtime_error(path + ": no shape");
  std::sscanf(header.c_str() + shape + 10, "%ld, %ld", &a.rows, &a.cols);
  size_t elem = a.dtype == "<f4" ? 4 : a.dtype == "<i8" ? 8 : 0;
  if (elem == 0) throw std::runtime_error(path + ": dtype " + a.dtype + " not supported");
  if (a.rows <= 0 || a.cols <= 0) throw std::runtime_error(path + ": expected a 2-D array");
  a.data.resize(static_cast<size_t>(a.rows * a.cols) * elem);
  in.read(a.data.data(), static_cast<std::streamsize>(a.data.size()));
  if (!in) throw std::runtime_error(path + ": truncated");
  return a;
}

std::string JsonEscape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

// pymilvus merges metric_type into the params JSON object (utils.get_params).
std::string ParamsWithMetric(const std::string& params_json, const std::string& metric) {
  std::string p = params_json;
  while (!p.empty() && (p.back() == ' ' || p.back() == '\n')) p.pop_back();
  if (p.size() < 2 || p.front() != '{' || p.back() != '}')
    throw std::runtime_error("--params must be a JSON object");
  if (p.find("\"metric_type\"") != std::string::npos) return p;
  std::string inner = p.substr(1, p.size() - 2);
  bool empty = inner.find_first_not_of(" \t") == std::string::npos;
  return "{" + inner + (empty ? "" : ",") + "\"metric_type\":\"" + metric + "\"}";
}

// One serialized request per query vector, built once (the server sees what pymilvus sends).
std::vector<milvus::proto::milvus::SearchRequest> BuildRequests(const Options& o, const NpyArray& q, int64_t nq) {
  namespace common = milvus::proto::common;
  std::vector<milvus::proto::milvus::SearchRequest> out;
  const std::string params = ParamsWithMetric(o.params_json, o.metric);
  const size_t row_bytes = static_cast<size_t>(q.cols) * 4;
  // Request r holds queries r*B .. r*B+B-1, wrapping around the query file.
  const int64_t nreq = (nq + o.batch - 1) / o.batch;
  for (int64_t r = 0; r < nreq; ++r) {
    milvus::proto::milvus::SearchRequest req;
    req.set_collection_name(o.collection);
    req.set_dsl(o.filter);
    req.set_dsl_type(common::DslType::BoolExprV1);
    common::PlaceholderGroup group;
    auto* ph = group.add_placeholders();
    ph->set_tag("$0");
    ph->set_type(common::PlaceholderType::FloatVector);
    for (int64_t j = 0; j < o.batch; ++j) {
      const int64_t i = (r * o.batch + j) % nq;
      ph->add_values(std::string(q.data.data() + i * row_bytes, row_bytes));
    }
    req.set_placeholder_group(group.SerializeAsString());
    auto kv = [&req](const std::string& k, const std::string& v) {
      auto* p = req.add_search_params();
      p->set_key(k);
      p->set_value(v);
    };
    kv("topk", std::to_string(o.topk));
    kv("round_decimal", "-1");
    kv("ignore_growing", "False");
    kv("metric_type", o.metric);
    kv("anns_field", o.field);
    kv("params", params);
    req.set_nq(o.batch);
    req.set_guarantee_timestamp(0);
    req.set_use_default_consistency(true);
    out.push_back(std::move(req));
  }
  return out;
}

// Milvus before 2.3 only fills the deprecated error_code; newer servers fill code (and often both).
int LegacyErrorCode(const milvus::proto::common::Status& s) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  return static_cast<int>(s.error_code());
#pragma GCC diagnostic pop
}

struct ThreadResult {
  std::vector<double> latencies_ms;
  int64_t errors = 0;
  std::string first_error;
  double recall_sum = 0;
  int64_t recall_n = 0;
};

double Percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  size_t idx = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(idx), v.end());
  return v[idx];
}

void Usage() {
  std::fprintf(stderr,
               "usage: kite_loadgen --collection NAME --queries Q.npy [--address HOST:PORT] [--field vec]\n"
               "  [--metric L2|IP|COSINE] [--params '{\"ef\":64}'] [--filter EXPR] [--topk 10]\n"
               "  [--concurrency C] [--duration S] [--warmup S] [--gt GT.npy] [--max-queries N] [--batch B]\n"
               "  [--token USER:PASSWORD]\n");
}

Options ParseArgs(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error("missing value for " + a);
      return argv[++i];
    };
    if (a == "--address") o.address = next();
    else if (a == "--collection") o.collection = next();
    else if (a == "--field") o.field = next();
    else if (a == "--metric") o.metric = next();
    else if (a == "--params") o.params_json = next();
    else if (a == "--filter") o.filter = next();
    else if (a == "--queries") o.queries_path = next();
    else if (a == "--gt") o.gt_path = next();
    else if (a == "--topk") o.topk = std::stoi(next());
    else if (a == "--concurrency") o.concurrency = std::stoi(next());
    else if (a == "--duration") o.duration_s = std::stod(next());
    else if (a == "--warmup") o.warmup_s = std::stod(next());
    else if (a == "--max-queries") o.max_queries = std::stoll(next());
    else if (a == "--batch") o.batch = std::stoi(next());
    else if (a == "--token") o.authorization = Base64(next());
    else if (a == "--help" || a == "-h") {
      Usage();
      std::exit(0);
    } else {
      throw std::runtime_error("unknown argument " + a);
    }
  }
  if (o.collection.empty() || o.queries_path.empty()) throw std::runtime_error("--collection and --queries are required");
  if (o.concurrency < 1 || o.topk < 1 || o.duration_s <= 0 || o.batch < 1)
    throw std::runtime_error("bad --concurrency/--topk/--duration/--batch");
  return o;
}

int Run(const Options& o) {
  NpyArray q = ReadNpy(o.queries_path);
  if (q.dtype != "<f4") throw std::runtime_error("queries must be float32");
  int64_t nq = o.max_queries > 0 ? std::min(o.max_queries, q.rows) : q.rows;
  NpyArray gt;
  if (!o.gt_path.empty()) {
    gt = ReadNpy(o.gt_path);
    if (gt.dtype != "<i8" || gt.rows < nq || gt.cols < o.topk)
      throw std::runtime_error("ground truth must be int64 [nq, >=topk]");
  }
  const std::vector<milvus::proto::milvus::SearchRequest> requests = BuildRequests(o, q, nq);

  std::atomic<bool> measuring{false};
  std::atomic<bool> stop{false};
  std::vector<ThreadResult> results(static_cast<size_t>(o.concurrency));
  std::vector<std::thread> threads;
  for (int t = 0; t < o.concurrency; ++t) {
    threads.emplace_back([&, t] {
      grpc::ChannelArguments args;
      args.SetMaxReceiveMessageSize(-1);
      args.SetInt("kite.loadgen.thread", t);  // a distinct argument set: one connection per thread
      args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
      auto channel = grpc::CreateCustomChannel(o.address, grpc::InsecureChannelCredentials(), args);
      auto stub = milvus::proto::milvus::MilvusService::NewStub(channel);
      ThreadResult& r = results[static_cast<size_t>(t)];
      const int64_t nreq = static_cast<int64_t>(requests.size());
      int64_t i = (nreq * t) / o.concurrency;
      while (!stop.load(std::memory_order_relaxed)) {
        const int64_t ri = i % nreq;
        ++i;
        milvus::proto::milvus::SearchResults resp;
        grpc::ClientContext ctx;
        ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
        if (!o.authorization.empty()) ctx.AddMetadata("authorization", o.authorization);
        auto t0 = Clock::now();
        grpc::Status st = stub->Search(&ctx, requests[static_cast<size_t>(ri)], &resp);
        auto t1 = Clock::now();
        if (!measuring.load(std::memory_order_relaxed)) continue;
        std::string err;
        if (!st.ok()) err = "grpc: " + st.error_message();
        else if (resp.status().code() != 0 || LegacyErrorCode(resp.status()) != 0) err = "server: " + resp.status().reason();
        if (!err.empty()) {
          if (r.errors++ == 0) r.first_error = err;
          continue;
        }
        r.latencies_ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
        if (!gt.data.empty()) {
          // Results are laid out query after query; topks[j] says how many belong to query j.
          const auto& res = resp.results();
          const auto& ids = res.ids().int_id().data();
          int64_t off = 0;
          for (int64_t j = 0; j < o.batch; ++j) {
            const int64_t qi = (ri * o.batch + j) % nq;
            const int64_t n = j < res.topks_size() ? res.topks(static_cast<int>(j)) : 0;
            const int64_t* g = reinterpret_cast<const int64_t*>(gt.data.data()) + qi * gt.cols;
            std::unordered_set<int64_t> truth(g, g + o.topk);
            int hit = 0;
            for (int64_t m = 0; m < n && m < o.topk && off + m < ids.size(); ++m)
              hit += truth.count(ids[static_cast<int>(off + m)]) ? 1 : 0;
            off += n;
            r.recall_sum += static_cast<double>(hit) / o.topk;
            r.recall_n++;
          }
        }
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(o.warmup_s));
  measuring = true;
  auto start = Clock::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(o.duration_s));
  measuring = false;
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  stop = true;
  for (auto& th : threads) th.join();

  std::vector<double> all;
  int64_t errors = 0;
  std::string first_error;
  double recall_sum = 0;
  int64_t recall_n = 0;
  for (auto& r : results) {
    all.insert(all.end(), r.latencies_ms.begin(), r.latencies_ms.end());
    errors += r.errors;
    if (first_error.empty()) first_error = r.first_error;
    recall_sum += r.recall_sum;
    recall_n += r.recall_n;
  }
  double mean = 0;
  for (double v : all) mean += v;
  mean = all.empty() ? 0 : mean / static_cast<double>(all.size());
  std::ostringstream js;
  js.precision(6);
  js << "{\"requests\":" << all.size() << ",\"errors\":" << errors << ",\"seconds\":" << seconds
     << ",\"qps\":" << static_cast<double>(all.size()) * o.batch / seconds << ",\"batch\":" << o.batch
     << ",\"mean_ms\":" << mean
     << ",\"p50_ms\":" << Percentile(all, 0.50) << ",\"p99_ms\":" << Percentile(all, 0.99)
     << ",\"concurrency\":" << o.concurrency;
  if (recall_n > 0) js << ",\"recall\":" << recall_sum / static_cast<double>(recall_n);
  if (!first_error.empty()) js << ",\"first_error\":\"" << JsonEscape(first_error) << "\"";
  js << "}\n";
  std::fputs(js.str().c_str(), stdout);
  return all.empty() ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return Run(ParseArgs(argc, argv));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kite_loadgen: %s\n", e.what());
    Usage();
    return 2;
  }
}
