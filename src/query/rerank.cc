#include "query/rerank.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>
#include <optional>
#include <set>

#include <nlohmann/json.hpp>

namespace kite {
namespace {

constexpr double kPi = 3.14159265358979323846;

std::string Lower(std::string s) {
  for (auto& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

// strconv.ParseFloat: the whole string must be a number.
bool ParseDouble(const std::string& s, double* out) {
  if (s.empty() || std::isspace(static_cast<unsigned char>(s[0]))) return false;
  errno = 0;
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size()) return false;
  if (errno == ERANGE && std::isinf(v)) return false;
  *out = v;
  return true;
}

// strconv.ParseBool.
bool ParseGoBool(const std::string& s, bool* out) {
  static const std::set<std::string> kTrue = {"1", "t", "T", "TRUE", "true", "True"};
  static const std::set<std::string> kFalse = {"0", "f", "F", "FALSE", "false", "False"};
  if (kTrue.count(s)) {
    *out = true;
    return true;
  }
  if (kFalse.count(s)) {
    *out = false;
    return true;
  }
  return false;
}

// Go's %s of a []string: [a b c].
std::string GoList(const std::vector<std::string>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) s += ' ';
    s += v[i];
  }
  return s + "]";
}

// The shared checks of every reranker (Milvus newRerankBase).
Status CheckInputs(const RerankRequest& req, const CollectionSchema& schema) {
  for (const auto& name : req.input_field_names) {
    if (name.empty()) return Unclassified("Rerank input field name cannot be empty string");
    if (std::count(req.input_field_names.begin(), req.input_field_names.end(), name) > 1) {
      return Unclassified("Each function input field should be used exactly once in the same function, input field: {}",
                          name);
    }
    const FieldSchema* f = schema.FindField(name);
    if (!f || f->is_dynamic) return Unclassified("Function input field not found: {}", name);
    if (f->nullable) return Unclassified("Function input field cannot be nullable: field {}", f->name);
  }
  return Status::OK();
}

Result<Reranker> ParseDecay(const RerankRequest& req, const CollectionSchema& schema) {
  Reranker r;
  r.kind = RerankKind::kDecay;
  if (req.input_field_names.size() != 1) {
    return Unclassified("Decay function only supports single input, but gets [{}] input",
                        GoList(req.input_field_names));
  }
  const FieldSchema* f = schema.FindField(req.input_field_names[0]);
  DataType t = f->type;
  if (!(IsIntegerType(t) || t == DataType::kFloat || t == DataType::kDouble)) {
    return Unclassified("Decay rerank: unsupported input field type:{}, only support numberic field", DataTypeName(t));
  }
  r.input = f;
  std::string function;
  bool has_origin = false, has_scale = false;
  for (const auto& [key, value] : req.params) {
    std::string k = Lower(key);
    auto number = [&](const char* name, double* out) -> Status {
      if (!ParseDouble(value, out)) return Unclassified("Param {}:{} is not a number", name, value);
      return Status::OK();
    };
    if (k == "function") {
      function = value;
    } else if (k == "origin") {
      KITE_RETURN_IF_ERROR(number("origin", &r.origin));
      has_origin = true;
    } else if (k == "scale") {
      KITE_RETURN_IF_ERROR(number("scale", &r.scale));
      has_scale = true;
    } else if (k == "offset") {
      KITE_RETURN_IF_ERROR(number("offset", &r.offset));
    } else if (k == "decay") {
      KITE_RETURN_IF_ERROR(number("decay", &r.decay));
    }
  }
  if (!has_origin) return Unclassified("Decay function lost param: origin");
  if (!has_scale) return Unclassified("Decay function lost param: scale");
  if (r.scale <= 0) return Unclassified("Decay function param: scale must > 0, but got {:.6f}", r.scale);
  if (r.offset < 0) return Unclassified("Decay function param: offset must >= 0, but got {:.6f}", r.offset);
  if (r.decay <= 0 || r.decay >= 1) {
    return Unclassified("Decay function param: decay must 0 < decay < 1, but got {:.6f}", r.decay);
  }
  if (function == "gauss") {
    r.shape = DecayShape::kGauss;
  } else if (function == "exp") {
    r.shape = DecayShape::kExp;
  } else if (function == "linear") {
    r.shape = DecayShape::kLinear;
  } else {
    return Unclassified("Invaild decay function: decay, only support [gauss,linear,exp]");
  }
  return r;
}

Result<Reranker> ParseRrf(const RerankRequest& req) {
  Reranker r;
  r.kind = RerankKind::kRrf;
  if (!req.input_field_names.empty()) {
    return Unclassified("The rrf function does not support input parameters, but got {}", GoList(req.input_field_names));
  }
  double k = 60;
  for (const auto& [key, value] : req.params) {
    if (Lower(key) != "k") continue;
    if (!ParseDouble(value, &k)) return Unclassified("Param k:{} is not a number", value);
  }
  if (k <= 0 || k >= 16384) return Unclassified("The rank params k should be in range (0, 16384)");
  r.rrf_k = static_cast<float>(k);
  return r;
}

Result<Reranker> ParseWeighted(const RerankRequest& req) {
  Reranker r;
  r.kind = RerankKind::kWeighted;
  if (!req.input_field_names.empty()) {
    return Unclassified("The weighted function does not support input parameters, but got {}",
                        GoList(req.input_field_names));
  }
  bool has_weights = false;
  for (const auto& [key, value] : req.params) {
    std::string k = Lower(key);
    if (k == "weights") {
      nlohmann::json j = nlohmann::json::parse(value, nullptr, false);
      bool ok = !j.is_discarded() && (j.is_array() || j.is_null());
      std::vector<float> w;
      if (ok && j.is_array()) {
        for (const auto& x : j) {
          if (!x.is_number()) {
            ok = false;
            break;
          }
          w.push_back(x.get<float>());
        }
      }
      if (!ok) return Unclassified("Parse weights param failed, weight should be []float, bug got: {}", value);
      for (float x : w) {
        if (x < 0 || x > 1) return Unclassified("rank param weight should be in range [0, 1]");
      }
      r.weights = std::move(w);
      has_weights = !r.weights.empty();
    } else if (k == "norm_score") {
      if (!ParseGoBool(value, &r.norm_score)) {
        return Unclassified("norm_score params must be true/false, bug got {}", value);
      }
    }
  }
  if (!has_weights) return Unclassified("weights not found");
  return r;
}

float RoundScore(float score, int round_decimal) {
  if (round_decimal == -1) return score;
  double m = std::pow(10.0, round_decimal);
  return static_cast<float>(std::floor(static_cast<double>(score) * m + 0.5) / m);
}

// Go evaluates these in float32 (math.Pi converts to float32 in the expression).
float Atan32(float d) { return static_cast<float>(std::atan(static_cast<double>(d))); }
float Atan01(float d) { return 2 * Atan32(d) / static_cast<float>(kPi); }

// Go's %T of a decoded JSON value.
std::string GoJsonType(const nlohmann::json& j) {
  if (j.is_string()) return "string";
  if (j.is_number()) return "float64";
  if (j.is_boolean()) return "bool";
  if (j.is_array()) return "[]interface {}";
  if (j.is_object()) return "map[string]interface {}";
  return "<nil>";
}

}  // namespace

