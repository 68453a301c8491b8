#include "server/standalone.h"

#include <grpcpp/grpcpp.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <vector>
#include <thread>

#include "cluster/election.h"
#include "cluster/fenced_meta_store.h"
#include "cluster/session.h"
#include "cluster/session_watcher.h"
#include "roles/querycoord/query_view.h"
#include "roles/streamingcoord/streaming_view.h"
#include "roles/api/catalog_grpc.h"
#include "roles/api/coord_grpc.h"
#include "roles/api/data_grpc.h"
#include "roles/api/role_grpc.h"
#include "roles/auth/access_control.h"
#include "roles/auth/password_hash.h"
#include "roles/coordinator/coordinator.h"
#include "roles/coordinator/garbage_collector.h"
#include "roles/coordinator/segment_registry.h"
#include "roles/datanode/data_node.h"
#include "roles/proxy/proxy.h"
#include "roles/querynode/query_node.h"
#include "roles/streaming/streaming_node.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/request_observer.h"
#include "rpc/grpc_observer.h"
#include "rpc/milvus_service.h"
#include "rpc/rest/rest_service.h"
#include "server/admin_server.h"
#include "server/cluster_view.h"
#include "server/data_dir.h"
#include "server/front_door.h"
#include "server/storage_factory.h"
#include "rpc/malformed_request.h"
#include "server/port_mux.h"
#include "server/object_store_probe.h"
#include "server/role_security.h"
#include "server/tls.h"
#include "storage/meta/meta_store.h"
#include "storage/object/object_store.h"
#include "storage/wal/wal.h"

#ifndef KITE_VERSION
#define KITE_VERSION "0.1.0"
#endif

namespace kite {
namespace {

// `Authorization: Basic base64(user:password)` or `Bearer user:password`.
bool AuthenticateHttpHeader(auth::AccessControl* ac, const std::string& header, const std::string& peer) {
  std::string credentials;
  if (header.starts_with("Bearer ")) {
    credentials = header.substr(7);
  } else if (!header.starts_with("Basic ") || !auth::Base64Decode(std::string_view(header).substr(6), &credentials)) {
    return false;
  }
  auth::Caller caller;
  return !credentials.empty() && ac->Authenticate(credentials, peer, &caller).ok();
}

bool HasEntries(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::directory_iterator it(dir, ec);
  return !ec && it != std::filesystem::directory_iterator();
}

// A data dir whose WAL or object store holds something but whose meta store
// is gone would otherwise start empty, hiding (and later overwriting) that
// data. RocksDB marks a store it created with a CURRENT file.
Status CheckMetaStorePresent(const std::string& data_dir) {
  const std::filesystem::path root(data_dir);
  std::error_code ec;
  if (std::filesystem::exists(root / "meta" / "CURRENT", ec)) return Status::OK();
  std::vector<std::string> holding;
  for (const char* sub : {"wal", "objects"}) {
    if (HasEntries(root / sub)) holding.push_back(std::string(sub) + "/");
  }
  if (holding.empty()) return Status::OK();  // a new data dir
  return Corruption(
      "data directory {} holds data ({}) but its meta store {} is missing or empty: refusing to start "
      "with empty metadata, which would hide that data. Restore meta/ from a backup, or move the data "
      "directory aside to start empty",
      data_dir, fmt::join(holding, ", "), (root / "meta").string());
}

class StandaloneImpl final : public Standalone {
 public:
  StandaloneImpl(const ServerConfig& config, std::function<bool()> stop_requested)
      : config_(config), stop_requested_(std::move(stop_requested)) {}

