#include "roles/coordinator/catalog_codec.h"

#include <nlohmann/json.hpp>

#include "schema/schema_codec.h"

namespace kite {

using nlohmann::json;
using StrMap = std::map<std::string, std::string>;

std::string EncodeDatabase(const DatabaseInfo& db) {
  return json{{"id", db.id.value}, {"name", db.name}, {"created_ts", db.created_ts}, {"properties", db.properties}}
      .dump();
}

Result<DatabaseInfo> DecodeDatabase(const std::string& text) {
  try {
    json j = json::parse(text);
    DatabaseInfo db;
    db.id = DatabaseId(j.at("id").get<int64_t>());
    db.name = j.at("name").get<std::string>();
    db.created_ts = j.at("created_ts").get<uint64_t>();
    db.properties = j.at("properties").get<StrMap>();
    return db;
  } catch (const json::exception& e) {
    return Corruption("cannot decode database record: {}", e.what());
  }
}

std::string EncodeCollection(const CollectionInfo& c) {
  json parts = json::array();
  for (const auto& p : c.partitions) {
    parts.push_back({{"id", p.id.value}, {"name", p.name}, {"created_ts", p.created_ts}, {"loaded", p.loaded}});
  }
  return json{{"version", 1},
              {"id", c.id.value},
              {"db_id", c.db_id.value},
              {"schema", EncodeSchema(c.schema)},
              {"num_shards", c.num_shards},
              {"consistency", static_cast<int32_t>(c.consistency)},
              {"num_partitions", c.num_partitions},
              {"properties", c.properties},
              {"partitions", parts},
              {"channels", c.channels},
              {"created_ts", c.created_ts},
              {"update_ts", c.update_ts},
              {"load_requested", c.load_requested}}
      .dump();
}

Result<CollectionInfo> DecodeCollection(const std::string& text) {
  try {
    json j = json::parse(text);
    CollectionInfo c;
    c.id = CollectionId(j.at("id").get<int64_t>());
    c.db_id = DatabaseId(j.at("db_id").get<int64_t>());
    KITE_ASSIGN_OR_RETURN(c.schema, DecodeSchema(j.at("schema").get<std::string>()));
    c.num_shards = j.at("num_shards").get<int32_t>();
    c.consistency = static_cast<ConsistencyLevel>(j.at("consistency").get<int32_t>());
    c.num_partitions = j.at("num_partitions").get<int64_t>();
    c.properties = j.at("properties").get<StrMap>();
    for (const auto& jp : j.at("partitions")) {
      c.partitions.push_back(PartitionInfo{PartitionId(jp.at("id").get<int64_t>()), jp.at("name").get<std::string>(),
                                           jp.at("created_ts").get<uint64_t>(), jp.at("loaded").get<bool>()});
    }
    c.channels = j.at("channels").get<std::vector<std::string>>();
    c.created_ts = j.at("created_ts").get<uint64_t>();
    c.update_ts = j.at("update_ts").get<uint64_t>();
    c.load_requested = j.at("load_requested").get<bool>();
    return c;
  } catch (const json::exception& e) {
    return Corruption("cannot decode collection record: {}", e.what());
  }
}

std::string EncodeIndex(const IndexInfo& i) {
  return json{{"id", i.id.value},
              {"collection_id", i.collection_id.value},
              {"field_id", i.field_id.value},
              {"name", i.name},
              {"user_params", i.user_params},
              {"resolved_params", i.resolved_params},
              {"created_ts", i.created_ts}}
      .dump();
}

Result<IndexInfo> DecodeIndex(const std::string& text) {
  try {
    json j = json::parse(text);
    IndexInfo i;
    i.id = IndexId(j.at("id").get<int64_t>());
    i.collection_id = CollectionId(j.at("collection_id").get<int64_t>());
    i.field_id = FieldId(j.at("field_id").get<int64_t>());
    i.name = j.at("name").get<std::string>();
    i.user_params = j.at("user_params").get<StrMap>();
    i.resolved_params = j.at("resolved_params").get<StrMap>();
    i.created_ts = j.at("created_ts").get<uint64_t>();
    return i;
  } catch (const json::exception& e) {
    return Corruption("cannot decode index record: {}", e.what());
  }
}

}  // namespace kite