bool IsBoostRequest(const RerankRequest& req) {
  for (const auto& [key, value] : req.params) {
    if (Lower(key) == "reranker") return Lower(value) == "boost";
  }
  return false;
}

namespace {

uint64_t Rotl64(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

uint64_t Fmix64(uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdULL;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ULL;
  k ^= k >> 33;
  return k;
}

// Milvus's random_score params: {"seed": <number>, "field": "<int64 field>"}
// (prepareBoostRandomParams: a JSON object decoded with UseNumber).
Status ParseRandomScore(const std::string& text, const CollectionSchema& schema, BoostRanker* b) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded()) {
    // Go's json decoder on what is not JSON (pymilvus sends a dict as its Python repr).
    std::string first;
    for (char ch : text) {
      if (!std::isspace(static_cast<unsigned char>(ch))) {
        first = ch;
        break;
      }
    }
    if (first == "{" && text.find('\'') != std::string::npos) {
      return Unclassified("invalid character '\\'' looking for beginning of object key string");
    }
    return Unclassified("random_score params {} is not valid json", text);
  }
  if (!j.is_object()) {
    return Unclassified("json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
                        j.is_array() ? "array" : j.is_string() ? "string" : j.is_number() ? "number" : "bool");
  }
  b->random = true;
  for (const auto& [key, value] : j.items()) {
    if (key == "field") {
      if (!value.is_string()) return InvalidArgument("random seed field name must be string: invalid parameter");
      const FieldSchema* f = schema.FindField(value.get<std::string>());
      if (!f) {
        return MakeStatus(StatusCode::kNotFound, Reason::kFieldNotFound,
                          "random seed field not found: field not found[field={}]", value.get<std::string>());
      }
      if (f->type != DataType::kInt64) {
        return InvalidArgument("only support int64 field as random seed, but got {}: invalid parameter",
                               DataTypeName(f->type));
      }
      b->random_field = f->id;
    } else if (key == "seed") {
      if (!value.is_number()) return InvalidArgument("random seed must be number: invalid parameter");
      if (value.is_number_integer()) {
        b->seed = value.get<int64_t>();
      } else {
        b->seed = static_cast<int64_t>(value.get<double>());
      }
    }
  }
  return Status::OK();
}

}  // namespace

