#include "query/reduce.h"

#include <queue>
#include <set>

namespace kite {

bool HitBetter(const Hit& a, const Hit& b, bool higher_is_better) {
  if (a.distance != b.distance) return higher_is_better ? a.distance > b.distance : a.distance < b.distance;
  return a.pk < b.pk;
}

HitList MergeHits(std::vector<HitList> lists, const MergeOptions& opt) {
  HitList out;
  if (opt.k <= 0) return out;
  // k-way merge with a heap of list heads.
  struct Head {
    size_t list;
    size_t pos;
  };
  auto worse = [&](const Head& x, const Head& y) {
    return HitBetter(lists[y.list][y.pos], lists[x.list][x.pos], opt.higher_is_better);
  };
  std::priority_queue<Head, std::vector<Head>, decltype(worse)> heap(worse);
  for (size_t i = 0; i < lists.size(); ++i) {
    if (!lists[i].empty()) heap.push({i, 0});
  }
  std::set<PrimaryKey> seen;
  while (!heap.empty() && static_cast<int64_t>(out.size()) < opt.k) {
    Head h = heap.top();
    heap.pop();
    Hit& hit = lists[h.list][h.pos];
    if (seen.insert(hit.pk).second) out.push_back(std::move(hit));
    if (h.pos + 1 < lists[h.list].size()) heap.push({h.list, h.pos + 1});
  }
  return out;
}

}  // namespace kite
