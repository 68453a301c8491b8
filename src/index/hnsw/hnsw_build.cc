#include "index/hnsw/hnsw_build.h"

#include <immintrin.h>

#include <atomic>
#include <cmath>
#include <memory>
#include <mutex>
#include <new>
#include <random>
#include <string_view>
#include <thread>
#include <unordered_map>

namespace kite::index::hnsw {
namespace {

constexpr uint64_t kLevelSeed = 0x4b495445484e5357ull;  // "KITEHNSW"
constexpr int64_t kMaxThreads = 256;

// One byte per node. Critical sections are short (a list append, or a shrink
// of 2M + 1 candidates), so waiters spin briefly, then yield: the build may
// share its cores with other work.
class SpinLocks {
 public:
  explicit SpinLocks(int64_t n) : f_(std::make_unique<std::atomic<uint8_t>[]>(static_cast<size_t>(n))) {}
  void Lock(uint32_t i) {
    for (int spins = 0;;) {
      if (!f_[i].exchange(1, std::memory_order_acquire)) return;
      while (f_[i].load(std::memory_order_relaxed)) {
        if (++spins < 100) {
          _mm_pause();
        } else {
          std::this_thread::yield();
        }
      }
    }
  }
  void Unlock(uint32_t i) { f_[i].store(0, std::memory_order_release); }

 private:
  std::unique_ptr<std::atomic<uint8_t>[]> f_;
};

struct BuildContext {
  BuildContext(const Graph& g, int64_t dim)
      : search(g.rows, dim, g.max_degree0),
        ids(static_cast<size_t>(g.max_degree0) + 1),
        d(static_cast<size_t>(g.max_degree0) + 1),
        ebuf(static_cast<size_t>(dim)),
        cbuf(static_cast<size_t>(dim)) {}
  SearchContext search;
  std::vector<Cand> w, w2;          // candidates, closest first
  std::vector<Cand> sel, sel2;      // chosen neighbours
  std::vector<uint32_t> sel_ids;    // ids of the one being chosen
  std::vector<uint32_t> ids;
  std::vector<float> d;
  std::vector<float> ebuf, cbuf;    // float32 copies (non-float32 columns)
};

void SortByKey(std::vector<Cand>* v) {
  std::sort(v->begin(), v->end(), [](const Cand& a, const Cand& b) { return a.key < b.key || (a.key == b.key && a.id < b.id); });
}

class Builder {
 public:
  Builder(Graph* g, const Space& s, int ef_construction)
      : g_(g),
        s_(s),
        efc_(static_cast<size_t>(ef_construction)),
        locks_(g->rows),
        inserted_(std::make_unique<std::atomic<uint8_t>[]>(static_cast<size_t>(g->rows))) {}

  void InsertAll(int threads, const std::vector<int32_t>& dup_of) {
    std::vector<uint32_t> order;
    order.reserve(static_cast<size_t>(g_->nodes));
    for (int64_t r = 0; r < g_->rows; ++r) {
      if (g_->level[r] >= 0 && (dup_of.empty() || dup_of[r] < 0)) order.push_back(static_cast<uint32_t>(r));
    }
    if (order.empty()) return;
    std::atomic<size_t> next{0};
    std::atomic<bool> failed{false};
    auto work = [&] {
      try {
        BuildContext ctx(*g_, s_.dim());
        for (size_t i; (i = next.fetch_add(1, std::memory_order_relaxed)) < order.size();) Insert(order[i], &ctx);
      } catch (const std::bad_alloc&) {  // scratch growth; the other threads stop at their next row
        failed = true;
        next = order.size();
      }
    };
    threads = static_cast<int>(
        std::clamp<int64_t>(threads, 1, std::min<int64_t>(kMaxThreads, static_cast<int64_t>(order.size() / 64) + 1)));
    std::vector<std::thread> pool;
    for (int t = 1; t < threads; ++t) pool.emplace_back(work);
    work();
    for (auto& t : pool) t.join();
    if (failed) throw std::bad_alloc();
  }