  Status Open() {
    RequestObserverOptions observe;
    observe.slow_threshold_ms = config_.slow_query_span_s * 1000;
    RequestObserver::Global().Configure(observe);
    KITE_ASSIGN_OR_RETURN(lock_, DataDirLock::Acquire(config_.data_dir));
    if (!config_.etcd.enabled) KITE_RETURN_IF_ERROR(CheckMetaStorePresent(config_.data_dir));
    KITE_ASSIGN_OR_RETURN(meta_, OpenMetaStoreFor(config_));
    KITE_RETURN_IF_ERROR(ResolveListenAddress(&config_));
    KITE_RETURN_IF_ERROR(RegisterSessions());
    const auth::SecurityOptions security = AccessOptionsOf(config_);
    KITE_ASSIGN_OR_RETURN(access_, auth::AccessControl::Open(writes(), security));
    // On etcd `kite proxy` processes change users and grants too: follow them.
    if (config_.etcd.enabled) KITE_RETURN_IF_ERROR(access_->Follow());
    KITE_ASSIGN_OR_RETURN(coordinator_, OpenCoordinator(writes(), config_.limits));
    KITE_ASSIGN_OR_RETURN(registry_, SegmentRegistry::Open(writes()));
    KITE_ASSIGN_OR_RETURN(wal_, OpenWalFor(config_));
    KITE_ASSIGN_OR_RETURN(objects_, OpenObjectStoreFor(config_));
    KITE_ASSIGN_OR_RETURN(object_probe_, ObjectStoreProbe::Open(config_, ObjectStoreProbeOptions{}));
    // kite.roleTransport: grpc sends the read path through the role services
    // on a loopback socket, as between the processes of a cluster.
    QueryNodeApi* query_api = nullptr;
    if (config_.remote_query_nodes) {
      KITE_RETURN_IF_ERROR(StartQueryView());
      query_api = query_view_.get();
    } else {
      query_node_ = std::make_unique<QueryNode>(objects_.get(), registry_.get());
      query_api = query_node_.get();
    }
    std::shared_ptr<grpc::Channel> role_channel;
    std::shared_ptr<grpc::ServerCredentials> role_server_credentials;
    std::string role_addr;
    if (config_.roles_over_grpc && !config_.remote_query_nodes) {
      role_addr = fmt::format("unix-abstract:kite-roles-{}-{}", ::getpid(),
                              std::chrono::steady_clock::now().time_since_epoch().count());
      grpc::ChannelArguments args;
      args.SetMaxReceiveMessageSize(-1);
      args.SetMaxSendMessageSize(-1);
      const RoleSecurity role_security = LoopbackRoleSecurityOf(config_);
      KITE_ASSIGN_OR_RETURN(role_server_credentials, RoleServerCredentials(role_security));
      KITE_ASSIGN_OR_RETURN(auto role_channel_credentials, RoleChannelCredentials(role_security));
      role_channel = CreateRoleChannel(role_addr, role_channel_credentials, args, role_security);
      remote_query_ = MakeRemoteQueryNode(role_channel, query_node_.get());
      query_api = remote_query_.get();
    }
    StreamingNodeApi* streaming_api = nullptr;
    if (config_.remote_streaming_nodes) {
      if (!config_.etcd.enabled) {
        return InvalidArgument(
            "config key kite.streamingNodes: remote needs etcd (etcd.endpoints): the streaming nodes are found "
            "through their sessions there, and find the coordinator through its own");
      }
      KITE_RETURN_IF_ERROR(StartStreamingView());
      streaming_api = streaming_view_.get();
    } else {
      streaming_ = std::make_unique<StreamingNode>(wal_.get(), objects_.get(), registry_.get(), coordinator_.get(),
                                                   query_api, config_.streaming);
      streaming_api = streaming_.get();
    }
    StreamingNodeApi* const served_streaming = streaming_api;  // what proxy processes write and read through
    DataNodeOptions dn = config_.data_node;
    dn.segment_bytes_max = config_.streaming.segment_bytes_max;
    data_node_ = std::make_unique<DataNode>(objects_.get(), registry_.get(), coordinator_.get(), query_api, dn);
    if (streaming_) streaming_->SetFlushListener([dn = data_node_.get()](CollectionId) { dn->Kick(); });
    if (config_.remote_data_nodes) KITE_RETURN_IF_ERROR(StartDataWorkers());
    if (config_.roles_over_grpc && !config_.remote_query_nodes && streaming_) {
      remote_streaming_ = MakeRemoteStreamingNode(role_channel, streaming_.get());
      streaming_api = remote_streaming_.get();
      role_services_.push_back(MakeQueryNodeService(query_node_.get()));
      role_services_.push_back(MakeStreamingNodeService(streaming_.get()));
      grpc::ServerBuilder rb;
      rb.AddListeningPort(role_addr, role_server_credentials);
      for (auto& svc : role_services_) rb.RegisterService(svc.get());
      rb.SetMaxReceiveMessageSize(-1);
      rb.SetMaxSendMessageSize(-1);
      role_server_ = rb.BuildAndStart();
      if (!role_server_) return IOError("cannot serve the role services on {}", role_addr);
      spdlog::info("role services on {} (kite.roleTransport: grpc)", role_addr);
    }
    // On etcd the coordinator's services for the other processes: streaming
    // nodes reach the registry, the TSO and the query side through them,
    // proxies (`kite proxy`) the catalog and the streaming side. They are up
    // before recovery hands the first node a collection.
    if (config_.etcd.enabled) {
      const bool has_role_processes = config_.remote_streaming_nodes || config_.remote_query_nodes ||
                                      config_.remote_data_nodes || config_.active_standby;
      if (!has_role_processes && config_.security.authorization_enabled && config_.security.cluster_secret.empty()) {
        // Internal calls need the cluster credential with authorization on;
        // a standalone with no role process runs as before without one.
        spdlog::info("coordinator services not served on rootCoord.port: with authorization enabled they need "
                     "kite.clusterSecret (no kite proxy or node process can attach to this coordinator)");
      } else {
        KITE_RETURN_IF_ERROR(ServeCoordinatorServices(query_api, served_streaming));
      }
    }
    proxy_ = std::make_unique<Proxy>(coordinator_.get(), streaming_api, data_node_.get(), config_.limits);
    // One query node (id 1, as GetQuerySegmentInfo reports it) in the resource groups.
    KITE_ASSIGN_OR_RETURN(resource_groups_, ResourceGroupManager::Open(writes(), 1));
    proxy_->AttachResourceGroups(resource_groups_.get());
    gc_ = std::make_unique<GarbageCollector>(registry_.get(), objects_.get(), wal_.get(), config_.gc);
    auto recover_start = std::chrono::steady_clock::now();
    // Drops a crash interrupted are finished before any channel is opened.
    KITE_RETURN_IF_ERROR(gc_->FinishDrops());
    KITE_RETURN_IF_ERROR(proxy_->Recover());
    spdlog::info("recovered in {} ms", std::chrono::duration_cast<std::chrono::milliseconds>(
                                           std::chrono::steady_clock::now() - recover_start)
                                           .count());
    // Builds start once recovery has loaded what was already built.
    data_node_->Start();
    gc_->Start();
    KITE_ASSIGN_OR_RETURN(imports_, import::OpenImportJobs(proxy_.get(), objects_.get(), writes()));
    KITE_ASSIGN_OR_RETURN(front_, FrontDoor::Start(config_, proxy_.get(), access_.get(), imports_.get(),
                                                   "kite standalone"));

    // The metrics port: /healthz, /metrics, /webui (admin_server.h).
    ClusterSources sources;
    sources.coordinator = coordinator_.get();
    sources.registry = registry_.get();
    sources.streaming = streaming_.get();
    sources.query_node = query_api;
    sources.proxy = proxy_.get();
    sources.wal_dir = config_.data_dir + "/wal";
    sources.version = KITE_VERSION;
    sources.segment_indexed = [reg = registry_.get()](CollectionId c, SegmentId seg) {
      const std::vector<SegmentIndexRecord> indexes = reg->ListSegmentIndexes(c).value();  // in process: never fails
      for (const auto& r : indexes) {
        if (r.segment == seg) return true;
      }
      return false;
    };
    sources.data_node_storage_failing = [dn = data_node_.get()] { return dn->StorageFailing(); };
    sources.object_store_unreachable = [p = object_probe_.get()] { return !p->Reachable(); };
    sources.index_progress = [dn = data_node_.get()](const CollectionView& v, const IndexInfo& idx) {
      IndexProgress p = dn->Progress(v.info.id, idx, 0);
      WebIndexProgress w;
      w.indexed_rows = p.indexed_rows;
      w.total_rows = p.total_rows;
      w.fail_reason = p.fail_reason;
      w.state = p.state();
      return w;
    };
    if (streaming_view_) {
      sources.streaming_nodes_degraded = [sv = streaming_view_.get()] { return sv->Degraded(); };
      sources.streaming_nodes = [sv = streaming_view_.get()] {
        nlohmann::json out = nlohmann::json::array();
        for (const StreamingViewNode& n : sv->Nodes()) {
          out.push_back({{"node_id", n.id}, {"address", n.address}, {"collections", n.collections}});
        }
        return out;
      };
    }
    if (query_view_) {
      sources.query_nodes_degraded = [qv = query_view_.get()] { return qv->Degraded(); };
      sources.query_nodes = [qv = query_view_.get()] {
        nlohmann::json out = nlohmann::json::array();
        for (const QueryViewNode& n : qv->Nodes()) {
          out.push_back({{"node_id", n.id}, {"address", n.address}, {"segments", n.segments}, {"rows", n.rows},
                         {"refused", n.refused}});
        }
        return out;
      };
    }
    if (config_.etcd.enabled) {
      sources.sessions = [m = meta_.get()] {
        nlohmann::json out = nlohmann::json::array();
        (void)m->Scan("session/", [&](std::string_view key, std::string_view value) {
          auto info = DecodeSession(value);
          if (!info.ok()) return;  // session/id (the id counter) and anything not a session
          const bool active_key = key == "session/mixcoord";  // the coordinator serving
          out.push_back({{"key", std::string(key)},
                         {"role", info->server_name},
                         {"server_id", info->server_id},
                         {"address", info->address},
                         {"version", info->version},
                         {"state", info->stopping ? "stopping" : active_key ? "active" : ""}});
        });
        return out;
      };
    }
    cluster_view_ = std::make_unique<ClusterView>(std::move(sources));
    // GetMetrics system_info lists the query / streaming node processes too.
    front_->service()->AttachTopology([qv = query_view_.get(), sv = streaming_view_.get()] {
      std::vector<rpc::TopologyNode> out;
      if (qv) {
        for (const QueryViewNode& n : qv->Nodes()) out.push_back(rpc::TopologyNode{"querynode", n.id, n.address});
      }
      if (sv) {
        for (const StreamingViewNode& n : sv->Nodes()) out.push_back(rpc::TopologyNode{"streamingnode", n.id, n.address});
      }
      return out;
    });
    collector_id_ = metrics::DefaultRegistry().AddCollector(
        [view = cluster_view_.get()](metrics::Exposition& out) { view->Collect(out); });
    AdminOptions admin_options;
    admin_options.host = config_.host;
    admin_options.port = config_.metrics_port;
    admin_options.config = EffectiveConfig(config_);
    if (config_.security.tls_mode != 0) {
      admin_options.tls_cert_path = config_.security.tls_server_pem;
      admin_options.tls_key_path = config_.security.tls_server_key;
      if (config_.security.tls_mode == 2) admin_options.tls_client_ca_path = config_.security.tls_ca_pem;
    }
    if (config_.security.authorization_enabled) {
      admin_options.authenticate = [ac = access_.get()](const std::string& header, const std::string& peer) {
        return AuthenticateHttpHeader(ac, header, peer);
      };
    } else {
      // Everyone is anonymous: show no filesystem path.
      for (auto& [k, v] : admin_options.config) {
        if (k == "localStorage.path") v = "(hidden: shown only with authorization enabled)";
      }
    }
    auto admin = AdminServer::Start(admin_options, cluster_view_.get());
    if (!admin.ok()) {
      front_->Shutdown();
      return admin.status();
    }
    admin_ = std::move(admin).value();
    spdlog::info("kite standalone: health and metrics on {}:{}, data in {}", config_.host, config_.metrics_port,
                 config_.data_dir);
    return Status::OK();
  }

