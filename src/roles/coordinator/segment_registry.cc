#include "roles/coordinator/segment_registry.h"

#include <nlohmann/json.hpp>

namespace kite {

using nlohmann::json;

namespace {

std::string SegKey(CollectionId c, SegmentId s) {
  return "kite/seg/" + std::to_string(c.value) + "/" + std::to_string(s.value);
}
std::string ChkKey(const std::string& channel) { return "kite/chk/" + channel; }

std::string EncodeSeg(const SegmentRecord& s) {
  return json{{"id", s.id.value},          {"collection_id", s.collection_id.value},
              {"partition_id", s.partition_id.value}, {"channel", s.channel},
              {"num_rows", s.num_rows},    {"checkpoint_lsn", s.checkpoint_lsn},
              {"max_ts", s.max_ts},        {"files", s.files}}
      .dump();
}

std::string EncodeChk(const ChannelCheckpoint& c) { return json{{"lsn", c.lsn}, {"delta_keys", c.delta_keys}}.dump(); }

}  // namespace

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
  KITE_RETURN_IF_ERROR(inner);
  return r;
}

Status SegmentRegistry::CommitFlush(CollectionId collection, const std::string& channel, uint64_t lsn,
                                    const std::vector<SegmentRecord>& segments, const std::string& delta_key) {
  std::lock_guard lock(mu_);
  ChannelCheckpoint chk = checkpoints_[channel];
  if (lsn < chk.lsn) return Internal("checkpoint of {} would go back from {} to {}", channel, chk.lsn, lsn);
  chk.lsn = lsn;
  if (!delta_key.empty()) chk.delta_keys.push_back(delta_key);
  MetaBatch b;
  for (const auto& s : segments) b.Put(SegKey(collection, s.id), EncodeSeg(s));
  b.Put(ChkKey(channel), EncodeChk(chk));
  KITE_RETURN_IF_ERROR(meta_->Commit(b));
  for (const auto& s : segments) segments_[s.id.value] = s;
  checkpoints_[channel] = std::move(chk);
  return Status::OK();
}

std::vector<SegmentRecord> SegmentRegistry::ListSegments(CollectionId collection) const {
  std::lock_guard lock(mu_);
  std::vector<SegmentRecord> out;
  for (const auto& [id, s] : segments_) {
    if (s.collection_id == collection) out.push_back(s);
  }
  return out;
}

ChannelCheckpoint SegmentRegistry::GetCheckpoint(const std::string& channel) const {
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
  KITE_RETURN_IF_ERROR(meta_->Commit(b));
  std::erase_if(segments_, [&](const auto& kv) { return kv.second.collection_id == collection; });
  for (const auto& ch : channels) checkpoints_.erase(ch);
  return Status::OK();
}

}  // namespace kite
