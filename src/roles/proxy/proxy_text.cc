// Full-text search in the proxy: analyzer checks at create_collection, the
// BM25 function run on insert/upsert (the output column is computed here, as
// Milvus's proxy does, and stored like any sparse column), and the
// conversion of raw query texts into BM25-weighted sparse queries with corpus
// statistics merged over every segment the search reads.
#include <cmath>
#include <cstring>
#include <map>
#include <optional>

#include "index/sparse/bm25.h"
#include "roles/proxy/proxy.h"
#include "text/analyzer.h"

namespace kite {
namespace {

Result<std::shared_ptr<const text::Analyzer>> AnalyzerOf(const FieldSchema& f) {
  auto a = text::SharedAnalyzer(f.analyzer_params());
  if (!a.ok()) return InvalidArgument("failed to create tokenizer: {}", a.status().message());
  return *a;
}

// A field's multi_analyzer_params JSON (multi-language analyzers), if it has it.
std::optional<std::string> MultiAnalyzerParams(const FieldSchema& f) {
  auto it = f.type_params.find("multi_analyzer_params");
  if (it == f.type_params.end()) return std::nullopt;
  return it->second;
}

// The input field's multi-language analyzers, if it has multi_analyzer_params.
Result<std::shared_ptr<const text::MultiAnalyzer>> MultiAnalyzerOf(const FieldSchema& f) {
  auto params = MultiAnalyzerParams(f);
  if (!params) return std::shared_ptr<const text::MultiAnalyzer>();
  return text::SharedMultiAnalyzer(*params);
}

bool IsBm25Input(const CollectionSchema& s, const FieldSchema& f) {
  for (const auto& fn : s.functions) {
    if (fn.type != kFunctionTypeBM25) continue;
    for (const auto& in : fn.input_field_names) {
      if (in == f.name) return true;
    }
  }
  return false;
}

// Milvus's validateAnalyzer for a field with multi_analyzer_params.
Status CheckMultiAnalyzerField(const CollectionSchema& s, const FieldSchema& f, const std::string& params) {
  if (f.enable_match()) {
    return Unclassified("multi analyzer now only support for bm25, but now field {} enable match", f.name);
  }
  if (f.type_params.count("analyzer_params")) {
    return Unclassified("field {} analyzer params should be none if has multi analyzer params", f.name);
  }
  auto check = [&](const std::string& name, const std::string& raw) -> Status {
    const FieldSchema* by = s.FindField(name);
    if (!by) return Unclassified("multi analyzer dependent field {} not exist in collection {}", raw, s.name);
    if (by->type != DataType::kVarChar) {
      return Unclassified("multi analyzer params now only support by string field, but field {} is not string",
                          by->name);
    }
    return Status::OK();
  };
  return text::MultiAnalyzer::Build(params, check).status();
}

// term hash -> count over the analyzed text.
std::map<uint32_t, float> TermCounts(const text::Analyzer& a, std::string_view text) {
  std::map<uint32_t, float> counts;
  for (const auto& t : a.Analyze(text)) counts[text::TermHash(t.text)] += 1.0f;
  return counts;
}

// One sparse row: (u32 index, f32 value) pairs, ascending index, little-endian.
std::string SparseRow(const std::map<uint32_t, float>& m) {
  std::string row(m.size() * 8, '\0');
  size_t i = 0;
  for (const auto& [k, v] : m) {
    std::memcpy(row.data() + i, &k, 4);
    std::memcpy(row.data() + i + 4, &v, 4);
    i += 8;
  }
  return row;
}

}  // namespace

Status PrepareTextSchema(CollectionSchema* s) {
  for (const auto& fn : s->functions) {
    for (const auto& name : fn.output_field_names) {
      for (auto& f : s->fields) {
        if (f.name == name) f.is_function_output = true;
      }
    }
  }
  for (const auto& f : s->fields) {
    if (f.type != DataType::kVarChar || !f.enable_analyzer()) continue;
    auto multi = MultiAnalyzerParams(f);
    if (multi && (f.enable_match() || IsBm25Input(*s, f))) {
      KITE_RETURN_IF_ERROR(CheckMultiAnalyzerField(*s, f, *multi));
    } else if (!multi) {
      KITE_RETURN_IF_ERROR(AnalyzerOf(f).status());
    }
  }
  return Status::OK();
}

Status FillFunctionOutputs(const CollectionSchema& s, ColumnBatch* rows) {
  for (const auto& fn : s.functions) {
    if (fn.type != kFunctionTypeBM25 || fn.input_field_names.size() != 1 || fn.output_field_names.size() != 1) continue;
    const FieldSchema* in = s.FindField(fn.input_field_names[0]);
    const FieldSchema* out = s.FindField(fn.output_field_names[0]);
    if (!in || !out) return Internal("BM25 function {} names unknown fields", fn.name);
    if (rows->Find(out->id)) {
      return InvalidArgument("Attempt to insert an unexpected function output field `{}` to collection", out->name);
    }
    const Column* text = rows->Find(in->id);
    if (!text) return Internal("BM25 input field {} missing after defaults", in->name);
    Column col = Column::ForField(*out);
    col.Reserve(rows->num_rows);
    KITE_ASSIGN_OR_RETURN(auto multi, MultiAnalyzerOf(*in));
    if (multi) {  // each row's analyzer is named by its by_field value
      const FieldSchema* by = s.FindField(multi->by_field());
      const Column* names = by ? rows->Find(by->id) : nullptr;
      if (!names) return Internal("multi analyzer field {} missing after defaults", multi->by_field());
      for (int64_t r = 0; r < rows->num_rows; ++r) {
        if (text->IsNull(r)) {
          col.AppendVar(std::string());
          continue;
        }
        std::string_view name = names->IsNull(r) ? std::string_view() : names->GetBytes(r);
        col.AppendVar(SparseRow(TermCounts(multi->For(name), text->GetBytes(r))));
      }
    } else {
      KITE_ASSIGN_OR_RETURN(auto analyzer, AnalyzerOf(*in));
      for (int64_t r = 0; r < rows->num_rows; ++r) {
        col.AppendVar(text->IsNull(r) ? std::string() : SparseRow(TermCounts(*analyzer, text->GetBytes(r))));
      }
    }
    rows->columns.push_back(std::move(col));
  }
  return Status::OK();
}

Status PrepareBm25Queries(const CollectionSchema& s, const FieldSchema& field, const SearchParams& p,
                          const Bm25StatsFn& stats, const Limits& limits, SearchPlan* plan) {
  const FunctionSchema* fn = s.Bm25FunctionFor(field.name);
  const FieldSchema* in = fn ? s.FindField(fn->input_field_names[0]) : nullptr;
  if (!in) return Internal("BM25 function of field {} has no input field", field.name);
  if (p.query_type != DataType::kVarChar) {
    return InvalidArgument("search on BM25 function output field {} requires raw text as query, got {}", field.name,
                           DataTypeName(p.query_type));
  }
  VectorQueries& q = plan->queries;
  q.field = field.id;
  q.type = DataType::kSparseFloatVector;
  q.dim = 0;
  q.nq = static_cast<int64_t>(p.query_vectors.size());
  if (q.nq == 0) return InvalidArgument("no query vectors: nq must be in [1, {}]", limits.max_nq);
  if (q.nq > limits.max_nq) {
    return InvalidArgument(
        "nq [{}] is invalid, nq (number of search vector per search request) should be in range [1, {}], but got {}",
        q.nq, limits.max_nq, q.nq);
  }
  std::shared_ptr<const text::Analyzer> analyzer;
  KITE_ASSIGN_OR_RETURN(auto multi, MultiAnalyzerOf(*in));
  if (!multi) {
    KITE_ASSIGN_OR_RETURN(analyzer, AnalyzerOf(*in));
  }
  const text::Analyzer& query_analyzer = multi ? multi->For(p.analyzer_name) : *analyzer;
  std::vector<std::map<uint32_t, float>> counts;
  std::map<uint32_t, size_t> slot;  // every query term -> position in `terms`
  std::vector<uint32_t> terms;
  for (const std::string& text : p.query_vectors) {
    counts.push_back(TermCounts(query_analyzer, text));
    for (const auto& [t, c] : counts.back()) {
      if (slot.emplace(t, terms.size()).second) terms.push_back(t);
    }
  }
  // Corpus statistics over every shard read.
  KITE_ASSIGN_OR_RETURN(Bm25Corpus corpus, stats(terms));
  const int64_t n = corpus.rows;
  const double tokens = corpus.tokens;
  const std::vector<int64_t>& df = corpus.df;
  q.rows = Column::ForField(field);
  for (auto& m : counts) {
    for (auto& [t, c] : m) {
      double d = static_cast<double>(df[slot[t]]);
      c = static_cast<float>(c * std::log(1.0 + (static_cast<double>(n) - d + 0.5) / (d + 0.5)));
    }
    q.rows.AppendVar(SparseRow(m));
  }
  plan->index_params["bm25_avgdl"] = fmt::format("{}", n > 0 ? tokens / static_cast<double>(n) : 1.0);
  return Status::OK();
}

}  // namespace kite

