#include "server/coordinator_link.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "cluster/session_watcher.h"
#include "roles/api/coord_grpc.h"
#include "roles/api/role_grpc.h"
#include "server/role_security.h"

namespace kite {

namespace {

// The name of the active key among the role's sessions (session/mixcoord).
constexpr const char* kCoordinatorRole = "mixcoord";

// The coordinator's services at one address.
struct Peer {
  std::string address;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<SegmentMetaApi> meta;
  std::unique_ptr<TsoApi> tso;
  std::unique_ptr<QueryNodeApi> query;
  std::unique_ptr<StreamingNodeApi> streaming;
};

class Link;

// The interfaces handed out: each call goes to the peer current at its start.
class FollowingMeta final : public SegmentMetaApi {
 public:
  explicit FollowingMeta(Link* link) : link_(link) {}
  Status CommitFlush(CollectionId collection, const std::string& channel, uint64_t lsn,
                     const std::vector<SegmentRecord>& segments, const std::string& delta_key,
                     WalTerm term) override;
  Result<std::vector<SegmentRecord>> ListSegments(CollectionId collection) const override;
  Result<std::optional<SegmentRecord>> FindSegment(SegmentId segment) const override;
  Status CommitSegmentIndex(const SegmentIndexRecord& record) override;
  Result<std::vector<SegmentIndexRecord>> ListSegmentIndexes(CollectionId collection) const override;
  Status ForgetSegmentIndex(CollectionId collection, SegmentId segment, IndexId index) override;
  Result<std::vector<std::string>> DropIndex(CollectionId collection, IndexId index) override;
  Result<std::vector<std::string>> CommitCompaction(CollectionId collection, const std::vector<SegmentId>& removed,
                                                    const SegmentRecord& added) override;
  Result<std::vector<std::string>> RetainPartitions(CollectionId collection, const std::set<int64_t>& live) override;
  Result<ChannelCheckpoint> GetCheckpoint(const std::string& channel) const override;
  Result<WalTerm> NextWalTerm(const std::string& channel) override;
  Status DropCollection(CollectionId collection, const std::vector<std::string>& channels) override;
  Status CommitImport(CollectionId collection, const std::vector<SegmentRecord>& segments) override;

 private:
  Link* const link_;
};

class FollowingTso final : public TsoApi {
 public:
  explicit FollowingTso(Link* link) : link_(link) {}
  Result<Timestamp> AllocTimestamp() override;
  Result<int64_t> AllocIds(int64_t count) override;

 private:
  Link* const link_;
};

class FollowingQuery final : public QueryNodeApi {
 public:
  explicit FollowingQuery(Link* link) : link_(link) {}
  Status Search(const rolepb::SearchRequest& req, SearchPart* out, const CancelHook& cancelled) override;
  Status Retrieve(const rolepb::RetrieveRequest& req, Retrieved* out) override;
  Status ReadStats(const rolepb::ReadStatsRequest& req, rolepb::ReadStatsResponse* resp) override;
  Status Load(const CollectionInfo& c, std::shared_ptr<const CollectionSchema> schema) override;
  void Release(CollectionId collection) override;
  bool IsLoaded(CollectionId collection) const override;
  Status LoadSegments(const rolepb::LoadSegmentsRequest& req, std::vector<SegmentPtr> local,
                      rolepb::LoadSegmentsResponse* resp) override;
  Status ReleaseSegments(CollectionId collection, const std::vector<SegmentId>& segments) override;
  Status ApplyDeletes(CollectionId collection, const std::string& channel,
                      const std::vector<DeleteRecord>& deletes) override;
  Status LoadIndex(CollectionId collection, const SegmentIndexRecord& rec,
                   std::shared_ptr<const index::VectorIndex> local_vector,
                   std::shared_ptr<const index::ScalarIndex> local_scalar) override;
  Status DetachIndex(CollectionId collection, IndexId index) override;
  std::vector<SegmentSummary> LoadedSegments(CollectionId collection) const override;
  SegmentPtr FindSegment(CollectionId collection, SegmentId segment) const override;