  // After InsertAll (single-threaded: nothing else writes lists now).
  void LinkDuplicates(const std::vector<int32_t>& dup_of) {
    if (dup_of.empty()) return;
    // Per group, in row order: the previous member of each first row's group.
    std::unordered_map<uint32_t, uint32_t> last;  // first row -> last member linked so far
    const uint32_t max_degree = static_cast<uint32_t>(g_->max_degree0);
    for (int64_t r = 0; r < g_->rows; ++r) {
      if (dup_of[r] < 0) continue;
      const auto first = static_cast<uint32_t>(dup_of[r]);
      const auto node = static_cast<uint32_t>(r);
      auto [it, fresh] = last.try_emplace(first, first);
      const uint32_t prev = it->second;
      it->second = node;
      // node: the cycle's next hop (back to the first row), then the first
      // row's own neighbours (its list holds no copy but the cycle link).
      const uint32_t* fl = g_->Links(first, 0);
      uint32_t* nl = g_->Links(node, 0);
      uint32_t n = 0;
      StoreId(nl + 1 + n++, first);
      const uint32_t fcnt = LoadCount(fl);
      for (uint32_t i = 0; i < fcnt && n < max_degree; ++i) {
        const uint32_t id = LoadId(fl + 1 + i);
        if (id != first && (static_cast<size_t>(id) >= dup_of.size() || dup_of[id] < 0)) StoreId(nl + 1 + n++, id);
      }
      StoreCount(nl, n);
      // prev -> node: the first row appends (or replaces its last, farthest
      // kept entry); a copy's first slot is its next hop, now node.
      uint32_t* pl = g_->Links(prev, 0);
      if (prev == first) {
        const uint32_t pcnt = LoadCount(pl);
        if (pcnt < max_degree) {
          StoreId(pl + 1 + pcnt, node);
          StoreCount(pl, pcnt + 1);
        } else {
          StoreId(pl + pcnt, node);
        }
      } else {
        StoreId(pl + 1, node);
      }
    }
  }

 private:
  // INSERT (Algorithm 1): greedy descent to the node's top level, then at
  // each level a SEARCH-LAYER with efConstruction, M neighbours chosen by the
  // heuristic, and links both ways.
  void Insert(uint32_t node, BuildContext* ctx) {
    const int level = g_->level[node];
    const Query q = s_.PrepareRow(node, ctx->search.qbuf.data());
    std::unique_lock<std::mutex> lk(entry_mu_);
    const int32_t ep = g_->entry;
    const int top = g_->max_level;
    if (ep < 0) {
      g_->entry = static_cast<int32_t>(node);
      g_->max_level = level;
      inserted_[node].store(1, std::memory_order_release);
      return;
    }
    if (level <= top) lk.unlock();  // else held until the node is the entry
    Cand cur{s_.ScoreOne(q, static_cast<uint32_t>(ep)), static_cast<uint32_t>(ep)};
    if (top > level) cur = GreedyThroughInserted(q, cur, top, level + 1, &ctx->search);
    for (int l = std::min(level, top); l >= 0; --l) {
      SearchLayer<false>(*g_, s_, q, cur, l, efc_, nullptr, &ctx->search);
      ctx->w.assign(ctx->search.res.items().begin(), ctx->search.res.items().end());
      if (ctx->w.empty()) continue;  // NaN distances only
      SortByKey(&ctx->w);
      for (const Cand& c : ctx->w) {  // the next level's entry: the closest inserted one (cur is)
        if (Inserted(c.id)) {
          cur = c;
          break;
        }
      }
      Select(ctx->w, g_->m, ctx, &ctx->sel);
      SetOwnList(node, q, l, ctx);
      for (const Cand& c : ctx->sel) Connect(c.id, node, c.key, l, ctx);
    }
    inserted_[node].store(1, std::memory_order_release);
    if (level > top) {
      g_->entry = static_cast<int32_t>(node);
      g_->max_level = level;
    }
  }

