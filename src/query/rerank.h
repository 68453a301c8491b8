// Rerankers: fuse or rescore the hit lists of one or more vector searches into
// one ranked list, as Milvus 2.6's function rerankers do
// (internal/util/function/rerank: rrf, weighted, decay). Used by the proxy for
// `search(ranker=Function(...))` (one list) and for hybrid search (one list per
// AnnSearchRequest). Pure functions over Kite types; thread-safe.
//
// Scores follow Milvus exactly, in float32 where Milvus computes in float32:
// * RRF (Cormack et al., "Reciprocal Rank Fusion outperforms Condorcet and
//   individual rank learning methods", SIGIR 2009): sum over lists of
//   1 / (k + rank), rank counted from 1 in each list.
// * Weighted: sum over lists of w_i * f(score_i). With norm_score, f maps
//   each metric to [0, 1]: COSINE (1 + s) / 2, IP 1/2 + atan(s) / pi, BM25
//   2 atan(s) / pi, distances (L2, HAMMING, ...) 1 - 2 atan(d) / pi. Without
//   it f is the identity, except that when the lists mix larger-is-better
//   and smaller-is-better metrics the distances become 1 - 2 atan(d) / pi.
// * Decay: relevance (the score, or 1 - 2 atan(d) / pi for a distance; the
//   best of the lists when an id is in several) times a decay of the
//   distance a = max(0, |v - origin| - offset) of a numeric field's value v:
//   gauss exp(ln(decay) a^2 / scale^2), exp exp(ln(decay) a / scale), linear
//   max(decay, 1 - (1 - decay) a / scale).
// Results are sorted best first, ties broken by primary key ascending.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "query/reduce.h"
#include "schema/collection_schema.h"

namespace kite {

// A Rerank function as the client sent it (Milvus FunctionSchema).
struct RerankRequest {
  std::string name;
  std::vector<std::string> input_field_names;
  std::vector<std::string> output_field_names;
  std::vector<std::pair<std::string, std::string>> params;  // in the order sent
};

enum class RerankKind { kRrf, kWeighted, kDecay };
enum class DecayShape { kGauss, kExp, kLinear };

// The rank params of Milvus's legacy rankers (RRFRanker / WeightedRanker:
// `strategy` rrf|weighted and `params` JSON {"k": ..} or {"weights": [..],
// "norm_score": bool}) as the equivalent rerank function, as Milvus converts
// them (rerank.NewFunctionScoreWithlegacy); no strategy means RRF.
Result<RerankRequest> LegacyRerankRequest(const std::optional<std::string>& strategy,
                                          const std::optional<std::string>& params_json);

// A validated reranker.
struct Reranker {
  RerankKind kind = RerankKind::kRrf;
  float rrf_k = 60;
  std::vector<float> weights;
  bool norm_score = false;
  DecayShape shape = DecayShape::kGauss;
  double origin = 0, scale = 1, offset = 0, decay = 0.5;
  const FieldSchema* input = nullptr;  // decay: the numeric field (borrowed from the schema)

  // Milvus: decay cannot rank groups (IsSupportGroup false); rrf and weighted can.
  bool supports_group() const { return kind != RerankKind::kDecay; }
};

// Validates `req` against `schema` with Milvus 2.6's checks and messages.
// Errors carry Reason::kUnclassified (Milvus answers them with code 65535)
// except where Milvus uses a merr error. Returns nullopt for the boost ranker,
// which Milvus applies per segment rather than at the proxy.
Result<std::optional<Reranker>> ParseReranker(const RerankRequest& req, const CollectionSchema& schema);

// The boost ranker (Milvus 2.6.2+): applied to each segment's candidates
// before the merge. Each boost whose `filter` a candidate matches (every
// candidate when it is empty) gives it a value, `weight`; a candidate's
// values are combined by the FunctionScore's `function_mode` ("multiply", the
// default: their product, or "sum"), and the combination is applied to its
// score by `boost_mode` ("multiply", the default: score x combination, or
// "sum": score + combination). Candidates no boost matches keep their score
// (Milvus's rescores: ComputeFunctionScores, function_score_merge).
//
// With `random_score` {"seed": N, "field": "<int64 field>"} (both optional)
// the factor is weight x RandomBoostScore(seed, key) instead of the weight,
// key being the row's field value, else its segment offset + segment id
// (Milvus's rescores::RandomScorer).
struct BoostRanker {
  std::string filter;
  float weight = 1;
  bool sum = false;           // boost_mode sum (the same for every boost of a request)
  bool function_sum = false;  // function_mode sum (likewise)
  bool random = false;
  int64_t seed = 0;
  FieldId random_field;  // invalid: offset + segment id
};

// Milvus's random boost value of `key` under `seed`: MurmurHash3 x64 of the
// 16 bytes (key, seed), its low 52 bits as the mantissa of a double in [1, 2),
// minus 1.
double RandomBoostScore(uint64_t key, uint64_t seed);

// Validates a boost function (reranker "boost"); `score_params` are the
// FunctionScore's params (boost_mode).
Result<BoostRanker> ParseBoost(const RerankRequest& req,
                               const std::vector<std::pair<std::string, std::string>>& score_params,
                               const CollectionSchema& schema);
bool IsBoostRequest(const RerankRequest& req);

// The search param that carries function_mode "sum" from the proxy to the
// query nodes with the boosts (absent: multiply).
inline constexpr char kBoostFunctionModeParam[] = "__boost_function_mode";

// Applies the boosts to one segment's candidates: `matched[b][i]` says whether
// boost b's filter holds for candidate i, `random_value[b][i]` is its random
// value (random_score boosts only). Scores are rewritten in place.
void ApplyBoosts(const std::vector<BoostRanker>& boosts, const std::vector<std::vector<uint8_t>>& matched,
                 const std::vector<std::vector<double>>& random_value, std::vector<float>* scores);

// Score `value` (a numeric field) by the decay function.
double DecayFactor(const Reranker& r, double value);
// Weighted's per-metric normalisation (see above).
float NormalizeScore(const std::string& metric, float score, bool norm_score, bool mixed);
// Whether larger scores are better for a metric (IP, COSINE, BM25).
bool MetricLargerIsBetter(const std::string& metric);

// One input list of a rerank: the hits of one search for one query, best
// first, the metric they were scored with, and (decay only) the input field's
// value of each hit.
struct RankedList {
  const HitList* hits = nullptr;
  std::string metric;
  const std::vector<double>* values = nullptr;
};

// Where a reranked hit came from: list index and position in it (its first
// occurrence, in list order), so callers can fetch its fields from that list.
struct RerankedHit {
  Hit hit;  // distance = the reranked score
  int32_t list = 0;
  int64_t pos = 0;
};

struct RerankOptions {
  int64_t limit = 10;
  int64_t offset = 0;
  int round_decimal = -1;  // -1: no rounding; else half up to that many decimals
  // Grouping (hybrid search with group_by_field): group key per (list, pos).
  const std::vector<std::vector<std::string>>* group_keys = nullptr;
  int64_t group_size = 1;
  bool strict_group_size = false;
  std::string group_scorer = "max";  // max, sum, avg
};

// Reranks the lists of one query. Fails when the weights do not match the
// number of lists (Milvus checks it here, at search time).
Result<std::vector<RerankedHit>> Rerank(const Reranker& r, const std::vector<RankedList>& lists,
                                        const RerankOptions& options);

}  // namespace kite
