#include "server/cluster_view.h"

#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "common/timestamp.h"

namespace kite {
namespace {

using Json = nlohmann::json;
using Labels = std::vector<std::pair<std::string, std::string>>;

const char* LoadStateName(LoadState s) {
  switch (s) {
    case LoadState::kNotExist: return "NotExist";
    case LoadState::kNotLoad: return "NotLoad";
    case LoadState::kLoading: return "Loading";
    case LoadState::kLoaded: return "Loaded";
  }
  return "NotExist";
}

std::string Param(const std::map<std::string, std::string>& m, const char* key) {
  auto it = m.find(key);
  return it == m.end() ? std::string() : it->second;
}

// Bytes of the regular files directly under `dir` (0 when it does not exist).
int64_t DirBytes(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  int64_t total = 0;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code ec2;
    if (it->is_regular_file(ec2)) {
      auto n = it->file_size(ec2);
      if (!ec2) total += static_cast<int64_t>(n);
    }
  }
  return total;
}

int64_t StatmField(int index) {
  std::ifstream f("/proc/self/statm");
  int64_t v = 0;
  for (int i = 0; i <= index; ++i) {
    if (!(f >> v)) return 0;
  }
  return v * ::sysconf(_SC_PAGESIZE);
}

int64_t OpenFds() {
  std::error_code ec;
  int64_t n = 0;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end; it.increment(ec)) ++n;
  return n;
}

double CpuSeconds() {
  rusage ru{};
  if (::getrusage(RUSAGE_SELF, &ru) != 0) return 0;
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

}  // namespace

std::vector<ClusterView::ComponentState> ClusterView::ComponentStates() const {
  constexpr int kHealthy = 1, kAbnormal = 2;  // commonpb.StateCode
  std::vector<ComponentState> out = {{"mixcoord", kHealthy}, {"proxy", kHealthy}, {"querynode", kHealthy},
                                     {"datanode", kHealthy}, {"streamingnode", kHealthy}};
  if (s_.data_node_storage_failing && s_.data_node_storage_failing()) out[3].code = kAbnormal;
  if (s_.object_store_unreachable && s_.object_store_unreachable()) out[3].code = kAbnormal;
  if (s_.query_nodes_degraded && s_.query_nodes_degraded()) out[2].code = kAbnormal;
  if (s_.streaming != nullptr && s_.streaming->Health().failing_channels > 0) out.back().code = kAbnormal;
  if (s_.streaming_nodes_degraded && s_.streaming_nodes_degraded()) out.back().code = kAbnormal;
  return out;
}

int64_t ProcessResidentBytes() { return StatmField(1); }
int64_t ProcessVirtualBytes() { return StatmField(0); }

std::vector<CollectionView> ClusterView::AllCollections() const {
  std::vector<CollectionView> out;
  auto dbs = s_.coordinator->ListDatabases();
  if (!dbs.ok()) return out;
  for (const DatabaseInfo& db : *dbs) {
    auto cs = s_.coordinator->ListCollections(db.name);
    if (!cs.ok()) continue;
    for (auto& c : *cs) out.push_back(std::move(c));
  }
  return out;
}

Json ClusterView::Collections() const {
  Json out = Json::array();
  for (const CollectionView& v : AllCollections()) {
    const CollectionInfo& c = v.info;
    int64_t rows = -1;
    if (auto st = s_.proxy->Stats(v.db_name, c.schema.name, ""); st.ok()) rows = st->row_count;
    Json vec = Json::array();
    for (const FieldSchema* f : c.schema.VectorFields()) vec.push_back(f->name);
    out.push_back({
        {"db", v.db_name},
        {"name", c.schema.name},
        {"id", c.id.value},
        {"shards", c.num_shards},
        {"partitions", c.partitions.size()},
        {"load_state", LoadStateName(c.load_state())},
        {"rows", rows},
        {"fields", c.schema.fields.size()},
        {"vector_fields", std::move(vec)},
        {"aliases", v.aliases},
        {"created_unix_ms", PhysicalMs(c.created_ts)},
    });
  }
  return out;
}