  ~StandaloneImpl() override {
    Shutdown();
    if (admin_) admin_->Stop();
    if (collector_id_) metrics::DefaultRegistry().RemoveCollector(collector_id_);
    admin_.reset();
    cluster_view_.reset();
    // Roles go down before the storage they borrow.
    front_.reset();
    imports_.reset();  // its worker writes through the proxy
    proxy_.reset();
    if (role_server_) role_server_->Shutdown();
    role_server_.reset();
    // The streaming node processes' calls end before the roles they reach go.
    if (coord_server_) coord_server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
    role_services_.clear();
    remote_streaming_.reset();
    gc_.reset();
    // The session feeds stop before the roles their events reach (the data
    // node is kicked when a data node process joins).
    stopping_ = true;
    for (std::thread& t : watch_threads_) t.join();
    watch_threads_.clear();
    data_node_.reset();
    data_workers_.reset();  // after data_node_: it builds through it
    streaming_.reset();
    remote_query_.reset();
    streaming_view_.reset();
    query_view_.reset();
    query_node_.reset();
    // Last: the coordinator session goes once nothing writes meta any more
    // (the election first: it resigns, handing over at once).
    fenced_meta_.reset();
    election_.reset();
    while (!sessions_.empty()) sessions_.pop_back();
  }