  // Whether `node`'s insertion has finished: its lists at every level are
  // set. A node becomes reachable at its upper levels while it still searches
  // the lower ones, where its lists are empty; another insertion that entered
  // a lower level there saw one node, linked only to it, and its
  // neighbourhood (rows inserted at the same time are often close: a text
  // corpus in file order) became an island behind one link (2-thread builds
  // of the bench's 5k x 384 text set: recall@10 at ef = 256 below 1.0 in 7
  // builds of 18, down to 0.998, with one thread 1.0).
  bool Inserted(uint32_t node) const { return inserted_[node].load(std::memory_order_acquire) != 0; }

  // Greedy (hnsw_graph.h) for an insertion: moves only to inserted nodes, so
  // the level it ends on starts from a node whose lists are complete.
  Cand GreedyThroughInserted(const Query& q, Cand cur, int top, int bottom, SearchContext* sc) {
    uint32_t* ids = sc->ids.data();
    float* d = sc->dists.data();
    for (int l = top; l >= bottom; --l) {
      for (bool moved = true; moved;) {
        moved = false;
        const uint32_t* links = g_->Links(cur.id, l);
        const uint32_t cnt = LoadCount(links);
        for (uint32_t i = 0; i < cnt; ++i) ids[i] = LoadId(links + 1 + i);
        s_.Score(q, ids, cnt, d);
        for (uint32_t i = 0; i < cnt; ++i) {
          if (d[i] < cur.key && Inserted(ids[i])) {
            cur = {d[i], ids[i]};
            moved = true;
          }
        }
      }
    }
    return cur;
  }

  // SELECT-NEIGHBORS-HEURISTIC (Algorithm 4, no extension, pruned ones
  // dropped): walking `w` closest first, keep a candidate only if it is
  // closer to the base than to every one kept so far; stop at `limit`.
  void Select(const std::vector<Cand>& w, int limit, BuildContext* ctx, std::vector<Cand>* out) {
    constexpr size_t kChunk = 4;
    out->clear();
    auto& kept = ctx->sel_ids;
    kept.clear();
    float* d = ctx->d.data();
    for (const Cand& c : w) {
      const Query cq = s_.PrepareRow(c.id, ctx->cbuf.data());
      bool keep = true;
      for (size_t j0 = 0; keep && j0 < kept.size(); j0 += kChunk) {
        const size_t n = std::min(kChunk, kept.size() - j0);
        s_.Score(cq, kept.data() + j0, static_cast<int64_t>(n), d);
        for (size_t j = 0; j < n; ++j) keep &= !(d[j] < c.key);
      }
      if (!keep) continue;
      out->push_back(c);
      kept.push_back(c.id);
      if (static_cast<int>(out->size()) >= limit) break;
    }
  }

  // Writes ctx->sel as `node`'s list at level l. Another thread may already
  // have linked to `node` at this level (it reached `node` from the level
  // above and chose it as a neighbour): those links are kept, shrunk with the
  // heuristic like any full list, never overwritten — an overwritten link
  // was often its owner's only way in, and left it unreachable (2-thread
  // builds of a 5k x 384 text set: recall 0.99 at ef = rows, 1.0 with one
  // thread).
  void SetOwnList(uint32_t node, const Query& q, int l, BuildContext* ctx) {
    uint32_t* links = g_->Links(node, l);
    locks_.Lock(node);
    const uint32_t have = LoadCount(links);
    if (have == 0) {
      for (size_t j = 0; j < ctx->sel.size(); ++j) StoreId(links + 1 + j, ctx->sel[j].id);
      StoreCount(links, static_cast<uint32_t>(ctx->sel.size()));
      locks_.Unlock(node);
      return;
    }
    auto& w = ctx->w2;
    w = ctx->sel;
    uint32_t extra = 0;
    for (uint32_t i = 0; i < have; ++i) {
      const uint32_t id = LoadId(links + 1 + i);
      bool dup = false;
      for (const Cand& c : ctx->sel) dup |= c.id == id;
      if (!dup) ctx->ids[extra++] = id;
    }
    s_.Score(q, ctx->ids.data(), extra, ctx->d.data());
    for (uint32_t i = 0; i < extra; ++i) w.push_back({ctx->d[i], ctx->ids[i]});
    const auto max_degree = static_cast<size_t>(g_->MaxDegree(l));
    if (w.size() > max_degree) {
      SortByKey(&w);
      Select(w, static_cast<int>(max_degree), ctx, &ctx->sel2);
      w = ctx->sel2;
    }
    for (size_t j = 0; j < w.size(); ++j) StoreId(links + 1 + j, w[j].id);
    StoreCount(links, static_cast<uint32_t>(w.size()));
    locks_.Unlock(node);
  }