namespace kite {
namespace {

// run_analyzer on a field with multi_analyzer_params (Milvus's delegator
// RunAnalyzer: the names are required; one name applies to every text).
Result<std::vector<std::vector<text::Token>>> AnalyzeByNames(const text::MultiAnalyzer& multi,
                                                             const Proxy::AnalyzeParams& p) {
  if (p.analyzer_names.empty()) return Unclassified("analyzer names must be set for multi analyzer");
  std::vector<std::string> names = p.analyzer_names;
  if (names.size() == 1 && p.texts.size() > 1) names.assign(p.texts.size(), names[0]);
  if (names.size() != p.texts.size()) {
    return Unclassified("multi analyzer input text and analyzer name must have same length");
  }
  std::vector<std::vector<text::Token>> out;
  out.reserve(p.texts.size());
  for (size_t i = 0; i < p.texts.size(); ++i) out.push_back(multi.For(names[i]).Analyze(p.texts[i]));
  return out;
}

}  // namespace

Result<std::vector<std::vector<text::Token>>> Proxy::RunAnalyzer(const AnalyzeParams& p) {
  std::shared_ptr<const text::Analyzer> analyzer;
  if (!p.collection.empty()) {
    KITE_ASSIGN_OR_RETURN(CollectionView v, coord_->DescribeCollection(p.db, p.collection));
    const FieldSchema* f = v.info.schema.FindField(p.field);
    if (!f) {
      return MakeStatus(StatusCode::kNotFound, Reason::kFieldNotFound, "field {} not found in collection {}",
                        p.field, p.collection);
    }
    if (f->type != DataType::kVarChar || !f->enable_analyzer()) {
      return InvalidArgument("field {} of collection {} is not a VARCHAR field with enable_analyzer", p.field,
                             p.collection);
    }
    KITE_ASSIGN_OR_RETURN(auto multi, MultiAnalyzerOf(*f));
    if (multi) return AnalyzeByNames(*multi, p);
    KITE_ASSIGN_OR_RETURN(analyzer, AnalyzerOf(*f));
  } else {
    auto a = text::SharedAnalyzer(p.analyzer_params);
    if (!a.ok()) return InvalidArgument("failed to create analyzer: {}", a.status().message());
    analyzer = *a;
  }
  std::vector<std::vector<text::Token>> out;
  out.reserve(p.texts.size());
  for (const auto& t : p.texts) out.push_back(analyzer->Analyze(t));
  return out;
}

}  // namespace kite