 private:
  Link* const link_;
};

class FollowingStreaming final : public StreamingNodeApi {
 public:
  explicit FollowingStreaming(Link* link) : link_(link) {}
  Status Open(const CollectionInfo& c) override;
  Status Drop(const CollectionInfo& c) override;
  Result<Timestamp> Write(CollectionId collection, int shard, DmlMessage msg) override;
  Result<std::vector<SegmentId>> Flush(CollectionId collection) override;
  Status RetainPartitions(CollectionId collection, const std::set<int64_t>& live) override;
  Status CommitImport(CollectionId collection, const std::vector<SegmentRecord>& segments) override;
  Status Load(const CollectionInfo& c) override;
  Status Release(CollectionId collection) override;
  Status ApplySchema(const CollectionInfo& c) override;
  Result<std::vector<SegmentSummary>> PersistentSegments(CollectionId collection) override;
  Result<std::vector<SegmentSummary>> LoadedSegments(CollectionId collection) override;
  Result<Timestamp> SafeTimestamp(CollectionId collection, Timestamp now) override;
  Result<int64_t> RowCount(CollectionId collection, int64_t partition, const std::set<int64_t>& live) override;
  Status Search(const rolepb::SearchRequest& req, SearchPart* out, const CancelHook& cancelled) override;
  Status Retrieve(const rolepb::RetrieveRequest& req, Retrieved* out) override;
  Status ReadStats(const rolepb::ReadStatsRequest& req, rolepb::ReadStatsResponse* resp) override;

 private:
  Link* const link_;
};

class Link final : public CoordinatorLink {
 public:
  Link(MetaStore* meta, const ServerConfig& config)
      : meta_(meta), config_(config), m_(this), t_(this), q_(this), s_(this) {}

  ~Link() override {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }

  Status Start(std::chrono::milliseconds wait) {
    KITE_ASSIGN_OR_RETURN(credentials_, RoleChannelCredentials(RoleSecurityOf(config_)));
    KITE_ASSIGN_OR_RETURN(watcher_, SessionWatcher::Start(meta_, kCoordinatorRole));
    const auto deadline = std::chrono::steady_clock::now() + wait;
    Follow();
    while (Current() == nullptr) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        return MakeStatus(StatusCode::kIOError, Reason::kServiceUnavailable,
                          "no active coordinator (session/{}) registered in etcd after {} s", kCoordinatorRole,
                          wait.count() / 1000);
      }
      (void)watcher_->Next(std::min(left, std::chrono::milliseconds(500)));
      Follow();
    }
    thread_ = std::thread([this] { Watch(); });
    return Status::OK();
  }

  SegmentMetaApi* segment_meta() override { return &m_; }
  TsoApi* tso() override { return &t_; }
  QueryNodeApi* query() override { return &q_; }
  StreamingNodeApi* streaming() override { return &s_; }
  std::shared_ptr<grpc::Channel> channel() const override {
    std::lock_guard lock(mu_);
    return current_ ? current_->channel : nullptr;
  }
  std::string address() const override {
    std::lock_guard lock(mu_);
    return current_ ? current_->address : "";
  }
  int64_t moves() const override { return moves_.load(); }

  // The peer calls go to now. While no coordinator is active it is the last
  // one (its calls fail as unreachable) or, before the first, null.
  std::shared_ptr<Peer> Current() const {
    std::lock_guard lock(mu_);
    return current_;
  }
  // Current(), or the "no coordinator" error for callers that cannot hold null.
  Result<std::shared_ptr<Peer>> Need() const {
    std::shared_ptr<Peer> p = Current();
    if (!p) return MakeStatus(StatusCode::kIOError, Reason::kServiceUnavailable, "role peer unavailable: no active coordinator");
    return p;
  }

 private:
  // Points the link at the active key's address, if it names another one.
  void Follow() {
    auto it = watcher_->sessions().find(kCoordinatorRole);
    if (it == watcher_->sessions().end() || it->second.stopping || it->second.address.empty()) return;
    const std::string& address = it->second.address;
    {
      std::lock_guard lock(mu_);
      if (current_ && current_->address == address) return;
    }
    auto p = std::make_shared<Peer>();
    p->address = address;
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(-1);
    args.SetMaxSendMessageSize(-1);
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
    p->channel = CreateRoleChannel(address, credentials_, args, RoleSecurityOf(config_));
    p->meta = MakeRemoteSegmentMeta(p->channel);
    p->tso = MakeRemoteTso(p->channel);
    p->query = MakeRemoteQueryNode(p->channel, nullptr);
    p->streaming = MakeRemoteStreamingNode(p->channel, nullptr);
    std::lock_guard lock(mu_);
    if (current_) {
      moves_++;
      spdlog::warn("the active coordinator moved from {} to {} (server {}): following it", current_->address,
                   address, it->second.server_id);
    }
    current_ = std::move(p);
  }

  void Watch() {
    while (!stop_.load()) {
      auto events = watcher_->Next(std::chrono::milliseconds(200));
      if (!events.ok()) continue;  // the watcher re-lists on its next call
      if (!events->empty()) Follow();
    }
  }

  MetaStore* const meta_;
  const ServerConfig config_;
  std::shared_ptr<grpc::ChannelCredentials> credentials_;
  std::unique_ptr<SessionWatcher> watcher_;  // Start's, then the thread's only
  mutable std::mutex mu_;
  std::shared_ptr<Peer> current_;
  std::atomic<int64_t> moves_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
  FollowingMeta m_;
  FollowingTso t_;
  FollowingQuery q_;
  FollowingStreaming s_;
};

