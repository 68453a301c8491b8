// RunAnalyzer (pymilvus client.run_analyzer): the tokens an analyzer makes of
// each text, with offsets, positions and term hashes on request.
#include "rpc/milvus_service.h"
#include "rpc/status_map.h"

namespace kite::rpc {

namespace mm = ::milvus::proto::milvus;

MilvusService::RpcStatus MilvusService::RunAnalyzer(Ctx* ctx, const mm::RunAnalyzerRequest* req,
                                                    mm::RunAnalyzerResponse* resp) {
  KITE_ADMIT(ctx, req);
  Proxy::AnalyzeParams p;
  p.db = req->db_name();
  if (p.db.empty()) {  // pymilvus sends the client's database as `dbname` metadata
    auto it = ctx->client_metadata().find("dbname");
    if (it != ctx->client_metadata().end()) p.db.assign(it->second.data(), it->second.size());
  }
  p.collection = req->collection_name();
  p.field = req->field_name();
  p.analyzer_params = req->analyzer_params();
  p.texts.assign(req->placeholder().begin(), req->placeholder().end());
  p.analyzer_names.assign(req->analyzer_names().begin(), req->analyzer_names().end());
  auto r = proxy_->RunAnalyzer(p);
  if (!r.ok()) {
    ToMilvusStatus(r.status(), resp->mutable_status());
    return RpcStatus::OK;
  }
  for (const auto& tokens : *r) {
    auto* result = resp->add_results();
    for (const auto& t : tokens) {
      auto* out = result->add_tokens();
      out->set_token(t.text);
      if (req->with_detail()) {
        out->set_start_offset(t.start_offset);
        out->set_end_offset(t.end_offset);
        out->set_position(t.position);
        out->set_position_length(t.position_length);
      }
      if (req->with_hash()) out->set_hash(text::TermHash(t.text));
    }
  }
  ToMilvusStatus(Status::OK(), resp->mutable_status());
  return RpcStatus::OK;
}

}  // namespace kite::rpc