double RandomBoostScore(uint64_t key, uint64_t seed) {
  // MurmurHash3_x64_128 of one 16-byte block (key, seed) with hash seed `key ^ seed`, first half.
  const uint64_t c1 = 0x87c37b91114253d5ULL, c2 = 0x4cf5ad432745937fULL;
  uint64_t h1 = key ^ seed, h2 = seed;
  uint64_t k1 = key * c1;
  k1 = Rotl64(k1, 31) * c2;
  h1 ^= k1;
  h1 = Rotl64(h1, 27) + h2;
  h1 = h1 * 5 + 0x52dce729;
  uint64_t k2 = seed * c2;
  k2 = Rotl64(k2, 33) * c1;
  h2 ^= k2;
  h2 = Rotl64(h2, 31) + h1;
  h2 = h2 * 5 + 0x38495ab5;
  h1 ^= 16;
  h2 ^= 16;
  h1 += h2;
  h2 += h1;
  h1 = Fmix64(h1);
  h2 = Fmix64(h2);
  h1 += h2;
  const uint64_t bits = (0x3FFULL << 52) | (h1 & 0xFFFFFFFFFFFFFULL);
  double d;
  std::memcpy(&d, &bits, sizeof d);
  return d - 1.0;
}

Result<BoostRanker> ParseBoost(const RerankRequest& req,
                               const std::vector<std::pair<std::string, std::string>>& score_params,
                               const CollectionSchema& schema) {
  // Milvus: planparserv2.CreateSearchScorer / CreateSearchScorers.
  BoostRanker b;
  std::optional<std::string> weight, random;
  for (const auto& [key, value] : req.params) {
    std::string k = Lower(key);
    if (k == "filter") {
      b.filter = value;
    } else if (k == "weight") {
      weight = value;
    } else if (k == "random_score") {
      random = value;
    }
  }
  if (!weight) return Unclassified("must set weight params for weight scorer");
  {
    // Go's strconv.ParseFloat(s, 32).
    double w = 0;
    if (!ParseDouble(*weight, &w)) {
      return Unclassified(
          "parse function scorer weight params failed with error: {{strconv.ParseFloat: parsing \"{}\": invalid "
          "syntax}}",
          *weight);
    }
    if (std::isfinite(w) && std::fabs(w) > std::numeric_limits<float>::max()) {
      return Unclassified(
          "parse function scorer weight params failed with error: {{strconv.ParseFloat: parsing \"{}\": value out "
          "of range}}",
          *weight);
    }
    b.weight = static_cast<float>(w);
  }
  if (random) KITE_RETURN_IF_ERROR(ParseRandomScore(*random, schema, &b));
  for (const auto& [key, value] : score_params) {
    const std::string k = key;
    if (k != "boost_mode" && k != "function_mode") continue;
    const std::string mode = Lower(value);
    if (mode != "multiply" && mode != "sum") {
      return InvalidArgument("unknown {} mode: {}: invalid parameter", k == "boost_mode" ? "boost" : "function",
                             mode);
    }
    (k == "boost_mode" ? b.sum : b.function_sum) = mode == "sum";
  }
  return b;
}

void ApplyBoosts(const std::vector<BoostRanker>& boosts, const std::vector<std::vector<uint8_t>>& matched,
                 const std::vector<std::vector<double>>& random_value, std::vector<float>* scores) {
  if (boosts.empty()) return;
  const bool boost_sum = boosts.front().sum, function_sum = boosts.front().function_sum;
  std::vector<std::optional<float>> fs(scores->size());
  for (size_t b = 0; b < boosts.size(); ++b) {
    for (size_t i = 0; i < scores->size(); ++i) {
      if (!matched[b][i]) continue;
      const float v = boosts[b].random ? static_cast<float>(random_value[b][i]) * boosts[b].weight : boosts[b].weight;
      fs[i] = !fs[i] ? v : function_sum ? *fs[i] + v : *fs[i] * v;
    }
  }
  for (size_t i = 0; i < scores->size(); ++i) {
    if (fs[i]) (*scores)[i] = boost_sum ? (*scores)[i] + *fs[i] : (*scores)[i] * *fs[i];
  }
}