// Each forwarding call: the current peer, or the unreachable error.
#define KITE_PEER(p) KITE_ASSIGN_OR_RETURN(std::shared_ptr<Peer> p, link_->Need())

Status FollowingMeta::CommitFlush(CollectionId collection, const std::string& channel, uint64_t lsn,
                                  const std::vector<SegmentRecord>& segments, const std::string& delta_key,
                                  WalTerm term) {
  KITE_PEER(p);
  return p->meta->CommitFlush(collection, channel, lsn, segments, delta_key, term);
}
Result<std::vector<SegmentRecord>> FollowingMeta::ListSegments(CollectionId collection) const {
  KITE_PEER(p);
  return p->meta->ListSegments(collection);
}
Result<std::optional<SegmentRecord>> FollowingMeta::FindSegment(SegmentId segment) const {
  KITE_PEER(p);
  return p->meta->FindSegment(segment);
}
Status FollowingMeta::CommitSegmentIndex(const SegmentIndexRecord& record) {
  KITE_PEER(p);
  return p->meta->CommitSegmentIndex(record);
}
Result<std::vector<SegmentIndexRecord>> FollowingMeta::ListSegmentIndexes(CollectionId collection) const {
  KITE_PEER(p);
  return p->meta->ListSegmentIndexes(collection);
}
Status FollowingMeta::ForgetSegmentIndex(CollectionId collection, SegmentId segment, IndexId index) {
  KITE_PEER(p);
  return p->meta->ForgetSegmentIndex(collection, segment, index);
}
Result<std::vector<std::string>> FollowingMeta::DropIndex(CollectionId collection, IndexId index) {
  KITE_PEER(p);
  return p->meta->DropIndex(collection, index);
}
Result<std::vector<std::string>> FollowingMeta::CommitCompaction(CollectionId collection,
                                                                 const std::vector<SegmentId>& removed,
                                                                 const SegmentRecord& added) {
  KITE_PEER(p);
  return p->meta->CommitCompaction(collection, removed, added);
}
Result<std::vector<std::string>> FollowingMeta::RetainPartitions(CollectionId collection,
                                                                 const std::set<int64_t>& live) {
  KITE_PEER(p);
  return p->meta->RetainPartitions(collection, live);
}
Result<ChannelCheckpoint> FollowingMeta::GetCheckpoint(const std::string& channel) const {
  KITE_PEER(p);
  return p->meta->GetCheckpoint(channel);
}
Result<WalTerm> FollowingMeta::NextWalTerm(const std::string& channel) {
  KITE_PEER(p);
  return p->meta->NextWalTerm(channel);
}
Status FollowingMeta::DropCollection(CollectionId collection, const std::vector<std::string>& channels) {
  KITE_PEER(p);
  return p->meta->DropCollection(collection, channels);
}

Status FollowingMeta::CommitImport(CollectionId collection, const std::vector<SegmentRecord>& segments) {
  KITE_PEER(p);
  return p->meta->CommitImport(collection, segments);
}

Result<Timestamp> FollowingTso::AllocTimestamp() {
  KITE_PEER(p);
  return p->tso->AllocTimestamp();
}
Result<int64_t> FollowingTso::AllocIds(int64_t count) {
  KITE_PEER(p);
  return p->tso->AllocIds(count);
}

Status FollowingQuery::Search(const rolepb::SearchRequest& req, SearchPart* out, const CancelHook& cancelled) {
  KITE_PEER(p);
  return p->query->Search(req, out, cancelled);
}
Status FollowingQuery::Retrieve(const rolepb::RetrieveRequest& req, Retrieved* out) {
  KITE_PEER(p);
  return p->query->Retrieve(req, out);
}
Status FollowingQuery::ReadStats(const rolepb::ReadStatsRequest& req, rolepb::ReadStatsResponse* resp) {
  KITE_PEER(p);
  return p->query->ReadStats(req, resp);
}
Status FollowingQuery::Load(const CollectionInfo& c, std::shared_ptr<const CollectionSchema> schema) {
  KITE_PEER(p);
  return p->query->Load(c, std::move(schema));
}
void FollowingQuery::Release(CollectionId collection) {
  if (auto p = link_->Current()) p->query->Release(collection);
}
bool FollowingQuery::IsLoaded(CollectionId collection) const {
  auto p = link_->Current();
  return p && p->query->IsLoaded(collection);
}
Status FollowingQuery::LoadSegments(const rolepb::LoadSegmentsRequest& req, std::vector<SegmentPtr> local,
                                    rolepb::LoadSegmentsResponse* resp) {
  KITE_PEER(p);
  return p->query->LoadSegments(req, std::move(local), resp);
}
Status FollowingQuery::ReleaseSegments(CollectionId collection, const std::vector<SegmentId>& segments) {
  KITE_PEER(p);
  return p->query->ReleaseSegments(collection, segments);
}
Status FollowingQuery::ApplyDeletes(CollectionId collection, const std::string& channel,
                                    const std::vector<DeleteRecord>& deletes) {
  KITE_PEER(p);
  return p->query->ApplyDeletes(collection, channel, deletes);
}
Status FollowingQuery::LoadIndex(CollectionId collection, const SegmentIndexRecord& rec,
                                 std::shared_ptr<const index::VectorIndex> local_vector,
                                 std::shared_ptr<const index::ScalarIndex> local_scalar) {
  KITE_PEER(p);
  return p->query->LoadIndex(collection, rec, std::move(local_vector), std::move(local_scalar));
}
Status FollowingQuery::DetachIndex(CollectionId collection, IndexId index) {
  KITE_PEER(p);
  return p->query->DetachIndex(collection, index);
}
std::vector<SegmentSummary> FollowingQuery::LoadedSegments(CollectionId collection) const {
  auto p = link_->Current();
  return p ? p->query->LoadedSegments(collection) : std::vector<SegmentSummary>{};
}
SegmentPtr FollowingQuery::FindSegment(CollectionId collection, SegmentId segment) const {
  auto p = link_->Current();
  return p ? p->query->FindSegment(collection, segment) : nullptr;
}

