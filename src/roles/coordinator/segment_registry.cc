#include "roles/coordinator/segment_registry.h"

#include <nlohmann/json.hpp>

namespace kite {

using nlohmann::json;

namespace {

std::string SegKey(CollectionId c, SegmentId s) {
  return "kite/seg/" + std::to_string(c.value) + "/" + std::to_string(s.value);
}
std::string ChkKey(const std::string& channel) { return "kite/chk/" + channel; }
std::string SegIdxKey(CollectionId c, SegmentId s, IndexId i) {
  return "kite/segidx/" + std::to_string(c.value) + "/" + std::to_string(s.value) + "/" + std::to_string(i.value);
}

std::string EncodeSegIdx(const SegmentIndexRecord& r) {
  return json{{"segment", r.segment.value}, {"index", r.index.value},        {"collection", r.collection.value},
              {"field", r.field.value},     {"key", r.key},                  {"num_rows", r.num_rows},
              {"file_bytes", r.file_bytes}, {"build_ms", r.build_ms}}
      .dump();
}

std::string EncodeSeg(const SegmentRecord& s) {
  return json{{"id", s.id.value},          {"collection_id", s.collection_id.value},
              {"partition_id", s.partition_id.value}, {"channel", s.channel},
              {"num_rows", s.num_rows},    {"checkpoint_lsn", s.checkpoint_lsn},
              {"max_ts", s.max_ts},        {"size_bytes", s.size_bytes}, {"files", s.files}}
      .dump();
}

std::string EncodeChk(const ChannelCheckpoint& c) { return json{{"lsn", c.lsn}, {"delta_keys", c.delta_keys}}.dump(); }

constexpr std::string_view kGarbagePrefix = "kite/garbage/";
constexpr std::string_view kDroppingPrefix = "kite/dropping/";

}  // namespace

std::string GarbageMetaKey(const std::string& object_key_or_prefix) {
  return std::string(kGarbagePrefix) + object_key_or_prefix;
}

std::string DroppingMetaKey(CollectionId collection) {
  return std::string(kDroppingPrefix) + std::to_string(collection.value);
}

std::string EncodeDropping(const DroppingCollection& d) {
  return json{{"collection", d.collection.value}, {"channels", d.channels}, {"dropped_ms", d.dropped_ms}}.dump();
}

void SegmentRegistry::AddGarbage(MetaBatch& b, const std::vector<std::string>& keys, int64_t now_ms) {
  const std::string value = json{{"dropped_ms", now_ms}}.dump();
  for (const auto& k : keys) b.Put(GarbageMetaKey(k), value);
}

void SegmentRegistry::AdoptGarbageLocked(const std::vector<std::string>& keys, int64_t now_ms) {
  for (const auto& k : keys) garbage_[k] = now_ms;
}

Result<std::unique_ptr<SegmentRegistry>> SegmentRegistry::Open(MetaStore* meta) {
  std::unique_ptr<SegmentRegistry> r(new SegmentRegistry(meta));
  Status inner;
  KITE_RETURN_IF_ERROR(meta->Scan("kite/seg/", [&](std::string_view, std::string_view v) {
    try {
      json j = json::parse(v);
      SegmentRecord s;
      s.id = SegmentId(j.at("id").get<int64_t>());
      s.collection_id = CollectionId(j.at("collection_id").get<int64_t>());
      s.partition_id = PartitionId(j.at("partition_id").get<int64_t>());
      s.channel = j.at("channel").get<std::string>();
      s.num_rows = j.at("num_rows").get<int64_t>();
      s.checkpoint_lsn = j.at("checkpoint_lsn").get<uint64_t>();
      s.max_ts = j.at("max_ts").get<uint64_t>();
      s.files = j.at("files").get<std::vector<std::string>>();
      s.size_bytes = j.value("size_bytes", int64_t{0});
      r->segments_[s.id.value] = std::move(s);
    } catch (const json::exception& e) {
      inner = Corruption("cannot decode segment record: {}", e.what());
    }
  }));
  KITE_RETURN_IF_ERROR(meta->Scan("kite/chk/", [&](std::string_view k, std::string_view v) {
    try {
      json j = json::parse(v);
      ChannelCheckpoint c;
      c.lsn = j.at("lsn").get<uint64_t>();
      c.delta_keys = j.at("delta_keys").get<std::vector<std::string>>();
      r->checkpoints_[std::string(k.substr(9))] = std::move(c);
    } catch (const json::exception& e) {
      inner = Corruption("cannot decode checkpoint record: {}", e.what());
    }
  }));
  KITE_RETURN_IF_ERROR(meta->Scan("kite/segidx/", [&](std::string_view, std::string_view v) {
    try {
      json j = json::parse(v);
      SegmentIndexRecord x;
      x.segment = SegmentId(j.at("segment").get<int64_t>());
      x.index = IndexId(j.at("index").get<int64_t>());
      x.collection = CollectionId(j.at("collection").get<int64_t>());
      x.field = FieldId(j.at("field").get<int64_t>());
      x.key = j.at("key").get<std::string>();
      x.num_rows = j.at("num_rows").get<int64_t>();
      x.file_bytes = j.at("file_bytes").get<int64_t>();
      x.build_ms = j.at("build_ms").get<int64_t>();
      r->seg_indexes_[x.segment.value][x.index.value] = std::move(x);
    } catch (const json::exception& e) {
      inner = Corruption("cannot decode segment index record: {}", e.what());
    }
  }));
  KITE_RETURN_IF_ERROR(meta->Scan(kGarbagePrefix, [&](std::string_view k, std::string_view v) {
    try {
      r->garbage_[std::string(k.substr(kGarbagePrefix.size()))] = json::parse(v).at("dropped_ms").get<int64_t>();
    } catch (const json::exception& e) {
      inner = Corruption("cannot decode garbage record {}: {}", k, e.what());
    }
  }));
  KITE_RETURN_IF_ERROR(inner);
  return r;
}

Status SegmentRegistry::CommitFlush(CollectionId collection, const std::string& channel, uint64_t lsn,
                                    const std::vector<SegmentRecord>& segments, const std::string& delta_key,
                                    WalTerm term) {
  std::lock_guard lock(mu_);
  ChannelCheckpoint chk = checkpoints_[channel];
  if (lsn < chk.lsn) return Internal("checkpoint of {} would go back from {} to {}", channel, chk.lsn, lsn);
  chk.lsn = lsn;
  if (!delta_key.empty()) chk.delta_keys.push_back(delta_key);
  MetaBatch b;
  for (const auto& s : segments) b.Put(SegKey(collection, s.id), EncodeSeg(s));
  b.Put(ChkKey(channel), EncodeChk(chk));
  if (term == 0) {
    KITE_RETURN_IF_ERROR(meta_->Commit(b));
  } else {
    // Fenced: the batch applies only if the channel's term key is unchanged
    // since it was read holding `term` (a takeover raises it, wal_term.h).
    const std::string term_key = "kite/walterm/" + channel;
    KITE_ASSIGN_OR_RETURN(MetaRead read, meta_->Read(term_key, /*prefix=*/false));
    const std::string current = read.kvs.empty() ? "0" : read.kvs[0].value;
    if (current != std::to_string(term)) {
      return MakeStatus(StatusCode::kFailedPrecondition, Reason::kChannelNotAvailable,
                        "WAL channel {} is owned under term {} now, not this node's term {}: the flush to LSN {} was "
                        "not committed (the channel moved to another streaming node)",
                        channel, current, term, lsn);
    }
    b.RequireModRevision(term_key, read.kvs[0].mod_revision);
    KITE_ASSIGN_OR_RETURN(MetaTxnResult r, meta_->Txn(b));
    if (!r.succeeded) {
      return MakeStatus(StatusCode::kFailedPrecondition, Reason::kChannelNotAvailable,
                        "WAL channel {} changed owner while this node (term {}) committed its flush to LSN {}: "
                        "not committed",
                        channel, term, lsn);
    }
  }
  for (const auto& s : segments) segments_[s.id.value] = s;
  checkpoints_[channel] = std::move(chk);
  return Status::OK();
}

Result<std::vector<SegmentRecord>> SegmentRegistry::ListSegments(CollectionId collection) const {
  std::lock_guard lock(mu_);
  std::vector<SegmentRecord> out;
  for (const auto& [id, s] : segments_) {
    if (s.collection_id == collection) out.push_back(s);
  }
  return out;
}

Result<std::optional<SegmentRecord>> SegmentRegistry::FindSegment(SegmentId segment) const {
  std::lock_guard lock(mu_);
  auto it = segments_.find(segment.value);
  if (it == segments_.end()) return std::optional<SegmentRecord>();
  return std::optional<SegmentRecord>(it->second);
}

Status SegmentRegistry::CommitSegmentIndex(const SegmentIndexRecord& record) {
  std::lock_guard lock(mu_);
  if (!segments_.count(record.segment.value)) {
    return MakeStatus(StatusCode::kFailedPrecondition, Reason::kNone, "segment {} no longer exists", record.segment.value);
  }
  MetaBatch b;
  b.Put(SegIdxKey(record.collection, record.segment, record.index), EncodeSegIdx(record));
  KITE_RETURN_IF_ERROR(meta_->Commit(b));
  seg_indexes_[record.segment.value][record.index.value] = record;
  return Status::OK();
}

Result<std::vector<SegmentIndexRecord>> SegmentRegistry::ListSegmentIndexes(CollectionId collection) const {
  std::lock_guard lock(mu_);
  std::vector<SegmentIndexRecord> out;
  for (const auto& [seg, by_index] : seg_indexes_) {
    for (const auto& [idx, r] : by_index) {
      if (r.collection == collection) out.push_back(r);
    }
  }
  return out;
}

Status SegmentRegistry::ForgetSegmentIndex(CollectionId collection, SegmentId segment, IndexId index) {
  std::lock_guard lock(mu_);
  auto seg = seg_indexes_.find(segment.value);
  if (seg == seg_indexes_.end() || !seg->second.count(index.value)) return Status::OK();
  // No garbage record: the rebuild writes the same key (IndexFileKey) and
  // must not find it deleted later; if no rebuild comes (the index is
  // dropped meanwhile) the file is an orphan, collected by its age.
  MetaBatch b;
  b.Delete(SegIdxKey(collection, segment, index));
  KITE_RETURN_IF_ERROR(meta_->Commit(b));
  seg->second.erase(index.value);
  if (seg->second.empty()) seg_indexes_.erase(seg);
  return Status::OK();
}

Result<std::vector<std::string>> SegmentRegistry::DropIndex(CollectionId collection, IndexId index) {
  std::lock_guard lock(mu_);
  MetaBatch b;
  std::vector<std::string> keys;
  for (const auto& [seg, by_index] : seg_indexes_) {
    auto it = by_index.find(index.value);
    if (it != by_index.end() && it->second.collection == collection) {
      b.Delete(SegIdxKey(collection, it->second.segment, index));
      keys.push_back(it->second.key);
    }
  }
  if (b.empty()) return keys;
  const int64_t now = static_cast<int64_t>(WallClockMs());
  AddGarbage(b, keys, now);
  KITE_RETURN_IF_ERROR(meta_->Commit(b));
  AdoptGarbageLocked(keys, now);
  for (auto& [seg, by_index] : seg_indexes_) by_index.erase(index.value);
  return keys;
}

Status SegmentRegistry::CommitImport(CollectionId collection, const std::vector<SegmentRecord>& segments) {
  std::lock_guard lock(mu_);
  MetaBatch b;
  for (const auto& s : segments) {
    if (s.collection_id != collection) {
      return InvalidArgument("imported segment {} belongs to collection {}, not {}", s.id.value, s.collection_id.value,
                             collection.value);
    }
    b.Put(SegKey(collection, s.id), EncodeSeg(s));
  }
  if (segments.empty()) return Status::OK();
  KITE_RETURN_IF_ERROR(meta_->Commit(b));
  for (const auto& s : segments) segments_[s.id.value] = s;
  return Status::OK();
}

Result<std::vector<std::string>> SegmentRegistry::CommitCompaction(CollectionId collection,
                                                                   const std::vector<SegmentId>& removed,
                                                                   const SegmentRecord& added) {
  std::lock_guard lock(mu_);
  std::vector<std::string> garbage;
  MetaBatch b;
  for (SegmentId id : removed) {
    auto it = segments_.find(id.value);
    if (it == segments_.end()) {
      return MakeStatus(StatusCode::kFailedPrecondition, Reason::kNone, "segment {} was removed during compaction", id.value);
    }
    garbage.insert(garbage.end(), it->second.files.begin(), it->second.files.end());
    b.Delete(SegKey(collection, id));
    auto ix = seg_indexes_.find(id.value);
    if (ix != seg_indexes_.end()) {
      for (const auto& [idx, r] : ix->second) {
        b.Delete(SegIdxKey(collection, id, IndexId(idx)));
        garbage.push_back(r.key);
      }
    }
  }
  if (added.num_rows > 0) b.Put(SegKey(collection, added.id), EncodeSeg(added));
  const int64_t now = static_cast<int64_t>(WallClockMs());
  AddGarbage(b, garbage, now);
  KITE_RETURN_IF_ERROR(meta_->Commit(b));
  AdoptGarbageLocked(garbage, now);
  for (SegmentId id : removed) {
    segments_.erase(id.value);
    seg_indexes_.erase(id.value);
  }
  if (added.num_rows > 0) segments_[added.id.value] = added;
  return garbage;
}

Result<std::vector<std::string>> SegmentRegistry::RetainPartitions(CollectionId collection,
                                                                   const std::set<int64_t>& live) {
  std::lock_guard lock(mu_);
  std::vector<std::string> garbage;
  std::vector<int64_t> removed;
  MetaBatch b;
  for (const auto& [id, s] : segments_) {
    if (s.collection_id != collection || live.count(s.partition_id.value)) continue;
    removed.push_back(id);
    garbage.insert(garbage.end(), s.files.begin(), s.files.end());
    b.Delete(SegKey(collection, s.id));
    auto ix = seg_indexes_.find(id);
    if (ix == seg_indexes_.end()) continue;
    for (const auto& [idx, r] : ix->second) {
      b.Delete(SegIdxKey(collection, s.id, IndexId(idx)));
      garbage.push_back(r.key);
    }
  }
  if (removed.empty()) return garbage;
  const int64_t now = static_cast<int64_t>(WallClockMs());
  AddGarbage(b, garbage, now);
  KITE_RETURN_IF_ERROR(meta_->Commit(b));
  AdoptGarbageLocked(garbage, now);
  for (int64_t id : removed) {
    segments_.erase(id);
    seg_indexes_.erase(id);
  }
  return garbage;
}

Result<ChannelCheckpoint> SegmentRegistry::GetCheckpoint(const std::string& channel) const {
  std::lock_guard lock(mu_);
  auto it = checkpoints_.find(channel);
  return it == checkpoints_.end() ? ChannelCheckpoint{} : it->second;
}

Status SegmentRegistry::DropCollection(CollectionId collection, const std::vector<std::string>& channels) {
  std::lock_guard lock(mu_);
  MetaBatch b;
  for (const auto& [id, s] : segments_) {
    if (s.collection_id == collection) b.Delete(SegKey(collection, s.id));
  }
  for (const auto& ch : channels) b.Delete(ChkKey(ch));
  for (const auto& [seg, by_index] : seg_indexes_) {
    for (const auto& [idx, r] : by_index) {
      if (r.collection == collection) b.Delete(SegIdxKey(collection, r.segment, r.index));
    }
  }
  // Every object of the collection (segments, deltas, indexes) is under one
  // prefix; recorded once instead of per file.
  const std::vector<std::string> garbage = {"collections/" + std::to_string(collection.value) + "/"};
  const int64_t now = static_cast<int64_t>(WallClockMs());
  AddGarbage(b, garbage, now);
  b.Delete(DroppingMetaKey(collection));
  KITE_RETURN_IF_ERROR(meta_->Commit(b));
  AdoptGarbageLocked(garbage, now);
  std::erase_if(segments_, [&](const auto& kv) { return kv.second.collection_id == collection; });
  for (auto& [seg, by_index] : seg_indexes_) {
    std::erase_if(by_index, [&](const auto& kv) { return kv.second.collection == collection; });
  }
  std::erase_if(seg_indexes_, [](const auto& kv) { return kv.second.empty(); });
  for (const auto& ch : channels) checkpoints_.erase(ch);
  return Status::OK();
}

Result<std::vector<DroppingCollection>> SegmentRegistry::ListDropping() const {
  std::vector<DroppingCollection> out;
  Status inner;
  KITE_RETURN_IF_ERROR(meta_->Scan(kDroppingPrefix, [&](std::string_view k, std::string_view v) {
    try {
      json j = json::parse(v);
      DroppingCollection d;
      d.collection = CollectionId(j.at("collection").get<int64_t>());
      d.channels = j.at("channels").get<std::vector<std::string>>();
      d.dropped_ms = j.at("dropped_ms").get<int64_t>();
      out.push_back(std::move(d));
    } catch (const json::exception& e) {
      inner = Corruption("cannot decode dropping-collection record {}: {}", k, e.what());
    }
  }));
  KITE_RETURN_IF_ERROR(inner);
  return out;
}

std::vector<GarbageRecord> SegmentRegistry::ListGarbage() const {
  std::lock_guard lock(mu_);
  std::vector<GarbageRecord> out;
  out.reserve(garbage_.size());
  for (const auto& [k, ms] : garbage_) out.push_back(GarbageRecord{k, ms});
  return out;
}

Status SegmentRegistry::ForgetGarbage(const std::vector<std::string>& keys) {
  std::lock_guard lock(mu_);
  MetaBatch b;
  for (const auto& k : keys) {
    if (garbage_.count(k)) b.Delete(GarbageMetaKey(k));
  }
  if (b.empty()) return Status::OK();
  KITE_RETURN_IF_ERROR(meta_->Commit(b));
  for (const auto& k : keys) garbage_.erase(k);
  return Status::OK();
}

std::set<std::string> SegmentRegistry::ReferencedKeys() const {
  std::lock_guard lock(mu_);
  std::set<std::string> out;
  for (const auto& [id, s] : segments_) out.insert(s.files.begin(), s.files.end());
  for (const auto& [seg, by_index] : seg_indexes_) {
    for (const auto& [idx, r] : by_index) out.insert(r.key);
  }
  for (const auto& [ch, c] : checkpoints_) out.insert(c.delta_keys.begin(), c.delta_keys.end());
  return out;
}

}  // namespace kite