Result<RerankRequest> LegacyRerankRequest(const std::optional<std::string>& strategy,
                                          const std::optional<std::string>& params) {
  RerankRequest r;
  if (!strategy) {
    r.params.emplace_back("reranker", "rrf");
    return r;
  }
  if (*strategy != "rrf" && *strategy != "weighted") return Unclassified("unsupported rank type {}", *strategy);
  if (!params) return Unclassified("params not found in rank_params");
  nlohmann::json j = nlohmann::json::parse(*params, nullptr, false);
  if (j.is_discarded() || !(j.is_object() || j.is_null())) {
    return Unclassified("Parse rerank params failed, err: {} is not a JSON object", *params);
  }
  if (j.is_null()) j = nlohmann::json::object();
  r.params.emplace_back("reranker", *strategy);
  if (*strategy == "rrf") {
    if (j.contains("k")) {
      if (!j.at("k").is_number()) return Unclassified("The type of rank param k should be float");
      r.params.emplace_back("k", fmt::format("{}", j.at("k").get<double>()));
    }
  } else {
    if (j.contains("weights")) r.params.emplace_back("weights", j.at("weights").dump());
    if (j.contains("norm_score")) {
      const auto& ns = j.at("norm_score");
      if (!ns.is_boolean()) {
        return Unclassified("Weighted rerank err, norm_score should been bool type, but [norm_score:{}]'s type is {}",
                            ns.dump(), GoJsonType(ns));
      }
      r.params.emplace_back("norm_score", ns.get<bool>() ? "true" : "false");
    }
  }
  return r;
}

bool MetricLargerIsBetter(const std::string& metric) {
  std::string m = metric;
  for (auto& ch : m) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  return m == "IP" || m == "COSINE" || m == "BM25";
}

float NormalizeScore(const std::string& metric, float s, bool norm_score, bool mixed) {
  std::string m = metric;
  for (auto& ch : m) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  if (!norm_score) {
    if (!mixed || MetricLargerIsBetter(m)) return s;
    return 1.0f - Atan01(s);
  }
  if (m == "COSINE") return (1 + s) * 0.5f;
  if (m == "IP") return 0.5f + Atan32(s) / static_cast<float>(kPi);
  if (m == "BM25") return Atan01(s);
  return 1.0f - Atan01(s);
}

double DecayFactor(const Reranker& r, double v) {
  double a = std::max(0.0, std::fabs(v - r.origin) - r.offset);
  switch (r.shape) {
    case DecayShape::kGauss:
      return std::exp(std::pow(a, 2.0) / (std::pow(r.scale, 2.0) / std::log(r.decay)));
    case DecayShape::kExp:
      return std::exp(std::log(r.decay) / r.scale * a);
    case DecayShape::kLinear:
      return std::max(r.decay, 1 - (1 - r.decay) / r.scale * a);
  }
  return 1;
}

Result<std::optional<Reranker>> ParseReranker(const RerankRequest& req, const CollectionSchema& schema) {
  if (!req.output_field_names.empty()) {
    return Unclassified("Rerank function should not have output field, but now is {}", req.output_field_names.size());
  }
  std::string name;
  for (const auto& [key, value] : req.params) {
    if (Lower(key) == "reranker") name = Lower(value);
  }
  if (name == "boost") return std::optional<Reranker>();
  if (name != "decay" && name != "model" && name != "rrf" && name != "weighted") {
    return Unclassified("Unsupported rerank function: [{}] , list of supported [decay,model,rrf,weighted]", name);
  }
  KITE_RETURN_IF_ERROR(CheckInputs(req, schema));
  if (name == "model") {
    return MakeStatus(StatusCode::kUnimplemented, Reason::kNone,
                      "the model reranker (an external rerank service) is not implemented yet in Kite");
  }
  Result<Reranker> r = name == "decay" ? ParseDecay(req, schema) : name == "rrf" ? ParseRrf(req) : ParseWeighted(req);
  if (!r.ok()) return r.status();
  return std::optional<Reranker>(std::move(r).value());
}