Status FollowingStreaming::Open(const CollectionInfo& c) {
  KITE_PEER(p);
  return p->streaming->Open(c);
}
Status FollowingStreaming::Drop(const CollectionInfo& c) {
  KITE_PEER(p);
  return p->streaming->Drop(c);
}
Result<Timestamp> FollowingStreaming::Write(CollectionId collection, int shard, DmlMessage msg) {
  KITE_PEER(p);
  return p->streaming->Write(collection, shard, std::move(msg));
}
Result<std::vector<SegmentId>> FollowingStreaming::Flush(CollectionId collection) {
  KITE_PEER(p);
  return p->streaming->Flush(collection);
}
Status FollowingStreaming::RetainPartitions(CollectionId collection, const std::set<int64_t>& live) {
  KITE_PEER(p);
  return p->streaming->RetainPartitions(collection, live);
}
Status FollowingStreaming::CommitImport(CollectionId collection, const std::vector<SegmentRecord>& segments) {
  KITE_PEER(p);
  return p->streaming->CommitImport(collection, segments);
}
Status FollowingStreaming::Load(const CollectionInfo& c) {
  KITE_PEER(p);
  return p->streaming->Load(c);
}
Status FollowingStreaming::Release(CollectionId collection) {
  KITE_PEER(p);
  return p->streaming->Release(collection);
}
Status FollowingStreaming::ApplySchema(const CollectionInfo& c) {
  KITE_PEER(p);
  return p->streaming->ApplySchema(c);
}
Result<std::vector<SegmentSummary>> FollowingStreaming::PersistentSegments(CollectionId collection) {
  KITE_PEER(p);
  return p->streaming->PersistentSegments(collection);
}
Result<std::vector<SegmentSummary>> FollowingStreaming::LoadedSegments(CollectionId collection) {
  KITE_PEER(p);
  return p->streaming->LoadedSegments(collection);
}
Result<Timestamp> FollowingStreaming::SafeTimestamp(CollectionId collection, Timestamp now) {
  KITE_PEER(p);
  return p->streaming->SafeTimestamp(collection, now);
}
Result<int64_t> FollowingStreaming::RowCount(CollectionId collection, int64_t partition, const std::set<int64_t>& live) {
  KITE_PEER(p);
  return p->streaming->RowCount(collection, partition, live);
}
Status FollowingStreaming::Search(const rolepb::SearchRequest& req, SearchPart* out, const CancelHook& cancelled) {
  KITE_PEER(p);
  return p->streaming->Search(req, out, cancelled);
}
Status FollowingStreaming::Retrieve(const rolepb::RetrieveRequest& req, Retrieved* out) {
  KITE_PEER(p);
  return p->streaming->Retrieve(req, out);
}
Status FollowingStreaming::ReadStats(const rolepb::ReadStatsRequest& req, rolepb::ReadStatsResponse* resp) {
  KITE_PEER(p);
  return p->streaming->ReadStats(req, resp);
}

#undef KITE_PEER

}  // namespace

Result<std::unique_ptr<CoordinatorLink>> CoordinatorLink::Start(MetaStore* meta, const ServerConfig& config,
                                                                std::chrono::milliseconds wait) {
  auto link = std::make_unique<Link>(meta, config);
  KITE_RETURN_IF_ERROR(link->Start(wait));
  return std::unique_ptr<CoordinatorLink>(std::move(link));
}

}  // namespace kite