Json ClusterView::Segments() const {
  Json out = Json::array();
  for (const CollectionView& v : AllCollections()) {
    const CollectionId id = v.info.id;
    auto indexed = [&](SegmentId seg) { return s_.segment_indexed ? s_.segment_indexed(id, seg) : false; };
    auto row = [&](int64_t seg, int64_t partition, const std::string& channel, const char* state, int64_t rows,
                   int64_t bytes, bool loaded) {
      out.push_back({{"db", v.db_name},       {"collection", v.info.schema.name},
                     {"id", seg},             {"partition_id", partition},
                     {"channel", channel},    {"state", state},
                     {"rows", rows},          {"memory_bytes", bytes},
                     {"loaded", loaded},      {"indexed", indexed(SegmentId(seg))}});
    };
    // (Growing segments of streaming node processes are on their own /metrics.)
    for (const SegmentPtr& s : s_.streaming ? s_.streaming->GrowingSegments(id) : std::vector<SegmentPtr>{}) {
      row(s->id().value, s->meta().partition_id.value, s->meta().channel, s->sealed() ? "Sealed" : "Growing",
          s->num_rows(), static_cast<int64_t>(s->MemoryBytes()), true);
    }
    std::map<int64_t, SegmentSummary> loaded;
    for (const SegmentSummary& s : s_.query_node->LoadedSegments(id)) loaded[s.id.value] = s;
    auto node_of = [&](int64_t seg) -> int64_t {
      auto it = loaded.find(seg);
      return it == loaded.end() ? 0 : it->second.node;
    };
    const std::vector<SegmentRecord> flushed = s_.registry->ListSegments(id).value();  // in process: never fails
    for (const SegmentRecord& r : flushed) {
      auto it = loaded.find(r.id.value);
      int64_t bytes = it == loaded.end() ? 0 : it->second.mem_bytes;
      row(r.id.value, r.partition_id.value, r.channel, "Flushed", r.num_rows, bytes, it != loaded.end());
      if (int64_t n = node_of(r.id.value); n != 0) out.back()["query_node"] = n;
    }
  }
  return out;
}

Json ClusterView::Indexes() const {
  Json out = Json::array();
  for (const CollectionView& v : AllCollections()) {
    auto indexes = s_.coordinator->DescribeIndex(v.db_name, v.info.schema.name, "", "");
    if (!indexes.ok()) continue;
    for (const IndexInfo& idx : *indexes) {
      const FieldSchema* f = v.info.schema.FindField(idx.field_id);
      WebIndexProgress p = s_.index_progress ? s_.index_progress(v, idx) : WebIndexProgress{};
      out.push_back({
          {"db", v.db_name},
          {"collection", v.info.schema.name},
          {"index_name", idx.name},
          {"field", f ? f->name : ""},
          {"index_type", Param(idx.resolved_params, "index_type")},
          {"metric_type", Param(idx.resolved_params, "metric_type")},
          {"state", p.state},
          {"indexed_rows", p.indexed_rows},
          {"total_rows", p.total_rows},
          {"fail_reason", p.fail_reason},
      });
    }
  }
  return out;
}

Json ClusterView::Overview() const {
  auto uptime = std::chrono::duration<double>(std::chrono::system_clock::now() - start_).count();
  return {
      {"version", s_.version},
      {"uptime_s", static_cast<int64_t>(uptime)},
      {"rss_bytes", ProcessResidentBytes()},
      {"start_unix_ms",
       std::chrono::duration_cast<std::chrono::milliseconds>(start_.time_since_epoch()).count()},
  };
}

