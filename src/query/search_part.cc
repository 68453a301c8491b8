#include "query/search_part.h"

#include <algorithm>
#include <map>

namespace kite {

std::string GroupKey(const Column& c, int64_t row) {
  if (c.IsNull(row)) return std::string("\0null", 5);
  if (c.is_fixed()) return std::string(reinterpret_cast<const char*>(c.RowPtr(row)), c.row_bytes);
  return std::string(c.GetBytes(row));
}

Status SearchCancelledStatus() {
  return Status(StatusCode::kCancelled, Reason::kNone,
                "search canceled: the client cancelled, its deadline passed or the server is stopping");
}

namespace {

Status OutputTooLarge(int64_t max_output_bytes) {
  return MakeStatus(StatusCode::kInternal, Reason::kNone, "search results exceed the maxOutputSize Limit {}",
                    max_output_bytes);
}

// Indexes of the hits kept, in order: those of the first `groups` groups,
// `group_size` each. `key_at(i)` is hit i's group key.
template <typename KeyAt>
std::vector<size_t> GroupsKept(size_t n, int64_t groups, int64_t group_size, const KeyAt& key_at) {
  std::map<std::string, int64_t> taken;
  std::vector<size_t> kept;
  for (size_t i = 0; i < n; ++i) {
    std::string key = key_at(i);
    auto it = taken.find(key);
    if (it == taken.end()) {
      if (static_cast<int64_t>(taken.size()) >= groups) continue;
      it = taken.emplace(std::move(key), 0).first;
    }
    if (it->second < group_size) {
      ++it->second;
      kept.push_back(i);
    }
  }
  return kept;
}

HitList Select(HitList hits, const std::vector<size_t>& kept) {
  HitList out;
  out.reserve(kept.size());
  for (size_t i : kept) out.push_back(std::move(hits[i]));
  return out;
}

// Boost rankers on one segment's candidates for one query (ApplyBoosts:
// Milvus's function_mode / boost_mode); the list is re-sorted.
Status BoostSegmentHits(const PartSpec& spec, const Segment& seg, HitList* hits) {
  if (hits->empty()) return Status::OK();
  std::vector<int64_t> rows;
  rows.reserve(hits->size());
  for (const Hit& h : *hits) rows.push_back(h.source.row);
  std::vector<std::vector<uint8_t>> matched(spec.boosts.size());
  std::vector<std::vector<double>> random(spec.boosts.size());
  for (size_t b = 0; b < spec.boosts.size(); ++b) {
    const BoostRanker& boost = spec.boosts[b];
    matched[b].assign(hits->size(), 1);
    if (const expr::Plan* f = spec.boost_filters[b].get()) {
      ColumnBatch batch;
      seg.Gather(rows, expr::ReferencedFields(*f), &batch, nullptr);
      batch.num_rows = static_cast<int64_t>(rows.size());
      KITE_RETURN_IF_ERROR(FilterMask(batch, {}, f, nullptr, &matched[b]));
    }
    if (!boost.random) continue;
    const Column* keys = nullptr;
    ColumnBatch key_batch;
    if (boost.random_field.value != 0) {
      seg.Gather(rows, {boost.random_field}, &key_batch, nullptr);
      keys = key_batch.Find(boost.random_field);
    }
    random[b].resize(hits->size());
    for (size_t i = 0; i < hits->size(); ++i) {
      // Milvus's RandomScorer: the field's value, else offset + segment id.
      const auto r = static_cast<int64_t>(i);
      uint64_t key = keys ? static_cast<uint64_t>(keys->IsNull(r) ? 0 : keys->Get<int64_t>(r))
                          : static_cast<uint64_t>(rows[i] + seg.id().value);
      random[b][i] = RandomBoostScore(key, static_cast<uint64_t>(boost.seed));
    }
  }
  // The boosts act on Milvus's internal score, where larger is better: a
  // distance metric's (L2, HAMMING, ...) score is the negated distance, so a
  // sum boost moves an L2 hit closer (0.8 + 0.7 -> 0.1) and the proxy shows
  // the distance again.
  const float sign = spec.higher_is_better ? 1.0f : -1.0f;
  std::vector<float> scores;
  scores.reserve(hits->size());
  for (const Hit& h : *hits) scores.push_back(sign * h.distance);
  ApplyBoosts(spec.boosts, matched, random, &scores);
  for (size_t i = 0; i < hits->size(); ++i) (*hits)[i].distance = sign * scores[i];
  std::stable_sort(hits->begin(), hits->end(),
                   [&](const Hit& a, const Hit& b) { return HitBetter(a, b, spec.higher_is_better); });
  return Status::OK();
}

// Gathers `fields` of every hit (source = segment index, row) in hit order,
// each segment's rows in one batch, then points each hit at its new row.
Status GatherHits(const std::vector<SegmentPtr>& segs, const std::vector<FieldId>& fields, int64_t max_output_bytes,
                  std::vector<HitList>* hits, ColumnBatch* out) {
  std::vector<std::vector<int64_t>> rows_of(segs.size());
  size_t total = 0;
  for (const HitList& list : *hits) {
    for (const Hit& h : list) rows_of[static_cast<size_t>(h.source.segment)].push_back(h.source.row);
    total += list.size();
  }
  std::vector<ColumnBatch> batches(segs.size());
  int64_t bytes = 0;
  for (size_t s = 0; s < segs.size(); ++s) {
    if (rows_of[s].empty()) continue;
    segs[s]->Gather(rows_of[s], fields, &batches[s], nullptr);
    for (const Column& c : batches[s].columns) bytes += static_cast<int64_t>(c.MemoryBytes());
    if (bytes > max_output_bytes) return OutputTooLarge(max_output_bytes);
  }
  out->columns.clear();
  out->num_rows = 0;
  if (total == 0) return Status::OK();
  size_t first = 0;
  while (batches[first].columns.empty()) ++first;
  for (const Column& c : batches[first].columns) {
    Column col = c.EmptyLike();
    col.Reserve(static_cast<int64_t>(total));
    out->columns.push_back(std::move(col));
  }
  if (segs.size() == 1) {
    // One segment: its batch is already in hit order.
    *out = std::move(batches[0]);
    int64_t r = 0;
    for (HitList& list : *hits) {
      for (Hit& h : list) h.source = HitSource{0, r++};
    }
    return Status::OK();
  }
  std::vector<int64_t> next(segs.size(), 0);
  int64_t r = 0;
  for (HitList& list : *hits) {
    for (Hit& h : list) {
      size_t s = static_cast<size_t>(h.source.segment);
      int64_t from = next[s]++;
      for (size_t c = 0; c < out->columns.size(); ++c) out->columns[c].AppendFrom(batches[s].columns[c], from);
      h.source = HitSource{0, r++};
    }
  }
  out->num_rows = r;
  return Status::OK();
}

}  // namespace

Result<SearchPart> SearchSegments(const std::vector<SegmentPtr>& segs, SearchPlan plan, const PartSpec& spec) {
  SearchPart part;
  part.nq = plan.queries.nq;
  const bool grouped = spec.group_field.value != 0;
  std::vector<std::vector<HitList>> per_query(static_cast<size_t>(part.nq));
  for (int32_t i = 0; i < static_cast<int32_t>(segs.size()); ++i) {
    if (spec.cancelled && spec.cancelled()) return SearchCancelledStatus();
    // Group-by ranks every row of a segment: its groups are only known after.
    plan.k = grouped ? std::max<int64_t>(segs[i]->num_rows(), 1) : spec.k;
    std::vector<HitList> hits;
    KITE_RETURN_IF_ERROR(SearchSegment(*segs[i], i, plan, &hits));
    if (!spec.boosts.empty()) {
      for (HitList& list : hits) KITE_RETURN_IF_ERROR(BoostSegmentHits(spec, *segs[i], &list));
    }
    for (int64_t q = 0; q < part.nq; ++q) per_query[q].push_back(std::move(hits[q]));
  }
  MergeOptions mo;
  mo.higher_is_better = spec.higher_is_better;
  mo.k = grouped ? INT64_MAX : spec.k;
  part.hits.resize(static_cast<size_t>(part.nq));
  for (int64_t q = 0; q < part.nq; ++q) part.hits[q] = MergeHits(std::move(per_query[q]), mo);
  if (grouped) {
    // The group values of every candidate, then the first k groups.
    ColumnBatch keys;
    std::vector<HitList> all = part.hits;
    KITE_RETURN_IF_ERROR(GatherHits(segs, {spec.group_field}, INT64_MAX, &all, &keys));
    const Column* gc = keys.Find(spec.group_field);
    for (int64_t q = 0; q < part.nq; ++q) {
      // all[q][i] is part.hits[q][i] pointed at its row in `keys`.
      const HitList& at = all[q];
      std::vector<size_t> kept = GroupsKept(at.size(), spec.groups, spec.group_size,
                                            [&](size_t i) { return GroupKey(*gc, at[i].source.row); });
      part.hits[q] = Select(std::move(part.hits[q]), kept);
    }
  }
  KITE_RETURN_IF_ERROR(GatherHits(segs, spec.carry, spec.max_output_bytes, &part.hits, &part.rows));
  return part;
}

Result<SearchPart> ReduceParts(std::vector<SearchPart> parts, const PartSpec& spec) {
  // Answers with no hit add nothing; one answer left is the result.
  std::vector<SearchPart> live;
  int64_t nq = 0;
  for (SearchPart& p : parts) {
    nq = std::max(nq, p.nq);
    bool any = false;
    for (const HitList& l : p.hits) any = any || !l.empty();
    if (any) live.push_back(std::move(p));
  }
  if (live.size() == 1) return std::move(live[0]);
  SearchPart out;
  out.nq = nq;
  out.hits.resize(static_cast<size_t>(nq));
  if (live.empty()) return out;
  const bool grouped = spec.group_field.value != 0;
  MergeOptions mo;
  mo.higher_is_better = spec.higher_is_better;
  mo.k = grouped ? INT64_MAX : spec.k;
  for (int64_t q = 0; q < nq; ++q) {
    std::vector<HitList> lists;
    for (size_t i = 0; i < live.size(); ++i) {
      HitList l = q < live[i].nq ? std::move(live[i].hits[q]) : HitList{};
      for (Hit& h : l) h.source.segment = static_cast<int32_t>(i);
      lists.push_back(std::move(l));
    }
    out.hits[q] = MergeHits(std::move(lists), mo);
    if (grouped) {
      const HitList& m = out.hits[q];
      std::vector<size_t> kept = GroupsKept(m.size(), spec.groups, spec.group_size, [&](size_t i) {
        return GroupKey(*live[static_cast<size_t>(m[i].source.segment)].rows.Find(spec.group_field), m[i].source.row);
      });
      out.hits[q] = Select(std::move(out.hits[q]), kept);
    }
  }
  size_t total = 0;
  for (const HitList& l : out.hits) total += l.size();
  for (const Column& c : live[0].rows.columns) {
    Column col = c.EmptyLike();
    col.Reserve(static_cast<int64_t>(total));
    out.rows.columns.push_back(std::move(col));
  }
  int64_t r = 0;
  for (HitList& l : out.hits) {
    for (Hit& h : l) {
      const ColumnBatch& from = live[static_cast<size_t>(h.source.segment)].rows;
      for (size_t c = 0; c < out.rows.columns.size(); ++c) out.rows.columns[c].AppendFrom(from.columns[c], h.source.row);
      h.source = HitSource{0, r++};
    }
  }
  out.rows.num_rows = r;
  int64_t bytes = 0;
  for (const Column& c : out.rows.columns) bytes += static_cast<int64_t>(c.MemoryBytes());
  if (bytes > spec.max_output_bytes) return OutputTooLarge(spec.max_output_bytes);
  return out;
}

}  // namespace kite
