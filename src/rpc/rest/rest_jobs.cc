// REST v2 jobs/import/* (bulk import jobs, rpc/import) and resource_groups/*
// (roles/proxy/proxy_replicas.cc), with the data shapes of Milvus's
// internal/distributed/proxy/httpserver/handler_v2.go.
#include <ctime>

#include "rpc/import/import_jobs.h"
#include "rpc/rest/rest_call.h"

namespace kite::rest {

namespace {

RestError NoImports() { return Error(kCodeUnimplemented, "bulk import is not available in this server"); }

// Go's time.Time RFC 3339 text of a Unix ms time ("" for 0).
std::string TimeText(int64_t ms) {
  if (ms <= 0) return "";
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Json JobJson(const import::JobInfo& job) {
  Json out = {{"jobId", std::to_string(job.id)},
              {"collectionName", job.collection},
              {"completeTime", TimeText(job.complete_ms)},
              {"state", import::JobStateName(job.state)},
              {"progress", job.progress},
              {"importedRows", job.imported_rows},
              {"totalRows", job.total_rows}};
  if (!job.reason.empty()) out["reason"] = job.reason;
  Json details = Json::array();
  int64_t size = 0;
  for (const auto& f : job.files) {
    Json d = {{"fileName", f.name},
              {"fileSize", f.size},
              {"progress", job.state == import::JobState::kCompleted ? 100
                           : f.total_rows > 0                        ? 100 * f.imported_rows / f.total_rows
                                                                     : 0},
              {"completeTime", TimeText(job.complete_ms)},
              {"state", import::JobStateName(job.state)},
              {"importedRows", f.imported_rows},
              {"totalRows", f.total_rows}};
    if (!job.reason.empty()) d["reason"] = job.reason;
    details.push_back(std::move(d));
    size += f.size;
  }
  out["fileSize"] = size;
  out["details"] = std::move(details);
  return out;
}

Result<int64_t> JobId(const Json& body) {
  auto it = body.find("jobId");
  if (it == body.end() || it->is_null()) return InvalidArgument("missing required parameters, error: jobId is required");
  if (it->is_number_integer()) return it->get<int64_t>();
  if (it->is_string()) {
    try {
      size_t pos = 0;
      const std::string s = it->get<std::string>();
      int64_t v = std::stoll(s, &pos);
      if (pos == s.size()) return v;
    } catch (...) {
    }
  }
  return InvalidArgument("invalid parameter[expected=jobId is an integer][actual={}]", it->dump());
}

Result<ResourceGroupConfig> ConfigFromJson(const Json& j) {
  ResourceGroupConfig c;
  if (j.is_null()) return c;
  if (!j.is_object()) return InvalidArgument("resource group config must be a JSON object");
  auto num = [&](const char* key) -> int32_t {
    auto it = j.find(key);
    if (it == j.end() || !it->is_object()) return 0;
    auto n = it->find("node_num");
    if (n == it->end()) n = it->find("nodeNum");
    return n != it->end() && n->is_number_integer() ? n->get<int32_t>() : 0;
  };
  c.requests = num("requests");
  c.limits = num("limits");
  auto groups = [&](const char* a, const char* b, std::vector<std::string>* out) {
    auto it = j.find(a);
    if (it == j.end()) it = j.find(b);
    if (it == j.end() || !it->is_array()) return;
    for (const auto& t : *it) {
      if (t.is_object()) {
        auto n = t.find("resource_group");
        if (n == t.end()) n = t.find("resourceGroup");
        if (n != t.end() && n->is_string()) out->push_back(n->get<std::string>());
      }
    }
  };
  groups("transfer_from", "transferFrom", &c.transfer_from);
  groups("transfer_to", "transferTo", &c.transfer_to);
  return c;
}

// Go's encoding/json of rgpb.ResourceGroupConfig (omitempty fields).
Json ConfigToJson(const ResourceGroupConfig& c) {
  Json out = Json::object();
  auto limit = [](int32_t n) { return n == 0 ? Json::object() : Json{{"node_num", n}}; };
  out["requests"] = limit(c.requests);
  out["limits"] = limit(c.limits);
  auto list = [](const std::vector<std::string>& v) {
    Json a = Json::array();
    for (const auto& g : v) a.push_back({{"resource_group", g}});
    return a;
  };
  if (!c.transfer_from.empty()) out["transfer_from"] = list(c.transfer_from);
  if (!c.transfer_to.empty()) out["transfer_to"] = list(c.transfer_to);
  return out;
}

}  // namespace

RestError ImportCreate(Call& c) {
  if (!c.imports) return NoImports();
  import::ImportRequest r;
  r.db = c.db;
  r.collection = StrOr(c.body, "collectionName");
  r.partition = StrOr(c.body, "partitionName");
  const Json& files = c.body.at("files");
  for (const auto& group : files) {
    if (!group.is_array()) return Error(kCodeBadJson, fmt::format("{}, error: files must be a list of lists of paths", kBadJsonPrefix));
    std::vector<std::string> paths;
    for (const auto& p : group) {
      if (!p.is_string()) return Error(kCodeBadJson, fmt::format("{}, error: files must be a list of lists of paths", kBadJsonPrefix));
      paths.push_back(p.get<std::string>());
    }
    r.files.push_back(std::move(paths));
  }
  if (auto it = c.body.find("options"); it != c.body.end() && it->is_object()) {
    for (const auto& [k, v] : it->items()) r.options[k] = v.is_string() ? v.get<std::string>() : v.dump();
  }
  REST_ASSIGN(int64_t id, c.imports->Submit(r));
  c.data = {{"jobId", std::to_string(id)}};
  return Ok();
}

RestError ImportDescribe(Call& c) {
  if (!c.imports) return NoImports();
  REST_ASSIGN(int64_t id, JobId(c.body));
  REST_ASSIGN(import::JobInfo job, c.imports->Get(id));
  c.data = JobJson(job);
  return Ok();
}

RestError ImportList(Call& c) {
  if (!c.imports) return NoImports();
  REST_ASSIGN(auto jobs, c.imports->List(c.db, StrOr(c.body, "collectionName"), 0));
  Json records = Json::array();
  for (const auto& job : jobs) {
    Json r = {{"jobId", std::to_string(job.id)},
              {"collectionName", job.collection},
              {"state", import::JobStateName(job.state)},
              {"progress", job.progress}};
    if (!job.reason.empty()) r["reason"] = job.reason;
    records.push_back(std::move(r));
  }
  c.data = {{"records", std::move(records)}};
  return Ok();
}

RestError RgCreate(Call& c) {
  std::optional<ResourceGroupConfig> cfg;
  if (auto it = c.body.find("config"); it != c.body.end() && !it->is_null()) {
    REST_ASSIGN(ResourceGroupConfig parsed, ConfigFromJson(*it));
    cfg = parsed;
  }
  REST_TRY(c.proxy->CreateResourceGroup(StrOr(c.body, "name"), cfg));
  return Ok();
}

RestError RgAlter(Call& c) {
  std::map<std::string, ResourceGroupConfig> configs;
  for (const auto& [name, cfg] : c.body.at("resource_groups").items()) {
    REST_ASSIGN(configs[name], ConfigFromJson(cfg));
  }
  REST_TRY(c.proxy->UpdateResourceGroups(configs));
  return Ok();
}

RestError RgDrop(Call& c) {
  REST_TRY(c.proxy->DropResourceGroup(StrOr(c.body, "name")));
  return Ok();
}

RestError RgList(Call& c) {
  REST_ASSIGN(auto names, c.proxy->ListResourceGroups());
  c.data = names;
  return Ok();
}

RestError RgDescribe(Call& c) {
  REST_ASSIGN(auto d, c.proxy->DescribeResourceGroup(StrOr(c.body, "name")));
  Json nodes = Json::array();
  for (int64_t n : d.group.nodes) nodes.push_back({{"node_id", n}});
  c.data = {{"name", d.group.name},
            {"capacity", d.group.capacity},
            {"numAvailableNode", static_cast<int64_t>(d.group.nodes.size())},
            {"numLoadedReplica", d.loaded_replicas},
            {"numOutgoingNode", Json::object()},
            {"numIncomingNode", Json::object()},
            {"config", ConfigToJson(d.group.config)},
            {"nodes", nodes}};
  return Ok();
}

RestError RgTransferReplica(Call& c) {
  REST_TRY(c.proxy->TransferReplica(StrOr(c.body, "sourceRgName"), StrOr(c.body, "targetRgName"), c.db,
                                    StrOr(c.body, "collectionName"), IntOr(c.body, "replicaNum", 0)));
  return Ok();
}

}  // namespace kite::rest