Result<std::vector<RerankedHit>> Rerank(const Reranker& r, const std::vector<RankedList>& lists,
                                        const RerankOptions& opt) {
  if (r.kind == RerankKind::kWeighted && lists.size() != r.weights.size()) {
    return InvalidArgument(
        "the length of weights param mismatch with ann search requests: invalid parameter[expected={}][actual={}]",
        lists.size(), r.weights.size());
  }
  // Score per primary key, and where it was first seen.
  struct Entry {
    float score = 0;
    RerankedHit first;
  };
  std::map<PrimaryKey, Entry> scores;
  bool larger = false, smaller = false;
  for (const auto& l : lists) (MetricLargerIsBetter(l.metric) ? larger : smaller) = true;
  const bool mixed = larger && smaller;
  for (int32_t i = 0; i < static_cast<int32_t>(lists.size()); ++i) {
    const HitList& hits = *lists[i].hits;
    for (int64_t j = 0; j < static_cast<int64_t>(hits.size()); ++j) {
      const Hit& h = hits[j];
      float s = 0;
      switch (r.kind) {
        case RerankKind::kRrf:
          s = 1 / (r.rrf_k + static_cast<float>(j + 1));
          break;
        case RerankKind::kWeighted:
          s = r.weights[i] * NormalizeScore(lists[i].metric, h.distance, r.norm_score, mixed);
          break;
        case RerankKind::kDecay:
          s = MetricLargerIsBetter(lists[i].metric) ? h.distance : 1.0f - Atan01(h.distance);
          break;
      }
      auto [it, fresh] = scores.try_emplace(h.pk);
      if (fresh) {
        it->second.score = s;
        it->second.first = RerankedHit{h, i, j};
      } else if (r.kind == RerankKind::kDecay) {
        it->second.score = std::max(it->second.score, s);
      } else {
        it->second.score += s;
      }
    }
  }
  if (r.kind == RerankKind::kDecay) {
    for (auto& [pk, e] : scores) {
      const RerankedHit& f = e.first;
      float factor = static_cast<float>(DecayFactor(r, (*lists[f.list].values)[f.pos]));
      e.score = factor * e.score;
    }
  }
  // Weighted sorts ascending when nothing is normalised and every list is a distance.
  const bool descending = r.kind != RerankKind::kWeighted || r.norm_score || !smaller || mixed;
  std::vector<Entry*> order;
  order.reserve(scores.size());
  for (auto& [pk, e] : scores) order.push_back(&e);
  auto better = [&](const Entry* a, const Entry* b) {
    if (a->score != b->score) return descending ? a->score > b->score : a->score < b->score;
    return a->first.hit.pk < b->first.hit.pk;
  };
  std::vector<RerankedHit> out;
  if (opt.group_keys == nullptr) {
    std::sort(order.begin(), order.end(), better);
    for (int64_t i = opt.offset; i < static_cast<int64_t>(order.size()) && i < opt.offset + opt.limit; ++i) {
      RerankedHit h = order[i]->first;
      h.hit.distance = RoundScore(order[i]->score, opt.round_decimal);
      out.push_back(std::move(h));
    }
    return out;
  }
  // Grouping (Milvus newGroupingIDScores): ids by score descending fill their
  // group up to group_size; groups ranked by max/sum/avg of their scores.
  std::sort(order.begin(), order.end(), [&](const Entry* a, const Entry* b) {
    if (a->score != b->score) return a->score > b->score;
    return a->first.hit.pk < b->first.hit.pk;
  });
  struct Group {
    std::vector<const Entry*> members;
    float max_score = 0, sum_score = 0, final_score = 0;
  };
  std::map<std::string, Group> groups;
  for (const Entry* e : order) {
    const std::string& key = (*opt.group_keys)[e->first.list][e->first.pos];
    Group& g = groups[key];
    if (static_cast<int64_t>(g.members.size()) >= opt.group_size) continue;
    g.members.push_back(e);
    if (e->score > g.max_score) g.max_score = e->score;
    g.sum_score += e->score;
  }
  std::vector<Group*> ranked;
  for (auto& [key, g] : groups) {
    if (opt.group_scorer == "max") {
      g.final_score = g.max_score;
    } else if (opt.group_scorer == "sum") {
      g.final_score = g.sum_score;
    } else if (opt.group_scorer == "avg") {
      g.final_score = g.sum_score / static_cast<float>(g.members.size());
    } else {
      return InvalidArgument("input group scorer type: {} is not supported!", opt.group_scorer);
    }
    ranked.push_back(&g);
  }
  std::sort(ranked.begin(), ranked.end(), [](const Group* a, const Group* b) {
    if (a->final_score != b->final_score) return a->final_score > b->final_score;
    if (a->members.size() != b->members.size()) return a->members.size() > b->members.size();
    return a->members[0]->first.hit.pk < b->members[0]->first.hit.pk;
  });
  for (int64_t i = opt.offset; i < static_cast<int64_t>(ranked.size()) && i < opt.offset + opt.limit; ++i) {
    const Group& g = *ranked[i];
    if (opt.strict_group_size && static_cast<int64_t>(g.members.size()) < opt.group_size) continue;
    for (const Entry* e : g.members) {
      RerankedHit h = e->first;
      h.hit.distance = RoundScore(e->score, opt.round_decimal);
      out.push_back(std::move(h));
    }
  }
  return out;
}

}  // namespace kite