  // On a shared meta store (etcd) the process registers Milvus's sessions
  // (cluster/session.h) for the roles it runs, all under one server id:
  // session/mixcoord first, exclusive, so that a second Kite (or Milvus) on
  // the same etcd root cannot run a second coordinator over the same meta
  // (it fails after common.session.retryTimes attempts, naming the holder),
  // then proxy, streamingnode, querynode and datanode. A crashed holder's
  // session expires after common.session.ttl; a graceful stop revokes it.
  Status RegisterSessions() {
    if (config_.active_standby && (!config_.etcd.enabled || !config_.object_storage.IsS3() || config_.mq.type != "kafka")) {
      return InvalidArgument(
          "config key mixCoord.enableActiveStandby: true needs storage every coordinator shares: etcd "
          "(etcd.endpoints), an S3 object store (minio.address) and the Kafka WAL (mq.type: kafka); this config "
          "has {}, {} and mq.type {}",
          config_.etcd.enabled ? "etcd" : "no etcd", config_.object_storage.IsS3() ? "S3" : "a local object store",
          config_.mq.type);
    }
    if (!config_.etcd.enabled) return Status::OK();  // the data dir lock already makes it the only one
    SessionOptions o;
    // The coordinator's session names where the other processes reach its
    // services (Milvus's mixcoord session: rootCoord.port).
    o.address = config_.host + ":" + std::to_string(config_.coordinator_port);
    o.ttl_s = config_.session.ttl_s;
    o.retry_times = config_.session.retry_times;
    o.version = "2.6.6";
    o.on_lost = [] { spdlog::error("cluster session lease lost: this process no longer counts as alive"); };
    o.role = "mixcoord";
    // mixCoord.enableActiveStandby: a candidate's own session
    // (session/mixcoord-<id>), then the election for session/mixcoord.
    o.exclusive = !config_.active_standby;
    KITE_ASSIGN_OR_RETURN(std::unique_ptr<Session> coord, Session::Register(meta_.get(), o));
    o.server_id = coord->server_id();
    sessions_.push_back(std::move(coord));
    if (config_.active_standby) KITE_RETURN_IF_ERROR(StandBy());
    o.exclusive = false;
    o.address = config_.host + ":" + std::to_string(config_.port);
    for (const char* role : {"proxy", "streamingnode", "querynode", "datanode"}) {
      // With kite.queryNodes: remote the query nodes are other processes.
      if (config_.remote_query_nodes && std::string_view(role) == "querynode") continue;
      if (config_.remote_streaming_nodes && std::string_view(role) == "streamingnode") continue;
      if (config_.remote_data_nodes && std::string_view(role) == "datanode") continue;
      o.role = role;
      KITE_ASSIGN_OR_RETURN(std::unique_ptr<Session> s, Session::Register(meta_.get(), o));
      sessions_.push_back(std::move(s));
    }
    spdlog::info("cluster sessions registered: server id {}", o.server_id);
    return Status::OK();
  }

