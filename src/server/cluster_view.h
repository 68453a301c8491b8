// ClusterView: read-only snapshots of what the roles hold, for the web UI's
// JSON API (/webui/api/*) and the scrape-time gauges of /metrics. It only
// calls the roles' public read methods (no WAL channel or file is opened or
// created), so a scrape can never change state; a collection dropped while a
// snapshot is taken simply drops out of it.
//
// Index state comes from the data node through two hooks set by standalone:
// `segment_indexed` and `index_progress` (null: every segment reported not
// indexed; every index "Finished").
//
// Thread-safe (the roles are); borrows everything in ClusterSources, which
// must outlive it.
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "common/metrics.h"
#include "roles/coordinator/coordinator.h"
#include "roles/coordinator/segment_registry.h"
#include "roles/proxy/proxy.h"
#include "roles/querynode/query_node.h"
#include "roles/streaming/streaming_node.h"

namespace kite {

struct WebIndexProgress {
  std::string state = "Finished";  // Milvus IndexState name: Unissued, InProgress, Finished, Failed
  int64_t indexed_rows = -1;       // -1: unknown
  int64_t total_rows = -1;
  std::string fail_reason;
};

struct ClusterSources {
  CoordinatorApi* coordinator = nullptr;
  SegmentRegistry* registry = nullptr;
  StreamingNode* streaming = nullptr;
  QueryNodeApi* query_node = nullptr;  // the embedded query node or the query view
  Proxy* proxy = nullptr;
  std::string wal_dir;  // <data>/wal: sizes of channel directories are read from here
  std::string version;
  // Hooks for index building (see header comment); may be null.
  std::function<bool(CollectionId, SegmentId)> segment_indexed;
  std::function<WebIndexProgress(const CollectionView&, const IndexInfo&)> index_progress;
  // kite.queryNodes: remote: the query view's nodes, [{node_id, address, segments, rows}]; may be null.
  std::function<nlohmann::json()> query_nodes;
  // Whether the data node's index builds / compactions are deferred because
  // the object store cannot be reached; may be null.
  std::function<bool()> data_node_storage_failing;
  // The object store does not answer its health probe (object_store_probe.h); may be null.
  std::function<bool()> object_store_unreachable;
  // kite.queryNodes: remote: no query node, or a loaded segment none serves; may be null.
  std::function<bool()> query_nodes_degraded;
  // kite.streamingNodes: remote (then `streaming` is null): the streaming
  // view's nodes, [{node_id, address, collections}], and whether a
  // collection has no live leader; may be null.
  std::function<nlohmann::json()> streaming_nodes;
  std::function<bool()> streaming_nodes_degraded;
  // On etcd: every session registered under the root, [{key, role,
  // server_id, address, version, state}] (state "active" for the active
  // coordinator key, "stopping", or ""); may be null.
  std::function<nlohmann::json()> sessions;
};

class ClusterView {
 public:
  explicit ClusterView(ClusterSources sources)
      : s_(std::move(sources)), start_(std::chrono::system_clock::now()) {}

  // [{db, name, id, shards, partitions, load_state, rows, fields, vector_fields, aliases, created_unix_ms}]
  nlohmann::json Collections() const;
  // [{db, collection, id, partition_id, channel, state (Growing|Sealed|Flushed), rows, memory_bytes, loaded, indexed}]
  nlohmann::json Segments() const;
  // [{db, collection, index_name, field, index_type, metric_type, state, indexed_rows, total_rows, fail_reason}]
  nlohmann::json Indexes() const;
  // {version, uptime_s, rss_bytes, ...}: the header of the page.
  nlohmann::json Overview() const;
  // The query node processes serving sealed segments (empty: the embedded one).
  nlohmann::json QueryNodes() const { return s_.query_nodes ? s_.query_nodes() : nlohmann::json::array(); }
  // The streaming node processes leading the WAL channels (empty: the embedded one).
  nlohmann::json StreamingNodes() const {
    return s_.streaming_nodes ? s_.streaming_nodes() : nlohmann::json::array();
  }

  // The cluster's sessions (empty without etcd).
  nlohmann::json Sessions() const { return s_.sessions ? s_.sessions() : nlohmann::json::array(); }

  // Scrape-time gauges (collection and segment counts, WAL, process).
  void Collect(metrics::Exposition& out) const;

  // Milvus's /healthz indicators of a standalone process: mixcoord, proxy,
  // querynode, datanode, streamingnode, each with a commonpb.StateCode
  // (1 Healthy, 2 Abnormal). The streaming node is Abnormal while a channel's
  // flush is failing, the data node while its index builds or compactions are
  // deferred (an object store that cannot be reached) and while the object
  // store does not answer its health probe, so /healthz answers 500 until
  // they succeed again.
  struct ComponentState {
    std::string name;
    int code = 1;
  };
  std::vector<ComponentState> ComponentStates() const;

 private:
  std::vector<CollectionView> AllCollections() const;
  ClusterSources s_;
  std::chrono::system_clock::time_point start_;
};

// Resident and virtual memory of this process in bytes (/proc/self/statm), 0 when unknown.
int64_t ProcessResidentBytes();
int64_t ProcessVirtualBytes();

}  // namespace kite
