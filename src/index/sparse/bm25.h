// BM25 scoring of sparse term-frequency rows (Milvus's full-text search).
//
// A document row holds (term hash, term count) pairs; its length dl is the sum
// of the counts. A query row holds (term hash, query count x idf) pairs, the
// idf computed by the proxy from corpus statistics merged over every segment:
//   idf(t) = ln(1 + (N - df(t) + 0.5) / (df(t) + 0.5))
// and the score of a document is, over the terms it shares with the query,
//   sum  w(t) * tf * (k1 + 1) / (tf + k1 * (1 - b + b * dl / avgdl))
// (Robertson & Zaragoza, "The Probabilistic Relevance Framework: BM25 and
// Beyond", 2009; the same form Milvus/Knowhere use). k1, b and avgdl travel in
// the search params as "bm25_k1", "bm25_b" and "bm25_avgdl".
#pragma once

#include <cstdlib>
#include <map>
#include <string>

namespace kite::index {

struct Bm25Params {
  float k1 = 1.2f;
  float b = 0.75f;
  float avgdl = 1.0f;
};

inline Bm25Params Bm25FromParams(const std::map<std::string, std::string>& params) {
  Bm25Params p;
  auto get = [&](const char* key, float* out) {
    auto it = params.find(key);
    if (it != params.end()) *out = std::strtof(it->second.c_str(), nullptr);
  };
  get("bm25_k1", &p.k1);
  get("bm25_b", &p.b);
  get("bm25_avgdl", &p.avgdl);
  if (!(p.avgdl > 0)) p.avgdl = 1.0f;
  return p;
}

// The term-frequency part of one shared term's score.
inline float Bm25Tf(float tf, float dl, const Bm25Params& p) {
  return tf * (p.k1 + 1.0f) / (tf + p.k1 * (1.0f - p.b + p.b * dl / p.avgdl));
}

}  // namespace kite::index