  // mixCoord.enableActiveStandby: campaigns for the active key and waits,
  // serving nothing and writing nothing, until this process wins it (the
  // active one stopped, or its session lapsed). From then on every meta write
  // of the roles goes through the fence (cluster/fenced_meta_store.h): should
  // this process lose the key without knowing (a pause past its lease), its
  // writes fail instead of overwriting its successor's; when it learns of the
  // loss it exits at once, as Milvus's coordinators do.
  Status StandBy() {
    ElectionOptions eo;
    eo.on_lost = [] {
      spdlog::error(
          "lost the active coordinator key (session/mixcoord) to another process: exiting so that it alone "
          "serves (mixCoord.enableActiveStandby)");
      std::fflush(nullptr);
      std::_Exit(80);  // Milvus's exit code for a lost session
    };
    KITE_ASSIGN_OR_RETURN(election_, Election::Start(sessions_.front().get(), std::move(eo)));
    auto holder = ReadActive(meta_.get(), "mixcoord");
    if (!election_->WaitActive(std::chrono::milliseconds(200))) {
      spdlog::info("standing by as coordinator {} (mixCoord.enableActiveStandby): the active one is {}",
                   sessions_.front()->server_id(),
                   holder.ok() && holder->has_value() ? fmt::format("server {} at {}", (*holder)->server_id,
                                                                    (*holder)->address)
                                                      : std::string("being elected"));
    }
    while (!election_->WaitActive(std::chrono::milliseconds(200))) {
      if (election_->state() != Election::State::kStandby) {
        return MakeStatus(StatusCode::kIOError, Reason::kServiceUnavailable,
                          "coordinator stand-by: its session in etcd was lost while waiting ({})",
                          ElectionStateName(election_->state()));
      }
      if (stop_requested_ && stop_requested_()) return MakeStatus(StatusCode::kCancelled, Reason::kNone, "stopped while standing by as coordinator");
    }
    fenced_meta_ = MakeFencedMetaStore(meta_.get(), election_.get());
    spdlog::info("active coordinator now (term {}): taking over", election_->term());
    return Status::OK();
  }