void ClusterView::Collect(metrics::Exposition& out) const {
  using metrics::Type;
  const std::string node = "1";
  std::vector<CollectionView> all = AllCollections();

  // Catalog (Milvus rootcoord / querynode names).
  out.Declare("milvus_rootcoord_database_num", "number of database", Type::kGauge);
  out.Declare("milvus_rootcoord_collection_num", "number of collections", Type::kGauge);
  out.Declare("milvus_rootcoord_entity_num",
              "number of entities, clustered by collection and their status(loaded/total)", Type::kGauge);
  out.Declare("milvus_querynode_collection_num", "number of collections loaded", Type::kGauge);
  std::map<std::string, int64_t> per_db;
  if (auto dbs = s_.coordinator->ListDatabases(); dbs.ok()) {
    out.Add("milvus_rootcoord_database_num", {}, static_cast<double>(dbs->size()));
    for (const DatabaseInfo& db : *dbs) per_db[db.name] = 0;
  }
  int64_t loaded_collections = 0;
  for (const CollectionView& v : all) {
    ++per_db[v.db_name];
    if (v.info.load_state() == LoadState::kLoaded) ++loaded_collections;
  }
  for (const auto& [db, n] : per_db) out.Add("milvus_rootcoord_collection_num", {{"db_name", db}}, static_cast<double>(n));
  out.Add("milvus_querynode_collection_num", {{"node_id", node}}, static_cast<double>(loaded_collections));

  // Flushes failing (object store down, disk full): automatic flushes back off.
  out.Declare("kite_streaming_flush_failing_channels",
              "WAL channels whose last flush failed (automatic flushes back off; rows are refused once a channel's "
              "unflushed data reaches its bound)",
              Type::kGauge);
  if (s_.streaming) {
    out.Add("kite_streaming_flush_failing_channels", {}, static_cast<double>(s_.streaming->Health().failing_channels));
  }

  // Segments: Milvus's datacoord count by state, and Kite's per collection with index state.
  out.Declare("milvus_datacoord_segment_num", "number of segments", Type::kGauge);
  out.Declare("kite_segment_num", "segments per collection by state (Growing, Sealed, Flushed) and index presence",
              Type::kGauge);
  out.Declare("kite_segment_rows", "rows in segments per collection by state", Type::kGauge);
  out.Declare("kite_segment_memory_bytes", "memory held by segments in this process by state", Type::kGauge);
  std::map<std::string, int64_t> by_state = {{"Growing", 0}, {"Sealed", 0}, {"Flushed", 0}};
  std::map<std::string, int64_t> memory_by_state = {{"Growing", 0}, {"Sealed", 0}, {"Flushed", 0}};
  for (const CollectionView& v : all) {
    const CollectionId id = v.info.id;
    std::map<std::pair<std::string, bool>, int64_t> counts;
    std::map<std::string, int64_t> rows;
    auto indexed = [&](SegmentId seg) { return s_.segment_indexed ? s_.segment_indexed(id, seg) : false; };
    // (Growing segments of streaming node processes are on their own /metrics.)
    for (const SegmentPtr& s : s_.streaming ? s_.streaming->GrowingSegments(id) : std::vector<SegmentPtr>{}) {
      std::string state = s->sealed() ? "Sealed" : "Growing";
      ++counts[{state, indexed(s->id())}];
      rows[state] += s->num_rows();
      memory_by_state[state] += static_cast<int64_t>(s->MemoryBytes());
    }
    const std::vector<SegmentRecord> flushed = s_.registry->ListSegments(id).value();  // in process: never fails
    for (const SegmentRecord& r : flushed) {
      ++counts[{"Flushed", indexed(r.id)}];
      rows["Flushed"] += r.num_rows;
    }
    for (const SegmentSummary& s : s_.query_node->LoadedSegments(id)) memory_by_state["Flushed"] += s.mem_bytes;
    for (const auto& [key, n] : counts) {
      by_state[key.first] += n;
      out.Add("kite_segment_num",
              {{"db_name", v.db_name}, {"collection_name", v.info.schema.name}, {"state", key.first},
               {"indexed", key.second ? "true" : "false"}},
              static_cast<double>(n));
    }
    int64_t total_rows = 0;
    for (const auto& [state, n] : rows) {
      total_rows += n;
      out.Add("kite_segment_rows", {{"db_name", v.db_name}, {"collection_name", v.info.schema.name}, {"state", state}},
              static_cast<double>(n));
    }
    out.Add("milvus_rootcoord_entity_num",
            {{"db_name", v.db_name}, {"collection_name", v.info.schema.name}, {"status", "all"}},
            static_cast<double>(total_rows));
  }
  for (const auto& [state, n] : by_state) out.Add("milvus_datacoord_segment_num", {{"segment_state", state}}, static_cast<double>(n));
  for (const auto& [state, n] : memory_by_state) out.Add("kite_segment_memory_bytes", {{"state", state}}, static_cast<double>(n));

  // WAL per channel: bytes on disk not yet trimmed by a flush checkpoint, and the checkpoint.
  out.Declare("kite_wal_bytes", "bytes of WAL files per channel (records after the last flush checkpoint)",
              Type::kGauge);
  out.Declare("kite_wal_checkpoint_lsn", "WAL position covered by the channel's last flush", Type::kGauge);
  for (const CollectionView& v : all) {
    for (const std::string& ch : v.info.channels) {
      out.Add("kite_wal_bytes", {{"channel_name", ch}}, static_cast<double>(DirBytes(s_.wal_dir + "/" + ch)));
      out.Add("kite_wal_checkpoint_lsn", {{"channel_name", ch}},
              static_cast<double>(s_.registry->GetCheckpoint(ch)->lsn));
    }
  }

  // Process (the names Prometheus client libraries use) and uptime.
  out.Declare("process_resident_memory_bytes", "Resident memory size in bytes.", Type::kGauge);
  out.Declare("process_virtual_memory_bytes", "Virtual memory size in bytes.", Type::kGauge);
  out.Declare("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", Type::kCounter);
  out.Declare("process_open_fds", "Number of open file descriptors.", Type::kGauge);
  out.Declare("process_start_time_seconds", "Start time of the process since unix epoch in seconds.", Type::kGauge);
  out.Declare("kite_uptime_seconds", "seconds since the server started", Type::kGauge);
  out.Declare("kite_build_info", "Kite build; the value is always 1", Type::kGauge);
  out.Add("process_resident_memory_bytes", {}, static_cast<double>(ProcessResidentBytes()));
  out.Add("process_virtual_memory_bytes", {}, static_cast<double>(ProcessVirtualBytes()));
  out.Add("process_cpu_seconds_total", {}, CpuSeconds());
  out.Add("process_open_fds", {}, static_cast<double>(OpenFds()));
  out.Add("process_start_time_seconds", {},
          std::chrono::duration<double>(start_.time_since_epoch()).count());
  out.Add("kite_uptime_seconds", {}, std::chrono::duration<double>(std::chrono::system_clock::now() - start_).count());
  out.Add("kite_build_info", {{"version", s_.version}}, 1);
}

}  // namespace kite
