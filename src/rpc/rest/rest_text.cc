// common/run_analyzer: the REST form of RunAnalyzer (Milvus's handler_v2
// runAnalyzer): {"text": [...], "analyzerParams": "<json>", "withDetail",
// "withHash", "collectionName", "fieldName", "analyzerNames"} answered as
// {"results": [{"tokens": [{"token", "startOffset", "endOffset", "position",
// "positionLength", "hash"}]}]}.
#include "rpc/rest/rest_call.h"
#include "text/analyzer.h"

namespace kite::rest {

RestError RunAnalyzerRest(Call& c) {
  Proxy::AnalyzeParams p;
  p.db = c.db;
  const Json& b = c.body;
  if (auto it = b.find("collectionName"); it != b.end()) p.collection = it->get<std::string>();
  if (auto it = b.find("fieldName"); it != b.end()) p.field = it->get<std::string>();
  if (auto it = b.find("analyzerParams"); it != b.end() && !it->is_null()) {
    p.analyzer_params = it->is_string() ? it->get<std::string>() : it->dump();
  }
  for (const auto& t : b.at("text")) p.texts.push_back(t.get<std::string>());
  if (auto it = b.find("analyzerNames"); it != b.end()) {
    for (const auto& n : *it) p.analyzer_names.push_back(n.get<std::string>());
  }
  const bool detail = b.value("withDetail", false);
  const bool hash = b.value("withHash", false);
  REST_ASSIGN(auto tokens, c.proxy->RunAnalyzer(p));
  Json results = Json::array();
  for (const auto& list : tokens) {
    Json out = Json::array();
    for (const auto& t : list) {
      Json tok = {{"token", t.text}};
      if (detail) {
        tok["startOffset"] = t.start_offset;
        tok["endOffset"] = t.end_offset;
        tok["position"] = t.position;
        tok["positionLength"] = t.position_length;
      }
      if (hash) tok["hash"] = text::TermHash(t.text);
      out.push_back(std::move(tok));
    }
    results.push_back({{"tokens", std::move(out)}});
  }
  c.data = {{"results", std::move(results)}};
  return Ok();
}

}  // namespace kite::rest
