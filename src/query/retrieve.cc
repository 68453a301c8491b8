#include "query/retrieve.h"

#include <algorithm>
#include <numeric>

namespace kite {

Status RetrieveFromSegment(const Segment& seg, const RetrievePlan& plan, Retrieved* out) {
  if (!plan.partitions.empty() && !plan.partitions.count(seg.meta().partition_id.value)) return Status::OK();
  std::vector<int64_t> rows;
  if (plan.pks) {
    for (const auto& pk : *plan.pks) {
      auto hit = seg.FindVisible(pk, plan.ts, plan.expire_before);
      rows.insert(rows.end(), hit.begin(), hit.end());
    }
    std::sort(rows.begin(), rows.end());
    rows.erase(std::unique(rows.begin(), rows.end()), rows.end());
  } else if (plan.filter) {
    Status st;
    auto scalar = seg.ScalarIndexes();
    seg.WithSnapshot(plan.ts, plan.expire_before, [&](const ColumnBatch& batch, const std::vector<uint8_t>& visible) {
      std::vector<uint8_t> pass;
      st = expr::Evaluate(*plan.filter, batch, scalar ? &scalar->lookup : nullptr, &pass);
      if (!st.ok()) return;
      for (int64_t r = 0; r < batch.num_rows; ++r) {
        if (visible[r] && pass[r]) rows.push_back(r);
      }
    });
    if (!st.ok()) return st;
  } else {
    rows = seg.AllVisible(plan.ts, plan.expire_before);
  }
  if (plan.count_only) {
    out->count += static_cast<int64_t>(rows.size());
    return Status::OK();
  }
  seg.Gather(rows, plan.output_fields, &out->rows, &out->ts);
  return Status::OK();
}

namespace {

bool PkLess(const Column& a, int64_t i, const Column& b, int64_t j) {
  if (a.type == DataType::kInt64) return a.Get<int64_t>(i) < b.Get<int64_t>(j);
  return a.GetBytes(i) < b.GetBytes(j);
}
bool PkEqual(const Column& a, int64_t i, const Column& b, int64_t j) {
  if (a.type == DataType::kInt64) return a.Get<int64_t>(i) == b.Get<int64_t>(j);
  return a.GetBytes(i) == b.GetBytes(j);
}

}  // namespace

Retrieved MergeRetrieved(std::vector<Retrieved> parts, const RetrievePlan& plan) {
  Retrieved out;
  if (plan.count_only) {
    for (const auto& p : parts) out.count += p.count;
    return out;
  }
  // (part, row) references, sorted by pk then newest timestamp first.
  std::vector<std::pair<int, int64_t>> refs;
  const Retrieved* shape = nullptr;
  for (int p = 0; p < static_cast<int>(parts.size()); ++p) {
    if (parts[p].rows.columns.empty()) continue;
    shape = &parts[p];
    for (int64_t r = 0; r < parts[p].rows.num_rows; ++r) refs.emplace_back(p, r);
  }
  if (!shape) return out;
  auto pk = [&](int p) -> const Column& { return parts[p].rows.columns[0]; };
  std::sort(refs.begin(), refs.end(), [&](const auto& x, const auto& y) {
    if (PkLess(pk(x.first), x.second, pk(y.first), y.second)) return true;
    if (PkLess(pk(y.first), y.second, pk(x.first), x.second)) return false;
    return parts[x.first].ts[x.second] > parts[y.first].ts[y.second];
  });
  std::vector<std::pair<int, int64_t>> unique;
  for (const auto& r : refs) {
    if (!unique.empty() && PkEqual(pk(unique.back().first), unique.back().second, pk(r.first), r.second)) continue;
    unique.push_back(r);
  }
  int64_t begin = std::min<int64_t>(plan.offset, static_cast<int64_t>(unique.size()));
  int64_t end = static_cast<int64_t>(unique.size());
  if (plan.limit >= 0) end = std::min(end, begin + plan.limit);
  for (const auto& c : shape->rows.columns) out.rows.columns.push_back(c.EmptyLike());
  for (int64_t i = begin; i < end; ++i) {
    auto [p, r] = unique[i];
    for (size_t c = 0; c < out.rows.columns.size(); ++c) out.rows.columns[c].AppendFrom(parts[p].rows.columns[c], r);
    out.ts.push_back(parts[p].ts[r]);
  }
  out.rows.num_rows = end - begin;
  return out;
}

}  // namespace kite
