#include "roles/streaming/streaming_node.h"

#include <random>

#include <spdlog/spdlog.h>

#include "roles/api/read_exec.h"
#include "roles/api/role_call.h"
#include "roles/api/role_codec.h"

namespace kite {

namespace {
constexpr Timestamp kPendingTs = ~Timestamp{0};
}  // namespace

struct StreamingNode::Channel {
  std::mutex mu;
  std::string name;
  CollectionId collection;
  std::shared_ptr<const CollectionSchema> schema;
  std::shared_ptr<WalChannel> wal;
  WalTerm term = 0;  // the ownership term this node opened the channel with (fences its flushes)
  // partition id -> growing segment. Changed under both `mu` and
  // `growing_mu`; readers take only `growing_mu`, so a read never waits for
  // a write's WAL append (it waits for the tsafe it needs, see WaitTsafe).
  std::map<int64_t, SegmentPtr> growing;
  std::mutex growing_mu;
  std::vector<DeleteRecord> delete_buffer;
  // While `forward`, the query side holds delete_buffer[0, unsent_from); the
  // rest (deletes whose forward failed: the coordinator or a query node
  // unreachable, a call past its deadline) is sent again, in order, before
  // the next delete's, by Load, by a flush before it clears the buffer (one
  // that cannot send them fails), and by the idle loop (ResendDeletesLocked).
  size_t unsent_from = 0;
  int unsent_failures = 0;   // failed sends in a row
  int64_t next_resend_ms = 0;  // when the idle loop may try again
  // Replaying the WAL (Open): no automatic flush, so that the replayed
  // deletes and rows stay buffered until Load hands them to a query side
  // that may have outlived this node (a flush now would clear the buffer
  // with no query side to hand it to).
  bool replaying = false;
  uint64_t applied_lsn = 0;
  uint64_t checkpoint_lsn = 0;
  int64_t last_write_ms = 0;
  // Collection loaded: forward deletes and sealed segments. Written under
  // mu; read without it by the read path (whether the shard is served).
  std::atomic<bool> forward{false};
  std::atomic<Timestamp> in_flight_ts{0};  // timestamp of the write being applied, 0 if none
  // Readers waiting for the tsafe (WaitTsafe), woken when a write finishes.
  std::mutex tsafe_mu;
  std::condition_variable tsafe_cv;
  std::atomic<int> tsafe_waiters{0};
  bool dropped = false;  // collection dropped: never flush or write again
  // Failed flushes in a row (the object store down, a full disk) and when a
  // flush triggered by a full segment or idle time may be tried again:
  // until then writes are applied without one (FlushBackoff).
  std::atomic<int> flush_failures{0};
  int64_t next_auto_flush_ms = 0;
  std::string flush_error;  // the last failed flush's error
};

namespace {

// Automatic flushes of a channel whose flushes fail wait 1 s, 2 s, 4 s, ...
// up to 30 s (+-20% jitter) between tries, so the writes that fill a segment
// do not each wait for the object store's own retries.
constexpr int64_t kFlushBackoffMinMs = 1000;
constexpr int64_t kFlushBackoffMaxMs = 30000;

int64_t FlushBackoffMs(int failures) {
  int64_t ms = kFlushBackoffMinMs << std::min(failures - 1, 5);
  ms = std::min(ms, kFlushBackoffMaxMs);
  static thread_local std::mt19937 gen(std::random_device{}());
  return static_cast<int64_t>(static_cast<double>(ms) * std::uniform_real_distribution<double>(0.8, 1.2)(gen));
}

}  // namespace

StreamingNode::StreamingNode(Wal* wal, ObjectStore* store, SegmentMetaApi* registry, TsoApi* coordinator,
                             QueryNodeApi* query_node, StreamingOptions options)
    : wal_(wal), store_(store), registry_(registry), coord_(coordinator), query_node_(query_node), options_(options) {
  idle_thread_ = std::thread([this] { IdleLoop(); });
}

StreamingNode::~StreamingNode() {
  {
    std::lock_guard lock(idle_mu_);
    stopping_ = true;
  }
  idle_cv_.notify_all();
  idle_thread_.join();
}

Status StreamingNode::Open(const CollectionInfo& c) {
  {
    std::shared_lock lock(map_mu_);
    if (channels_.count(c.id.value)) return Status::OK();
  }
  auto schema = std::make_shared<const CollectionSchema>(c.schema);
  std::vector<std::shared_ptr<Channel>> shards;
  for (const auto& name : c.channels) {
    auto ch = std::make_shared<Channel>();
    ch->name = name;
    ch->collection = c.id;
    ch->schema = schema;
    KITE_ASSIGN_OR_RETURN(WalTerm term, registry_->NextWalTerm(name));
    ch->term = term;
    KITE_ASSIGN_OR_RETURN(ch->wal, wal_->OpenChannel(name, term));
    KITE_ASSIGN_OR_RETURN(ChannelCheckpoint checkpoint, registry_->GetCheckpoint(name));
    ch->checkpoint_lsn = ch->applied_lsn = checkpoint.lsn;
    // The checkpoint says records up to it were written; a WAL that ends
    // below it lost records (new appends would reuse LSNs the checkpoint
    // covers, and replay would skip them: acknowledged writes lost later).
    const Lsn last = ch->wal->LastLsn();
    if (last < ch->checkpoint_lsn) {
      return Corruption("WAL channel {} ends at LSN {}, below its flush checkpoint LSN {}: the log lost "
                        "records it had written (a log file cut or removed); refusing to reuse those LSNs",
                        name, last, ch->checkpoint_lsn);
    }
    std::lock_guard lock(ch->mu);
    ch->replaying = true;
    int64_t replayed = 0;
    Lsn expected = ch->checkpoint_lsn + 1;
    Status st = ch->wal->Replay(ch->checkpoint_lsn, [&](Lsn lsn, std::string_view payload) -> Status {
      if (lsn != expected) {
        return Corruption("records {} to {} after the flush checkpoint are missing (the oldest log file "
                          "still on disk starts at LSN {})",
                          expected, lsn - 1, lsn);
      }
      ++expected;
      KITE_ASSIGN_OR_RETURN(DmlMessage msg, DecodeDml(payload));
      ++replayed;
      return ApplyLocked(*ch, msg, lsn);
    });
    if (st.ok() && expected != last + 1) {
      st = Corruption("replay ended at LSN {} but the log's last LSN is {}", expected - 1, last);
    }
    ch->replaying = false;
    if (!st.ok()) return MakeStatus(st.code(), st.reason(), "replaying WAL channel {}: {}", name, st.message());
    if (replayed > 0) spdlog::info("channel {}: replayed {} WAL records after checkpoint {}", name, replayed, ch->checkpoint_lsn);
    ch->last_write_ms = static_cast<int64_t>(WallClockMs());
    shards.push_back(std::move(ch));
  }
  std::unique_lock lock(map_mu_);
  channels_[c.id.value] = std::move(shards);
  return Status::OK();
}

Status StreamingNode::Drop(const CollectionInfo& c) {
  std::vector<std::shared_ptr<Channel>> shards;
  {
    std::unique_lock lock(map_mu_);
    auto it = channels_.find(c.id.value);
    if (it != channels_.end()) {
      shards = std::move(it->second);
      channels_.erase(it);
    }
  }
  for (auto& ch : shards) {
    std::lock_guard lock(ch->mu);  // wait for in-flight writes and flushes
    ch->dropped = true;
  }
  shards.clear();
  query_node_->Release(c.id);
  for (const auto& name : c.channels) KITE_RETURN_IF_ERROR(wal_->DropChannel(name));
  // The objects become garbage in the same batch; the garbage collector
  // deletes them after dataCoord.gc.dropTolerance.
  return registry_->DropCollection(c.id, c.channels);
}

Status StreamingNode::RetainPartitions(CollectionId collection, const std::set<int64_t>& live) {
  for (auto& ch : ChannelsOf(collection)) {
    std::lock_guard lock(ch->mu);
    std::lock_guard glock(ch->growing_mu);
    std::erase_if(ch->growing, [&](const auto& kv) { return !live.count(kv.first); });
  }
  KITE_ASSIGN_OR_RETURN(std::vector<std::string> garbage, registry_->RetainPartitions(collection, live));
  std::vector<SegmentId> removed;
  for (const SegmentSummary& seg : query_node_->LoadedSegments(collection)) {
    if (!live.count(seg.partition.value)) removed.push_back(seg.id);
  }
  if (!removed.empty()) KITE_RETURN_IF_ERROR(query_node_->ReleaseSegments(collection, removed));
  // `garbage` (their files) was recorded in the registry's batch; the garbage
  // collector deletes it after dataCoord.gc.dropTolerance.
  return Status::OK();
}

Status StreamingNode::CommitImport(CollectionId collection, const std::vector<SegmentRecord>& segments) {
  std::vector<std::shared_ptr<Channel>> chans = ChannelsOf(collection);
  std::vector<std::unique_lock<std::mutex>> locks;
  for (const auto& ch : chans) locks.emplace_back(ch->mu);
  std::set<std::string> names;
  for (const auto& ch : chans) {
    if (!ch->dropped) names.insert(ch->name);
  }
  for (const SegmentRecord& rec : segments) {
    if (!names.count(rec.channel)) {
      return MakeStatus(StatusCode::kFailedPrecondition, Reason::kNone,
                        "collection {} has no open channel {} on this streaming node (dropped meanwhile?)",
                        collection.value, rec.channel);
    }
  }
  if (segments.empty()) return Status::OK();
  KITE_RETURN_IF_ERROR(registry_->CommitImport(collection, segments));
  // A loaded collection gets the segments now, in one step for readers; one
  // loaded later reads them from the registry like any flushed segment.
  if (!chans.empty() && chans[0]->forward) {
    rolepb::LoadSegmentsRequest req;
    req.set_collection(collection.value);
    for (const SegmentRecord& rec : segments) *req.add_segments() = SegmentLoadOf(rec, {});
    // Deletes newer than the imported rows (issued while the job wrote) are
    // applied to them as to any sealed segment: the flushed ones from the
    // channels' delta files, the buffered ones below.
    for (const auto& ch : chans) {
      auto chk = registry_->GetCheckpoint(ch->name);
      if (!chk.ok()) {
        spdlog::error("channel {}: imported segments not handed over: {}", ch->name, chk.status().ToString());
        return Status::OK();  // committed: a reload reads them
      }
      rolepb::ChannelDeltas* d = req.add_deltas();
      d->set_channel(ch->name);
      for (const std::string& k : chk->delta_keys) d->add_keys(k);
    }
    Status st = query_node_->LoadSegments(req, {}, nullptr);
    for (const auto& ch : chans) {
      ch->unsent_from = 0;  // the imported segments hold none of the buffered deletes
      if (st.ok()) st = ResendDeletesLocked(*ch);
    }
    if (!st.ok()) spdlog::error("collection {}: hand-over of imported segments failed: {}", collection.value, st.ToString());
  }
  if (flush_listener_) flush_listener_(collection);
  return Status::OK();
}

std::vector<std::shared_ptr<StreamingNode::Channel>> StreamingNode::ChannelsOf(CollectionId collection) {
  std::shared_lock lock(map_mu_);
  auto it = channels_.find(collection.value);
  if (it == channels_.end()) return {};
  return it->second;
}

Result<Timestamp> StreamingNode::Write(CollectionId collection, int shard, DmlMessage msg) {
  std::shared_lock map_lock(map_mu_);
  auto it = channels_.find(collection.value);
  if (it == channels_.end() || shard < 0 || shard >= static_cast<int>(it->second.size())) {
    return Internal("collection {} shard {} is not served by this streaming node", collection.value, shard);
  }
  Channel& ch = *it->second[shard];
  std::lock_guard lock(ch.mu);
  // The client of the request this write serves (role_call.h) stopped
  // waiting — while the write waited for the channel, or in transit to this
  // node: it is refused, never applied behind the client's back.
  if (CurrentDeadlinePassed()) return DeadlineExceededStatus();
  // Readers must never pick a timestamp above a write that is only partly
  // applied: mark the channel busy before taking the write's timestamp.
  ch.in_flight_ts.store(kPendingTs, std::memory_order_seq_cst);
  struct ClearInFlight {
    Channel* ch;
    ~ClearInFlight() {
      ch->in_flight_ts.store(0, std::memory_order_seq_cst);
      if (ch->tsafe_waiters.load(std::memory_order_seq_cst) > 0) {
        std::lock_guard l(ch->tsafe_mu);
        ch->tsafe_cv.notify_all();
      }
    }
  } clear_in_flight{&ch};
  if (msg.type != DmlType::kDelete && msg.rows.num_rows > 0) KITE_RETURN_IF_ERROR(AdmitRowsLocked(ch));
  KITE_ASSIGN_OR_RETURN(msg.ts, coord_->AllocTimestamp());
  ch.in_flight_ts.store(msg.ts, std::memory_order_seq_cst);
  KITE_ASSIGN_OR_RETURN(Lsn lsn, ch.wal->Append(EncodeDml(msg)));
  ch.last_write_ms = static_cast<int64_t>(WallClockMs());
  // The write is durable: from here on a failure must not be reported as a
  // rejected write. Applying to memory cannot fail for a validated message.
  Status st = ApplyLocked(ch, msg, lsn);
  if (!st.ok()) spdlog::error("channel {}: applying lsn {} failed after WAL append: {}", ch.name, lsn, st.ToString());
  return msg.ts;
}

Status StreamingNode::ApplyLocked(Channel& ch, const DmlMessage& msg, uint64_t lsn) {
  if (msg.type != DmlType::kInsert && msg.delete_pks.num_rows > 0) {
    for (int64_t i = 0; i < msg.delete_pks.num_rows; ++i) {
      PrimaryKey pk = PkAt(msg.delete_pks, i);
      int64_t part = msg.delete_partition.value;
      for (auto& [pid, seg] : ch.growing) {
        if (part == 0 || pid == part) seg->ApplyDelete(pk, msg.ts);
      }
      ch.delete_buffer.push_back(DeleteRecord{std::move(pk), msg.ts, part});
    }
    // The write is in the WAL already: a forward that fails does not fail
    // it; the deletes stay unsent and go with the next forward (a query node
    // that could not take them is one the query view replaces: it replays
    // the channel's deletes).
    if (ch.forward) (void)ResendDeletesLocked(ch);
  }
  bool full = false;
  if (msg.type != DmlType::kDelete && msg.rows.num_rows > 0) {
    auto it = ch.growing.find(msg.partition.value);
    if (it == ch.growing.end()) {
      KITE_ASSIGN_OR_RETURN(int64_t sid, coord_->AllocIds(1));
      auto fresh = std::make_shared<Segment>(SegmentMeta{SegmentId(sid), ch.collection, msg.partition, ch.name},
                                             ch.schema);
      std::lock_guard glock(ch.growing_mu);
      it = ch.growing.emplace(msg.partition.value, std::move(fresh)).first;
    }
    SegmentPtr& seg = it->second;
    if (Status st = seg->CheckAppendable(msg.rows); !st.ok()) {
      return Corruption("WAL channel {} LSN {}: the record does not match collection {}'s schema: {}", ch.name, lsn,
                        ch.collection.value, st.message());
    }
    seg->Append(msg.rows, std::vector<Timestamp>(static_cast<size_t>(msg.rows.num_rows), msg.ts));
    full = static_cast<double>(seg->MemoryBytes()) >=
           static_cast<double>(options_.segment_bytes_max) * options_.seal_proportion;
  }
  ch.applied_lsn = lsn;
  if (full && !ch.replaying && static_cast<int64_t>(WallClockMs()) >= ch.next_auto_flush_ms) {
    // The message is applied either way. A failed flush (a full disk, the
    // object store down) changed nothing and is tried again by a later write
    // once its backoff passed; failing here would fail a replay, and so the
    // start, on a full disk.
    std::vector<SegmentId> flushed;
    (void)FlushLocked(ch, &flushed);
  }
  return Status::OK();
}

Status StreamingNode::ResendDeletesLocked(Channel& ch) {
  if (ch.unsent_from >= ch.delete_buffer.size()) return Status::OK();
  const std::vector<DeleteRecord> unsent(ch.delete_buffer.begin() + static_cast<std::ptrdiff_t>(ch.unsent_from),
                                         ch.delete_buffer.end());
  Status st = query_node_->ApplyDeletes(ch.collection, ch.name, unsent);
  if (st.ok()) {
    if (ch.unsent_failures > 0) {
      spdlog::info("channel {}: {} deletes the query side had missed reached it", ch.name, unsent.size());
    }
    ch.unsent_from = ch.delete_buffer.size();
    ch.unsent_failures = 0;
    ch.next_resend_ms = 0;
    return st;
  }
  ++ch.unsent_failures;
  const int64_t wait_ms = FlushBackoffMs(ch.unsent_failures);
  ch.next_resend_ms = static_cast<int64_t>(WallClockMs()) + wait_ms;
  spdlog::error("channel {}: forwarding {} deletes to the query side failed ({} in a row); kept, sent again with "
                "the next delete, by a load or a flush, or in {} ms: {}",
                ch.name, unsent.size(), ch.unsent_failures, wait_ms, st.ToString());
  return st;
}

int64_t StreamingNode::UnflushedBytesLocked(Channel& ch) {
  int64_t bytes = 0;
  for (const auto& [pid, seg] : ch.growing) bytes += static_cast<int64_t>(seg->MemoryBytes());
  return bytes;
}

Status StreamingNode::AdmitRowsLocked(Channel& ch) {
  if (ch.flush_failures.load() == 0) return Status::OK();
  const double bound = static_cast<double>(options_.segment_bytes_max) * options_.seal_proportion *
                       static_cast<double>(options_.unflushed_segments_max);
  int64_t bytes = UnflushedBytesLocked(ch);
  if (static_cast<double>(bytes) < bound) return Status::OK();
  if (static_cast<int64_t>(WallClockMs()) >= ch.next_auto_flush_ms) {
    std::vector<SegmentId> flushed;
    if (FlushLocked(ch, &flushed).ok()) return Status::OK();
  }
  // merr.WrapErrServiceUnavailable's text: code 2, retriable.
  return MakeStatus(StatusCode::kIOError, Reason::kServiceUnavailable,
                    "service unavailable: channel {} holds {} bytes of growing data that cannot be flushed ({} "
                    "failed flushes, last: {}); rows are accepted again once a flush succeeds",
                    ch.name, bytes, ch.flush_failures.load(), ch.flush_error);
}

StreamingNode::FlushHealth StreamingNode::Health() {
  FlushHealth h;
  std::shared_lock map_lock(map_mu_);
  for (const auto& [cid, shards] : channels_) {
    for (const auto& ch : shards) {
      if (ch->flush_failures.load() > 0) h.failing_channels++;
    }
  }
  return h;
}

Status StreamingNode::FlushLocked(Channel& ch, std::vector<SegmentId>* flushed) {
  if (ch.dropped || ch.applied_lsn == ch.checkpoint_lsn) return Status::OK();  // nothing new
  // Nothing in memory changes until the commit: a failed flush leaves the
  // growing segments and delete buffer as they were (files it wrote are
  // deleted, or are unreferenced garbage), and a later flush redoes it.
  std::vector<SegmentRecord> records;
  std::vector<std::string> written;   // object keys
  std::vector<std::string> prefixes;  // of segments not committed yet (their ids are new)
  auto fail = [&](Status st) {
    for (const auto& prefix : prefixes) (void)store_->DeletePrefix(prefix);
    for (const auto& key : written) (void)store_->Delete(key);
    const int failures = ch.flush_failures.fetch_add(1) + 1;
    const int64_t wait_ms = FlushBackoffMs(failures);
    ch.next_auto_flush_ms = static_cast<int64_t>(WallClockMs()) + wait_ms;
    ch.flush_error = st.ToString();
    spdlog::warn("channel {}: flush at lsn {} failed ({} in a row), nothing changed; automatic flushes wait {} ms: {}",
                 ch.name, ch.applied_lsn, failures, wait_ms, st.ToString());
    return st;
  };
  // The query side's sealed segments must have every delete before the
  // buffer is cleared: later it only gets what follows (the delta file
  // written here reaches only segments loaded from now on).
  if (ch.forward) {
    if (Status st = ResendDeletesLocked(ch); !st.ok()) {
      return fail(MakeStatus(st.code(), st.reason(),
                             "{} deletes of channel {} have not reached the query side yet, and a flush would drop "
                             "them: {}",
                             ch.delete_buffer.size() - ch.unsent_from, ch.name, st.message()));
    }
  }
  for (auto& [pid, seg] : ch.growing) {
    if (seg->num_rows() == 0) continue;
    SegmentRecord rec;
    rec.id = seg->id();
    rec.collection_id = ch.collection;
    rec.partition_id = PartitionId(pid);
    rec.channel = ch.name;
    rec.checkpoint_lsn = ch.applied_lsn;
    Status st;
    seg->WithColumns([&](const ColumnBatch& cols, const std::vector<Timestamp>& ts) {
      rec.num_rows = cols.num_rows;
      prefixes.push_back(SegmentPrefix(ch.collection, seg->id()));
      auto keys = WriteSegmentFiles(store_, prefixes.back(), cols, ts);
      if (!keys.ok()) {
        st = keys.status();
        return;
      }
      rec.files = std::move(keys).value();
      written.insert(written.end(), rec.files.begin(), rec.files.end());
    });
    if (!st.ok()) return fail(st);
    rec.max_ts = seg->max_timestamp();
    rec.size_bytes = static_cast<int64_t>(seg->MemoryBytes());
    records.push_back(std::move(rec));
  }
  std::string delta_key;
  if (!ch.delete_buffer.empty()) {
    delta_key = DeltaKey(ch.collection, ch.name, ch.applied_lsn);
    Status st = WriteDeltaFile(store_, delta_key, ch.delete_buffer);
    if (!st.ok()) return fail(st);
    written.push_back(delta_key);
  }
  // The checkpoint must never be ahead of what the WAL holds durably
  // (StreamingNode::Open refuses a log that ends below its checkpoint).
  if (Status st = ch.wal->Sync(); !st.ok()) return fail(st);
  if (Status st = registry_->CommitFlush(ch.collection, ch.name, ch.applied_lsn, records, delta_key, ch.term); !st.ok()) {
    return fail(st);
  }
  {
    // Hand-over in one step for readers: a segment a reader listed as growing
    // is skipped by the query node (ReadScope.skip_segments), one it did not
    // list is already sealed there.
    std::lock_guard glock(ch.growing_mu);
    rolepb::LoadSegmentsRequest hand_over;
    hand_over.set_collection(ch.collection.value);
    std::vector<SegmentPtr> sealed;
    for (auto& [pid, seg] : ch.growing) {
      if (seg->num_rows() == 0) continue;
      seg->Seal();
      flushed->push_back(seg->id());
      sealed.push_back(seg);
    }
    for (const SegmentRecord& rec : records) *hand_over.add_segments() = SegmentLoadOf(rec, {});
    // The segment files hold no deletes: those of its growing rows are in
    // this flush's delta file (a query node in another process reads the
    // files; one in this process takes `sealed`, deletes applied in memory).
    if (!delta_key.empty()) {
      rolepb::ChannelDeltas* d = hand_over.add_deltas();
      d->set_channel(ch.name);
      d->add_keys(delta_key);
    }
    if (ch.forward && !sealed.empty()) {
      // The files were committed above; a remote query node reads them.
      Status st = query_node_->LoadSegments(hand_over, std::move(sealed), nullptr);
      if (!st.ok()) spdlog::error("channel {}: hand-over of flushed segments failed: {}", ch.name, st.ToString());
    }
    ch.growing.clear();
  }
  ch.delete_buffer.clear();
  ch.unsent_from = 0;
  ch.checkpoint_lsn = ch.applied_lsn;
  if (ch.flush_failures.exchange(0) > 0) spdlog::info("channel {}: flushes succeed again", ch.name);
  ch.next_auto_flush_ms = 0;
  ch.flush_error.clear();
  Status st = ch.wal->TruncateBefore(ch.checkpoint_lsn);
  if (!st.ok()) spdlog::warn("channel {}: WAL truncation failed: {}", ch.name, st.ToString());
  spdlog::info("channel {}: flushed {} segments at lsn {}", ch.name, records.size(), ch.checkpoint_lsn);
  if (!records.empty() && flush_listener_) flush_listener_(ch.collection);
  return Status::OK();
}

Result<std::vector<SegmentId>> StreamingNode::Flush(CollectionId collection) {
  std::vector<SegmentId> flushed;
  for (const auto& ch : ChannelsOf(collection)) {
    std::lock_guard lock(ch->mu);
    KITE_RETURN_IF_ERROR(FlushLocked(*ch, &flushed));
  }
  return flushed;
}

Status StreamingNode::Load(const CollectionInfo& c) {
  std::vector<std::shared_ptr<Channel>> chans = ChannelsOf(c.id);
  std::vector<std::unique_lock<std::mutex>> locks;
  for (const auto& ch : chans) locks.emplace_back(ch->mu);
  const bool fresh = !query_node_->IsLoaded(c.id);
  if (fresh) {
    auto schema = chans.empty() ? std::make_shared<const CollectionSchema>(c.schema) : chans[0]->schema;
    KITE_RETURN_IF_ERROR(query_node_->Load(c, schema));
  }
  // The buffered deletes (since the channel's last flush: not in the delta
  // files the load read) go to a query side that just loaded the collection
  // — also one that restarted while this node kept forwarding — and to one
  // that already held it when this node took the channels over (or
  // restarted) and replayed deletes it may not have seen (applying one twice
  // changes nothing). One this node forwards to already gets those whose
  // forward failed.
  for (const auto& ch : chans) {
    if (fresh || !ch->forward) ch->unsent_from = 0;
    KITE_RETURN_IF_ERROR(ResendDeletesLocked(*ch));
    ch->forward = true;
  }
  return Status::OK();
}

Status StreamingNode::Release(CollectionId collection) {
  std::vector<std::shared_ptr<Channel>> chans = ChannelsOf(collection);
  std::vector<std::unique_lock<std::mutex>> locks;
  for (const auto& ch : chans) locks.emplace_back(ch->mu);
  for (const auto& ch : chans) ch->forward = false;
  query_node_->Release(collection);
  return Status::OK();
}

Status StreamingNode::ApplySchema(const CollectionInfo& c) {
  std::vector<std::shared_ptr<Channel>> chans = ChannelsOf(c.id);
  std::vector<std::unique_lock<std::mutex>> locks;
  for (const auto& ch : chans) locks.emplace_back(ch->mu);
  auto schema = std::make_shared<const CollectionSchema>(c.schema);
  std::vector<SegmentId> flushed;
  for (const auto& ch : chans) {
    KITE_RETURN_IF_ERROR(FlushLocked(*ch, &flushed));
    std::lock_guard glock(ch->growing_mu);  // readers copy the schema under it
    ch->schema = schema;
  }
  if (!query_node_->IsLoaded(c.id)) return Status::OK();
  // Load replaces the loaded segments in one step: reads never see none.
  KITE_RETURN_IF_ERROR(query_node_->Load(c, schema));
  for (const auto& ch : chans) {
    ch->unsent_from = 0;  // the reloaded segments hold none of the buffered deletes
    KITE_RETURN_IF_ERROR(ResendDeletesLocked(*ch));
  }
  return Status::OK();
}

void StreamingNode::WaitTsafe(Channel& ch, Timestamp ts) {
  if (ts == 0) return;
  // Timestamps are taken under the channel lock in order, so once the write
  // in flight (if any) is above ts, every write at or below ts is applied.
  auto reached = [&] {
    Timestamp w = ch.in_flight_ts.load(std::memory_order_seq_cst);
    return w == 0 || (w != kPendingTs && w > ts);
  };
  if (reached()) return;
  std::unique_lock l(ch.tsafe_mu);
  ch.tsafe_waiters.fetch_add(1, std::memory_order_seq_cst);
  ch.tsafe_cv.wait(l, reached);
  ch.tsafe_waiters.fetch_sub(1, std::memory_order_seq_cst);
}

namespace {
Status ShardNotServed(int64_t collection, int shard) {
  return MakeStatus(StatusCode::kFailedPrecondition, Reason::kCollectionNotLoaded,
                    "collection not loaded[collection={}]: shard {} is not served here", collection, shard);
}
}  // namespace

Result<std::shared_ptr<StreamingNode::Channel>> StreamingNode::ReadChannel(
    const rolepb::ReadScope& scope, std::vector<SegmentPtr>* growing, std::shared_ptr<const CollectionSchema>* schema) {
  std::vector<std::shared_ptr<Channel>> chans = ChannelsOf(CollectionId(scope.collection()));
  if (scope.shard() < 0 || scope.shard() >= static_cast<int>(chans.size())) {
    return ShardNotServed(scope.collection(), scope.shard());
  }
  std::shared_ptr<Channel> ch = chans[static_cast<size_t>(scope.shard())];
  WaitTsafe(*ch, scope.guarantee_ts());
  std::lock_guard lock(ch->growing_mu);
  *schema = ch->schema;
  if (!ch->forward) {
    return MakeStatus(StatusCode::kFailedPrecondition, Reason::kCollectionNotLoaded,
                      "collection not loaded[collection={}]", (*schema)->name);
  }
  if (scope.include_growing()) {
    for (auto& [pid, seg] : ch->growing) {
      if (InScope(*seg, scope)) growing->push_back(seg);
    }
  }
  return ch;
}

Status StreamingNode::Search(const rolepb::SearchRequest& req, SearchPart* out, const CancelHook& cancelled) {
  std::vector<SegmentPtr> growing;
  std::shared_ptr<const CollectionSchema> schema;
  KITE_ASSIGN_OR_RETURN(std::shared_ptr<Channel> ch, ReadChannel(req.scope(), &growing, &schema));
  // The query nodes holding the shard's sealed segments (one in standalone),
  // told which segments this delegator reads as growing.
  if (growing.empty()) return query_node_->Search(req, out, cancelled);
  rolepb::SearchRequest to_qn = req;
  for (const SegmentPtr& seg : growing) to_qn.mutable_scope()->add_skip_segments(seg->id().value);
  std::vector<SearchPart> parts(2);
  KITE_RETURN_IF_ERROR(query_node_->Search(to_qn, &parts[1], cancelled));
  KITE_ASSIGN_OR_RETURN(parts[0], ExecuteSearch(req, *schema, growing, cancelled));
  KITE_ASSIGN_OR_RETURN(*out, ReduceParts(std::move(parts), ReduceSpecOf(req)));
  return Status::OK();
}

Status StreamingNode::Retrieve(const rolepb::RetrieveRequest& req, Retrieved* out) {
  std::vector<SegmentPtr> growing;
  std::shared_ptr<const CollectionSchema> schema;
  KITE_ASSIGN_OR_RETURN(std::shared_ptr<Channel> ch, ReadChannel(req.scope(), &growing, &schema));
  if (growing.empty()) return query_node_->Retrieve(req, out);
  rolepb::RetrieveRequest to_qn = req;
  for (const SegmentPtr& seg : growing) to_qn.mutable_scope()->add_skip_segments(seg->id().value);
  std::vector<Retrieved> parts(2);
  KITE_RETURN_IF_ERROR(query_node_->Retrieve(to_qn, &parts[1]));
  KITE_ASSIGN_OR_RETURN(parts[0], ExecuteRetrieve(req, *schema, growing));
  RetrievePlan unpaged;
  unpaged.count_only = req.count_only();
  unpaged.limit = req.limit() >= 0 ? req.limit() + req.offset() : -1;
  *out = MergeRetrieved(std::move(parts), unpaged);
  return Status::OK();
}

Status StreamingNode::ReadStats(const rolepb::ReadStatsRequest& req, rolepb::ReadStatsResponse* resp) {
  std::vector<SegmentPtr> growing;
  std::shared_ptr<const CollectionSchema> schema;
  KITE_ASSIGN_OR_RETURN(std::shared_ptr<Channel> ch, ReadChannel(req.scope(), &growing, &schema));
  rolepb::ReadStatsRequest to_qn = req;
  for (const SegmentPtr& seg : growing) to_qn.mutable_scope()->add_skip_segments(seg->id().value);
  KITE_RETURN_IF_ERROR(query_node_->ReadStats(to_qn, resp));
  AddReadStats(req, growing, resp);
  return Status::OK();
}

Result<std::vector<SegmentSummary>> StreamingNode::PersistentSegments(CollectionId collection) {
  std::vector<SegmentSummary> out;
  KITE_ASSIGN_OR_RETURN(std::vector<SegmentRecord> flushed, registry_->ListSegments(collection));
  for (const SegmentRecord& r : flushed) {
    out.push_back({r.id, r.partition_id, r.num_rows, r.size_bytes, false, r.channel});
  }
  for (const SegmentPtr& seg : GrowingSegments(collection)) {
    out.push_back({seg->id(), seg->meta().partition_id, seg->num_rows(), static_cast<int64_t>(seg->MemoryBytes()), true,
                   seg->meta().channel});
  }
  return out;
}

Result<std::vector<SegmentSummary>> StreamingNode::LoadedSegments(CollectionId collection) {
  return query_node_->LoadedSegments(collection);
}

Result<int64_t> StreamingNode::RowCount(CollectionId collection, int64_t partition, const std::set<int64_t>& live) {
  KITE_ASSIGN_OR_RETURN(int64_t rows, FlushedRows(collection, partition, live));
  for (const SegmentPtr& seg : GrowingSegments(collection)) {
    int64_t pid = seg->meta().partition_id.value;
    if ((partition == 0 || pid == partition) && live.count(pid)) rows += seg->num_rows();
  }
  return rows;
}

std::vector<CollectionId> StreamingNode::OpenCollections() {
  std::shared_lock lock(map_mu_);
  std::vector<CollectionId> out;
  for (const auto& [id, chans] : channels_) out.emplace_back(id);
  return out;
}

std::vector<SegmentPtr> StreamingNode::GrowingSegments(CollectionId collection) {
  std::vector<SegmentPtr> out;
  for (const auto& ch : ChannelsOf(collection)) {
    std::lock_guard lock(ch->growing_mu);
    for (auto& [pid, seg] : ch->growing) out.push_back(seg);
  }
  return out;
}

Result<Timestamp> StreamingNode::SafeTimestamp(CollectionId collection, Timestamp now) {
  Timestamp safe = now;
  for (const auto& ch : ChannelsOf(collection)) {
    Timestamp w = ch->in_flight_ts.load(std::memory_order_seq_cst);
    if (w == kPendingTs) {
      // Its timestamp may be below `now`: wait for that write to finish.
      std::lock_guard lock(ch->mu);
      continue;
    }
    if (w != 0 && w - 1 < safe) safe = w - 1;
  }
  return safe;
}

Result<int64_t> StreamingNode::FlushedRows(CollectionId collection, int64_t partition,
                                           const std::set<int64_t>& live) {
  int64_t rows = 0;
  KITE_ASSIGN_OR_RETURN(std::vector<SegmentRecord> flushed, registry_->ListSegments(collection));
  for (const auto& rec : flushed) {
    int64_t pid = rec.partition_id.value;
    if ((partition == 0 || pid == partition) && live.count(pid)) rows += rec.num_rows;
  }
  return rows;
}

void StreamingNode::IdleLoop() {
  std::unique_lock lock(idle_mu_);
  while (!stopping_) {
    idle_cv_.wait_for(lock, std::chrono::milliseconds(options_.idle_check_ms));
    if (stopping_) break;
    lock.unlock();
    std::vector<CollectionId> collections;
    {
      std::shared_lock map_lock(map_mu_);
      for (const auto& [cid, shards] : channels_) collections.push_back(CollectionId(cid));
    }
    int64_t now = static_cast<int64_t>(WallClockMs());
    for (CollectionId cid : collections) {
      for (const auto& ch : ChannelsOf(cid)) {
        std::lock_guard ch_lock(ch->mu);
        // Deletes whose forward failed reach the query side without waiting
        // for the next delete or flush (reads would meet the deleted rows).
        if (ch->forward && !ch->dropped && ch->unsent_from < ch->delete_buffer.size() && now >= ch->next_resend_ms) {
          (void)ResendDeletesLocked(*ch);
        }
        if (ch->applied_lsn != ch->checkpoint_lsn && now - ch->last_write_ms >= options_.idle_flush_ms &&
            now >= ch->next_auto_flush_ms) {
          std::vector<SegmentId> flushed;
          Status st = FlushLocked(*ch, &flushed);
          if (!st.ok()) spdlog::warn("channel {}: idle flush failed: {}", ch->name, st.ToString());
        }
      }
    }
    lock.lock();
  }
}

}  // namespace kite