  // The store the roles write through: fenced by the election when there is one.
  MetaStore* writes() const { return fenced_meta_ ? fenced_meta_.get() : meta_.get(); }

  // Feeds a view with the sessions of `role` in etcd: the ones registered
  // now (before recovery hands them work), then every join and loss as it
  // happens, on a thread of its own.
  Status FeedSessions(const std::string& role, std::function<void(const SessionEvent&)> apply) {
    KITE_ASSIGN_OR_RETURN(std::unique_ptr<SessionWatcher> watcher, SessionWatcher::Start(meta_.get(), role));
    for (const auto& [name, info] : watcher->sessions()) apply(SessionEvent{SessionEvent::Type::kAdded, name, info});
    watch_threads_.emplace_back([this, apply, w = std::move(watcher)]() mutable {
      while (!stopping_.load()) {
        auto events = w->Next(std::chrono::milliseconds(200));
        if (!events.ok()) continue;
        for (const SessionEvent& e : *events) apply(e);
      }
    });
    return Status::OK();
  }

  // A channel to another process's role services, with the cluster's
  // internal TLS and credential (role_security.h).
  // Loads them once, at the start (a bad CA fails the start).
  Status LoadPeerCredentials() {
    if (peer_credentials_) return Status::OK();
    KITE_ASSIGN_OR_RETURN(peer_credentials_, RoleChannelCredentials(RoleSecurityOf(config_)));
    return Status::OK();
  }
  std::shared_ptr<grpc::Channel> PeerChannel(const std::string& address) const {
    const RoleSecurity security = RoleSecurityOf(config_);
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(-1);
    args.SetMaxSendMessageSize(-1);
    // Fail fast on a dead peer instead of waiting for a reconnect.
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
    return CreateRoleChannel(address, peer_credentials_, args, security);
  }