  // Adds `node` (at key `d` from e) to e's list at level l, shrinking the
  // list with the heuristic when it is full.
  void Connect(uint32_t e, uint32_t node, float d, int l, BuildContext* ctx) {
    uint32_t* links = g_->Links(e, l);
    const uint32_t max_degree = static_cast<uint32_t>(g_->MaxDegree(l));
    locks_.Lock(e);
    const uint32_t cnt = LoadId(links);
    if (cnt < max_degree) {
      StoreId(links + 1 + cnt, node);
      StoreCount(links, cnt + 1);
      locks_.Unlock(e);
      return;
    }
    const Query eq = s_.PrepareRow(e, ctx->ebuf.data());
    for (uint32_t i = 0; i < cnt; ++i) ctx->ids[i] = LoadId(links + 1 + i);
    s_.Score(eq, ctx->ids.data(), cnt, ctx->d.data());
    auto& w = ctx->w2;
    w.clear();
    for (uint32_t i = 0; i < cnt; ++i) w.push_back({ctx->d[i], ctx->ids[i]});
    w.push_back({d, node});
    SortByKey(&w);
    Select(w, static_cast<int>(max_degree), ctx, &ctx->sel2);
    for (size_t j = 0; j < ctx->sel2.size(); ++j) StoreId(links + 1 + j, ctx->sel2[j].id);
    StoreCount(links, static_cast<uint32_t>(ctx->sel2.size()));
    locks_.Unlock(e);
  }

  Graph* g_;
  const Space& s_;
  size_t efc_;
  SpinLocks locks_;
  std::unique_ptr<std::atomic<uint8_t>[]> inserted_;  // per row: Inserted()
  std::mutex entry_mu_;  // guards g_->entry and g_->max_level
};

}  // namespace

void AssignLevels(int64_t rows, int m, const std::vector<uint8_t>& valid, std::vector<int8_t>* level) {
  std::mt19937_64 gen(kLevelSeed);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  const double mult = 1.0 / std::log(static_cast<double>(m));
  level->assign(static_cast<size_t>(rows), -1);
  for (int64_t r = 0; r < rows; ++r) {
    const double l = std::floor(-std::log(1.0 - unit(gen)) * mult);
    if (!valid.empty() && valid[r] == 0) continue;
    (*level)[r] = static_cast<int8_t>(std::min<double>(l, kMaxLevel));
  }
}

std::vector<int32_t> FindDuplicates(const uint8_t* data, int64_t rows, size_t row_bytes, std::vector<int8_t>* level) {
  std::vector<int32_t> dup_of(static_cast<size_t>(rows), -1);
  std::unordered_map<std::string_view, int32_t> first;
  first.reserve(static_cast<size_t>(rows));
  bool any = false;
  for (int64_t r = 0; r < rows; ++r) {
    if ((*level)[r] < 0) continue;
    std::string_view v(reinterpret_cast<const char*>(data) + static_cast<size_t>(r) * row_bytes, row_bytes);
    auto [it, fresh] = first.try_emplace(v, static_cast<int32_t>(r));
    if (fresh) continue;
    dup_of[r] = it->second;
    (*level)[r] = 0;
    any = true;
  }
  if (!any) dup_of.clear();
  return dup_of;
}

void BuildGraph(Graph* g, const Space& s, int ef_construction, int threads, const std::vector<int32_t>& dup_of) {
  Builder b(g, s, ef_construction);
  b.InsertAll(threads, dup_of);
  b.LinkDuplicates(dup_of);
}

}  // namespace kite::index::hnsw