  // kite.queryNodes: remote: the query view, fed with the query node sessions.
  Status StartQueryView() {
    if (!config_.etcd.enabled) {
      return InvalidArgument(
          "config key kite.queryNodes: remote needs etcd (etcd.endpoints): the query nodes are found through "
          "their sessions there");
    }
    query_view_ = std::make_unique<QueryView>(registry_.get());
    KITE_RETURN_IF_ERROR(LoadPeerCredentials());
    return FeedSessions("querynode", [this](const SessionEvent& e) {
      if (e.type == SessionEvent::Type::kAdded) {
        query_view_->AddNode(e.session.server_id, e.session.address,
                             MakeRemoteQueryNode(PeerChannel(e.session.address), nullptr));
        query_view_->Rebalance();
      } else {
        query_view_->RemoveNode(e.session.server_id);
      }
    });
  }

  // kite.streamingNodes: remote: the streaming view, fed with the streaming node sessions.
  Status StartStreamingView() {
    streaming_view_ = std::make_unique<StreamingView>(writes());
    KITE_RETURN_IF_ERROR(LoadPeerCredentials());
    return FeedSessions("streamingnode", [this](const SessionEvent& e) {
      if (e.type == SessionEvent::Type::kAdded) {
        streaming_view_->AddNode(e.session.server_id, e.session.address,
                                 MakeRemoteStreamingNode(PeerChannel(e.session.address), nullptr));
      } else {
        streaming_view_->RemoveNode(e.session.server_id);
      }
    });
  }

  // kite.dataNodes: remote: index builds go to the data node processes,
  // fed with their sessions; the scheduler (data_node_) stays here.
  Status StartDataWorkers() {
    if (!config_.etcd.enabled) {
      return InvalidArgument(
          "config key kite.dataNodes: remote needs etcd (etcd.endpoints): the data nodes are found through "
          "their sessions there");
    }
    data_workers_ = std::make_unique<DataWorkerPool>();
    data_node_->UseWorkers(data_workers_.get());
    KITE_RETURN_IF_ERROR(LoadPeerCredentials());
    return FeedSessions("datanode", [this](const SessionEvent& e) {
      if (e.type == SessionEvent::Type::kAdded) {
        data_workers_->Add(e.session.server_id, e.session.address,
                            MakeRemoteDataWorker(PeerChannel(e.session.address)));
        data_node_->Kick();  // builds waiting for a data node
      } else {
        data_workers_->Remove(e.session.server_id);
      }
    });
  }

  // kite.streamingNodes: remote: the coordinator's segment meta and TSO
  // (coord_grpc.h) and its query side (the query view or the embedded query
  // node, role_grpc.h) on rootCoord.port, for the streaming node processes.
  Status ServeCoordinatorServices(QueryNodeApi* query_api, StreamingNodeApi* streaming_api) {
    CoordinatorServiceHooks hooks;
    // A flush committed by a streaming node kicks the index builds, as the
    // embedded node's flush listener does.
    hooks.on_flush_committed = [this](CollectionId) {
      if (data_node_) data_node_->Kick();
    };
    coord_services_.push_back(MakeCoordinatorService(registry_.get(), coordinator_.get(), std::move(hooks)));
    coord_services_.push_back(MakeQueryNodeService(query_api));
    coord_services_.push_back(MakeCatalogService(coordinator_.get(), data_node_.get()));
    coord_services_.push_back(MakeStreamingNodeService(streaming_api));
    const std::string addr = config_.host + ":" + std::to_string(config_.coordinator_port);
    grpc::ServerBuilder b;
    int bound = 0;
    KITE_ASSIGN_OR_RETURN(std::shared_ptr<grpc::ServerCredentials> creds,
                          RoleServerCredentials(RoleSecurityOf(config_)));
    b.AddListeningPort(addr, creds, &bound);
    for (auto& svc : coord_services_) b.RegisterService(svc.get());
    b.SetMaxReceiveMessageSize(-1);
    b.SetMaxSendMessageSize(-1);
    coord_server_ = b.BuildAndStart();
    if (!coord_server_ || bound == 0) return IOError("cannot serve the coordinator services on {} (rootCoord.port)", addr);
    spdlog::info("coordinator services on {} (rootCoord.port): streaming node and proxy processes reach it there", addr);
    return Status::OK();
  }

  Status Run() override {
    front_->Wait();
    return Status::OK();
  }

  void Shutdown() override {
    if (stopping_.exchange(true)) return;
    spdlog::info("shutting down");
    if (admin_) admin_->Stop();
    if (front_) front_->Shutdown();
  }

 private:
  ServerConfig config_;
  std::atomic<bool> stopping_{false};
  std::unique_ptr<DataDirLock> lock_;
  std::unique_ptr<MetaStore> meta_;
  std::vector<std::unique_ptr<Session>> sessions_;  // etcd only; mixcoord first
  std::function<bool()> stop_requested_;  // a signal came before Open returned (checked while standing by)
  std::unique_ptr<Election> election_;     // mixCoord.enableActiveStandby
  std::unique_ptr<MetaStore> fenced_meta_;  // writes(): meta_ behind election_'s fence
  std::unique_ptr<auth::AccessControl> access_;
  std::unique_ptr<CoordinatorApi> coordinator_;
  std::unique_ptr<SegmentRegistry> registry_;
  std::unique_ptr<Wal> wal_;
  std::unique_ptr<ObjectStore> objects_;
  std::unique_ptr<ObjectStoreProbe> object_probe_;  // /healthz's check of the object store
  std::unique_ptr<QueryNode> query_node_;  // kite.queryNodes: embedded
  std::unique_ptr<QueryView> query_view_;  // kite.queryNodes: remote
  std::unique_ptr<StreamingView> streaming_view_;  // kite.streamingNodes: remote
  std::vector<std::thread> watch_threads_;         // feed the views with the sessions (FeedSessions)
  // kite.streamingNodes: remote: the coordinator services on rootCoord.port.
  std::vector<std::unique_ptr<grpc::Service>> coord_services_;
  std::unique_ptr<grpc::Server> coord_server_;
  std::shared_ptr<grpc::ChannelCredentials> peer_credentials_;  // to other processes' role services
  std::unique_ptr<StreamingNode> streaming_;
  std::unique_ptr<DataNode> data_node_;
  std::unique_ptr<DataWorkerPool> data_workers_;  // kite.dataNodes: remote
  std::unique_ptr<GarbageCollector> gc_;
  // kite.roleTransport: grpc: the role services and their clients.
  std::unique_ptr<QueryNodeApi> remote_query_;
  std::unique_ptr<StreamingNodeApi> remote_streaming_;
  std::vector<std::unique_ptr<grpc::Service>> role_services_;
  std::unique_ptr<grpc::Server> role_server_;
  std::unique_ptr<ResourceGroupManager> resource_groups_;  // outlives the proxy
  std::unique_ptr<Proxy> proxy_;
  std::unique_ptr<import::ImportApi> imports_;  // uses the proxy: destroyed before it
  std::unique_ptr<FrontDoor> front_;  // the main port: gRPC and REST
  std::unique_ptr<ClusterView> cluster_view_;
  int64_t collector_id_ = 0;
  std::unique_ptr<AdminServer> admin_;
};

}  // namespace

Result<std::unique_ptr<Standalone>> Standalone::Open(const ServerConfig& config,
                                                    std::function<bool()> stop_requested) {
  auto s = std::make_unique<StandaloneImpl>(config, std::move(stop_requested));
  KITE_RETURN_IF_ERROR(s->Open());
  return std::unique_ptr<Standalone>(std::move(s));
}

}  // namespace kite
