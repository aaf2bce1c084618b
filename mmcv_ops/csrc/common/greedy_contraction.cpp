// Copyright (c) OpenMMLab. All rights reserved.
#include "greedy_contraction.hpp"

#include <algorithm>
#include <numeric>
#include <utility>

#include "adjacency.hpp"
#include "label_costs.hpp"

namespace mmcv_ops {

namespace {

constexpr uint32_t kNotQueued = 0xffffffffu;
constexpr uint32_t kDead = 0xfffffffeu;  // never a gain's bits (gains < 0)
constexpr std::size_t kMinCompaction = 256;
constexpr std::size_t kPrefetchDistance = 4;
// The whole graph's edges are summed through the hash table
// (gather_edges_hashed) while there are at most N / kHashedClusterRatio
// start clusters: a cold solve has 0.5-2 % of N after the block phase. Warm
// starts from a solution of the 256 x 512 grid with a random share of the
// nodes marked: 10 % 27.5 ms against the counting sort's 31 ms, 20 % 38-44
// against 42-44, 30 % 56 against 56, 45 % 114 against 85 (its table no
// longer fits the cache); 128 x 256, 45 %: 16.3 against 14.9 ms.
constexpr std::size_t kHashedClusterRatio = 4;

}  // namespace

HugeVector<uint32_t> GreedyContraction::grow_block(
    const AmwcProblem &block, const HugeVector<BlockEdge> &edges,
    HugeVector<uint32_t> start, HugeVector<double> &costs) {
  problem_ = &block;
  num_nodes_ = block.num_nodes;
  block_edges_ = &edges;
  cluster_of_ = std::move(start);
  first_node_.clear();
  costs_.clear();
  build_graph();
  contract_greedily();
  HugeVector<uint32_t> representative = roots();
  for (uint32_t i = 0; i < static_cast<uint32_t>(num_nodes_); ++i) {
    if (representative[i] != i) continue;
    const double *summed = row(find(cluster_of_[i]));
    costs.insert(costs.end(), summed, summed + num_labels_);
  }
  return representative;
}

GreedyContraction::GreedyContraction(const AmwcProblem &problem,
                                     HugeVector<uint32_t> start,
                                     HugeVector<double> start_costs)
    : num_nodes_(problem.num_nodes),
      num_labels_(problem.num_labels),
      problem_(&problem),
      is_thing_(problem.num_labels, 0),
      cluster_of_(std::move(start)),
      costs_(std::move(start_costs)),
      edge_map_(0),
      summed_(problem.num_labels),
      scratch_(problem.num_labels, 0.0) {
  if (problem.partitionable != nullptr) {
    for (int64_t l = 0; l < num_labels_; ++l)
      is_thing_[l] = problem.partitionable[l] ? 1 : 0;
  }
}

uint32_t GreedyContraction::find(uint32_t cluster) {
  while (parent_[cluster] != cluster) {
    parent_[cluster] = parent_[parent_[cluster]];
    cluster = parent_[cluster];
  }
  return cluster;
}

// Numbers the start clusters 0..K-1 in the order of their representatives
// (so edges and ties are ordered as they would be by node) and sums their
// cost rows. The contraction then works on K clusters, not N nodes: after
// the block phase K is a few per cent of N, and the arrays, rows and the
// counting sort below stay that small.
void GreedyContraction::number_clusters() {
  const std::size_t n = static_cast<std::size_t>(num_nodes_);
  const std::size_t width = static_cast<std::size_t>(num_labels_);
  if (cluster_of_.empty()) {
    cluster_of_.resize(n);
    std::iota(cluster_of_.begin(), cluster_of_.end(), 0u);
    first_node_ = cluster_of_;
    costs_.assign(problem_->node_costs, problem_->node_costs + n * width);
    return;
  }
  HugeVector<uint32_t> id(n, kNotQueued);
  for (std::size_t i = 0; i < n; ++i) {
    if (cluster_of_[i] != i) continue;
    id[i] = static_cast<uint32_t>(first_node_.size());
    first_node_.push_back(static_cast<uint32_t>(i));
  }
  for (std::size_t i = 0; i < n; ++i) cluster_of_[i] = id[cluster_of_[i]];
  // Sums given with the start clusters (the block phase's) save a pass over
  // all cost rows: 0.6 of 24.7 ms with 133 labels on a 160 x 160 grid.
  if (!costs_.empty()) return;
  costs_.assign(first_node_.size() * width, 0.0);
  for (std::size_t i = 0; i < n; ++i) {
    double *dst = row(cluster_of_[i]);
    const double *src = problem_->node_costs + i * width;
    for (std::size_t l = 0; l < width; ++l) dst[l] += src[l];
  }
}

// Every node starts in its start cluster (by default alone), every cluster
// with its cheapest label. Edges between clusters are stored ordered by their
// smaller end, and in the order of their first input edge within, so the
// edges of a cluster sit close together in memory.
void GreedyContraction::build_graph() {
  number_clusters();
  const std::size_t n = first_node_.size();
  num_clusters_ = static_cast<uint32_t>(n);
  parent_.resize(n);
  std::iota(parent_.begin(), parent_.end(), 0u);
  label_.resize(n);
  for (std::size_t i = 0; i < n; ++i) label_[i] = argmin(row(i), num_labels_);
  if (block_edges_ == nullptr &&
      n <= static_cast<std::size_t>(num_nodes_) / kHashedClusterRatio) {
    gather_edges_hashed();
  } else {
    gather_edges_sorted();
  }
  const std::size_t m = edges_.size();
  num_alive_ = m;
  queued_.assign(m, kNotQueued);
  edge_map_.reset(m);
  HugeVector<uint32_t> degree(n, 0);
  for (uint32_t e = 0; e < m; ++e) {
    if (e + kPrefetchDistance < m) {
      const Edge &ahead = edges_[e + kPrefetchDistance];
      edge_map_.prefetch(EdgeHashMap::key(ahead.u, ahead.v));
    }
    edge_map_.find_or_insert(EdgeHashMap::key(edges_[e].u, edges_[e].v), e);
    ++degree[edges_[e].u];
    ++degree[edges_[e].v];
  }
  adjacency_.reset(degree);
  for (uint32_t e = 0; e < m; ++e) {
    adjacency_.push(edges_[e].u, e);
    adjacency_.push(edges_[e].v, e);
  }
}

// The input edges between two start clusters (the block's list or the
// problem's edges), by a counting sort by the smaller end, which also sums
// parallel edges without hashing.
void GreedyContraction::gather_edges_sorted() {
  const std::size_t n = first_node_.size();
  // ends(k): the start clusters of input edge k; cost(k): its cost.
  const HugeVector<BlockEdge> *list = block_edges_;
  const int64_t *input = problem_->edges;
  const int64_t count = list != nullptr ? static_cast<int64_t>(list->size())
                                        : problem_->num_edges;
  const auto ends = [&](int64_t k) {
    if (list != nullptr)
      return std::pair{cluster_of_[(*list)[k].i], cluster_of_[(*list)[k].j]};
    return std::pair{cluster_of_[input[2 * k]], cluster_of_[input[2 * k + 1]]};
  };
  const auto cost = [&](int64_t k) {
    return list != nullptr ? (*list)[k].cost : problem_->edge_costs[k];
  };
  // Rows of (other end j > i, input edge k) per cluster i; parallel edges
  // are summed into the first one.
  const Adjacency by_smaller_end =
      build_adjacency(n, count, [&](int64_t k, auto add) {
        const auto [i, j] = ends(k);
        if (i != j) add(std::min(i, j), std::max(i, j));
      });
  HugeVector<uint32_t> owner(n, kNotQueued), position(n);
  edges_.clear();
  edges_.reserve(by_smaller_end.edge.size());
  for (uint32_t i = 0; i < n; ++i) {
    for (uint32_t k = by_smaller_end.start[i]; k < by_smaller_end.start[i + 1];
         ++k) {
      const uint32_t j = by_smaller_end.target[k];
      const double value = cost(by_smaller_end.edge[k]);
      if (owner[j] == i) {
        edges_[position[j]].cost += value;
        continue;
      }
      owner[j] = i;
      position[j] = static_cast<uint32_t>(edges_.size());
      edges_.push_back({i, j, value});
    }
  }
}

// The problem's edges between two start clusters, summed per cluster pair
// through the hash table in one pass, then ordered by their smaller end:
// the same edges, sums and order as gather_edges_sorted. After
// the block phase half of the input edges join a few thousand pairs of a few
// hundred clusters, so the table stays in the cache: on the 256 x 512
// benchmark grid this takes 2.9 ms instead of the counting sort's 5.9 ms.
void GreedyContraction::gather_edges_hashed() {
  const std::size_t n = first_node_.size();
  HugeVector<Edge> pairs;
  edge_map_.reset(n);
  const auto add = [&](uint32_t i, uint32_t j, double cost) {
    if (i == j) return;
    const uint32_t e = static_cast<uint32_t>(pairs.size());
    const uint32_t known = edge_map_.find_or_insert(EdgeHashMap::key(i, j), e);
    if (known != EdgeHashMap::kNone) {
      pairs[known].cost += cost;
      return;
    }
    pairs.push_back({std::min(i, j), std::max(i, j), cost});
    if (edge_map_.needs_rebuild(pairs.size())) {
      edge_map_.reset(2 * pairs.size());
      for (uint32_t f = 0; f < pairs.size(); ++f)
        edge_map_.find_or_insert(EdgeHashMap::key(pairs[f].u, pairs[f].v), f);
    }
  };
  const uint32_t *cluster = cluster_of_.data();
  const int64_t *input = problem_->edges;
  const double *costs = problem_->edge_costs;
  const int64_t count = problem_->num_edges;
  for (int64_t k = 0; k < count; ++k)
    add(cluster[input[2 * k]], cluster[input[2 * k + 1]], costs[k]);
  // build_adjacency's counting sort is stable: rows in order of first use.
  const Adjacency by_smaller_end = build_adjacency(
      n, static_cast<int64_t>(pairs.size()),
      [&](int64_t k, auto add) { add(pairs[k].u, pairs[k].v); });
  edges_.clear();
  edges_.reserve(pairs.size());
  for (const uint32_t k : by_smaller_end.edge) edges_.push_back(pairs[k]);
}

bool GreedyContraction::alive(uint32_t edge) const {
  return queued_[edge] != kDead;
}

// The edge list of a cluster with dead edges dropped.
std::pair<const uint32_t *, uint32_t> GreedyContraction::live_edges(
    uint32_t cluster) {
  uint32_t *edges = adjacency_.data(cluster);
  const uint32_t count = adjacency_.size(cluster);
  uint32_t kept = 0;
  for (uint32_t k = 0; k < count; ++k) {
    if (alive(edges[k])) edges[kept++] = edges[k];
  }
  adjacency_.truncate(cluster, kept);
  return {edges, kept};
}

// Gain of contracting an edge whose ends are cut from each other, when the
// union takes its cheapest label (phase 2 corrects it for stuff neighbours).
double GreedyContraction::edge_gain(uint32_t edge) const {
  const uint32_t a = edges_[edge].u, b = edges_[edge].v;
  // In phase 1 every label is the arg-min of its row, so two clusters with
  // one label keep it when joined: the gain is just the edge. Otherwise the
  // label penalty min_l [C_A(l) + C_B(l)] - C_A(l_A) - C_B(l_B) is >= 0, so
  // an edge that does not attract (cost <= 0) cannot gain and is not scored.
  if (!stuff_rule_ &&
      (label_[a] == label_[b] || !(edges_[edge].cost > 0)))
    return -edges_[edge].cost;
  const double *ca = row(a);
  const double *cb = row(b);
  return min_of_sum(ca, cb, num_labels_) - ca[label_[a]] - cb[label_[b]] -
         edges_[edge].cost;
}

void GreedyContraction::push(uint32_t edge, double gain) {
  if (queued_[edge] != kNotQueued) ++stale_;
  queued_[edge] = QuadHeap::ordered_bits(static_cast<float>(gain));
  heap_.push(QuadHeap::make_key(queued_[edge], edge));
}

// Re-scores an edge whose ends changed. A better gain than the queued one is
// queued (the old entry turns stale); a worse one keeps the queued entry,
// which is re-evaluated exactly when popped.
void GreedyContraction::update(uint32_t edge) {
  const double gain = edge_gain(edge);
  if (!(gain < 0)) return;
  if (queued_[edge] != kNotQueued &&
      QuadHeap::ordered_bits(static_cast<float>(gain)) >= queued_[edge])
    return;
  push(edge, gain);
}

void GreedyContraction::kill(uint32_t edge) {
  --num_alive_;
  if (queued_[edge] != kNotQueued) ++stale_;
  queued_[edge] = kDead;
}

void GreedyContraction::push_all() {
  heap_.clear();
  stale_ = 0;
  for (uint32_t e = 0; e < edges_.size(); ++e) {
    if (!alive(e)) continue;
    queued_[e] = kNotQueued;
    const double gain = edge_gain(e);
    if (!(gain < 0)) continue;
    queued_[e] = QuadHeap::ordered_bits(static_cast<float>(gain));
    heap_.append(QuadHeap::make_key(queued_[e], e));
  }
  heap_.heapify();
}

bool GreedyContraction::is_live(uint64_t key) const {
  const uint32_t edge = QuadHeap::id(key);
  return queued_[edge] == QuadHeap::gain_bits(key);
}

// Pops the best live entry (false: none left). Stale entries are dropped in
// one linear pass once they make up half of the heap, instead of one
// cache-missing sift-down each.
bool GreedyContraction::pop(uint32_t &edge) {
  while (!heap_.empty()) {
    if (stale_ > heap_.size() / 2 && heap_.size() > kMinCompaction) {
      heap_.remove_if([this](uint64_t key) { return !is_live(key); });
      stale_ = 0;
      continue;
    }
    const uint64_t key = heap_.pop();
    if (!heap_.empty()) __builtin_prefetch(&edges_[QuadHeap::id(heap_.top())]);
    if (!is_live(key)) {
      --stale_;
      continue;
    }
    edge = QuadHeap::id(key);
    queued_[edge] = kNotQueued;
    return true;
  }
  return false;
}

// The best label for the union of a and b (a == b: relabel a alone) with its
// exact gain, given the summed costs and the current cost of the clusters
// and their edge. Phase 2 adds the edges to neighbours sharing a stuff label.
GreedyContraction::Move GreedyContraction::best_move(uint32_t a, uint32_t b,
                                                     const double *summed,
                                                     double base) {
  absorb_.clear();
  if (!stuff_rule_) {
    const int32_t label = argmin(summed, num_labels_);
    return {summed[label] - base, label, false};
  }
  // joined[l]: cost of the edges to neighbours with stuff label l, which the
  // move un-cuts when the union takes label l.
  HugeVector<double> &joined = scratch_;
  const uint32_t sides[2] = {a, b};
  for (int side = 0; side < (a == b ? 1 : 2); ++side) {
    const auto [edges, count] = live_edges(sides[side]);
    for (uint32_t k = 0; k < count; ++k) {
      const uint32_t e = edges[k];
      const uint32_t d = other_end(e, sides[side]);
      const int32_t ld = label_[d];
      if (d != a && d != b && !is_thing_[ld]) joined[ld] += edges_[e].cost;
    }
  }
  int32_t best = 0;
  double best_cost = summed[0] - joined[0];
  for (int64_t l = 1; l < num_labels_; ++l) {
    const double cost = summed[l] - joined[l];
    if (cost < best_cost) {
      best_cost = cost;
      best = static_cast<int32_t>(l);
    }
  }
  for (int side = 0; side < (a == b ? 1 : 2); ++side) {
    const uint32_t *edges = adjacency_.data(sides[side]);
    for (uint32_t k = 0; k < adjacency_.size(sides[side]); ++k) {
      const uint32_t d = other_end(edges[k], sides[side]);
      if (d != a && d != b && label_[d] == best && !is_thing_[best])
        absorb_.push_back(d);
      joined[label_[d]] = 0.0;
    }
  }
  return {best_cost - base, best, !absorb_.empty()};
}

// Contracts clusters x and y into the one with more edges, gives it label and
// records the edges whose cost or ends changed; returns the kept cluster.
uint32_t GreedyContraction::merge(uint32_t x, uint32_t y, int32_t label) {
  const bool keep_x = adjacency_.size(x) >= adjacency_.size(y);
  const uint32_t keep = keep_x ? x : y;
  const uint32_t gone = keep_x ? y : x;
  // In phase 1, joining two clusters of one label that keeps it can only
  // make the gains of the edges that move from gone to keep worse (the
  // label penalty min_l [C(l) + C_d(l)] - C(label) - C_d(l_d) grows with
  // C), so their queued entries stay optimistic and are not re-scored.
  const bool moved_edges_worsen =
      !stuff_rule_ && label_[x] == label && label_[y] == label;
  double *dst = row(keep);
  const double *src = row(gone);
  for (int64_t l = 0; l < num_labels_; ++l) dst[l] += src[l];
  label_[keep] = label;
  parent_[gone] = keep;
  // On the whole graph the loop is bound by cache misses on edges, hash
  // slots and cost rows; prefetching them a few edges ahead overlaps those
  // misses (a warm solve of the 128 x 256 grid: 3.7 -> 3.5 ms). A block's
  // arrays sit in the L2 cache, where the prefetches only cost (3-4 % of a
  // cold solve of a, b and e).
  const std::size_t count = adjacency_.size(gone);
  adjacency_.reserve(keep, static_cast<uint32_t>(count));
  const uint32_t *moving = adjacency_.data(gone);
  const bool prefetch = block_edges_ == nullptr;
  for (std::size_t k = 0; k < count; ++k) {
    if (prefetch && k + 2 * kPrefetchDistance < count)
      __builtin_prefetch(&edges_[moving[k + 2 * kPrefetchDistance]]);
    if (prefetch && k + kPrefetchDistance < count) {
      const uint32_t d = other_end(moving[k + kPrefetchDistance], gone);
      edge_map_.prefetch(EdgeHashMap::key(keep, d));
      __builtin_prefetch(row(d));
    }
    const uint32_t e = moving[k];
    if (!alive(e)) continue;
    const uint32_t d = other_end(e, gone);
    if (d == keep) {
      kill(e);
      continue;
    }
    const uint32_t parallel =
        edge_map_.find_or_insert(EdgeHashMap::key(keep, d), e);
    if (parallel != EdgeHashMap::kNone) {
      edges_[parallel].cost += edges_[e].cost;
      kill(e);
      changed_.push_back(parallel);
    } else {
      (edges_[e].u == gone ? edges_[e].u : edges_[e].v) = keep;
      adjacency_.push(keep, e);
      if (!moved_edges_worsen) changed_.push_back(e);
    }
  }
  adjacency_.truncate(gone, 0);
  if (edge_map_.needs_rebuild(num_alive_)) {
    edge_map_.reset(num_alive_);
    for (uint32_t e = 0; e < edges_.size(); ++e) {
      if (alive(e))
        edge_map_.find_or_insert(EdgeHashMap::key(edges_[e].u, edges_[e].v), e);
    }
  }
  return keep;
}

// Applies a move and re-queues the edges whose gain changed: every edge of
// the result when its label changed, otherwise the moved and summed edges.
// Other edges of a grown cluster keep their queued gain; they are
// re-evaluated exactly when popped.
void GreedyContraction::apply(uint32_t a, uint32_t b, const Move &move) {
  const int32_t label_a = label_[a], label_b = label_[b];
  changed_.clear();
  uint32_t x = a == b ? a : merge(a, b, move.label);
  label_[x] = move.label;
  if (move.absorb) {
    for (const uint32_t d : absorb_) {
      if (parent_[d] == d && d != x) x = merge(x, d, move.label);
    }
  }
  const int32_t old_label = x == a ? label_a : (x == b ? label_b : -1);
  if (old_label != move.label) {
    const auto [edges, count] = live_edges(x);
    for (uint32_t k = 0; k < count; ++k) update(edges[k]);
  } else {
    for (const uint32_t e : changed_) {
      if (alive(e)) update(e);
    }
  }
}

void GreedyContraction::contract_greedily() {
  push_all();
  uint32_t edge;
  while (pop(edge)) {
    const uint32_t a = edges_[edge].u, b = edges_[edge].v;
    const double *ca = row(a);
    const double *cb = row(b);
    double *summed = summed_.data();
    for (int64_t l = 0; l < num_labels_; ++l) summed[l] = ca[l] + cb[l];
    const double base = ca[label_[a]] + cb[label_[b]] + edges_[edge].cost;
    const Move move = best_move(a, b, summed, base);
    if (!(move.gain < 0)) continue;
    if (!heap_.empty() &&
        QuadHeap::ordered_bits(static_cast<float>(move.gain)) >
            QuadHeap::gain_bits(heap_.top())) {
      push(edge, move.gain);
      continue;
    }
    apply(a, b, move);
  }
}

// Phase 2 entry: contracts every edge whose ends share a stuff label.
void GreedyContraction::join_stuff_neighbours() {
  for (uint32_t e = 0; e < edges_.size(); ++e) {
    if (!alive(e)) continue;
    const int32_t label = label_[edges_[e].u];
    if (label == label_[edges_[e].v] && !is_thing_[label])
      merge(edges_[e].u, edges_[e].v, label);
  }
  changed_.clear();
}

// Gives every cluster its best label where that lowers the objective.
bool GreedyContraction::relabel_pass() {
  bool improved = false;
  for (uint32_t x = 0; x < num_clusters_; ++x) {
    if (parent_[x] != x) continue;
    const double *cx = row(x);
    const Move move = best_move(x, x, cx, cx[label_[x]]);
    if (move.gain < 0) {
      apply(x, x, move);
      improved = true;
    }
  }
  return improved;
}

HugeVector<uint32_t> GreedyContraction::roots() {
  HugeVector<uint32_t> result(num_nodes_);
  for (uint32_t i = 0; i < static_cast<uint32_t>(num_nodes_); ++i)
    result[i] = first_node_[find(cluster_of_[i])];
  return result;
}

HugeVector<uint32_t> GreedyContraction::run(HugeVector<int32_t> &labels) {
  build_graph();
  contract_greedily();
  stuff_rule_ = true;
  join_stuff_neighbours();
  do {
    contract_greedily();
  } while (relabel_pass());
  labels.resize(num_nodes_);
  for (uint32_t i = 0; i < static_cast<uint32_t>(num_nodes_); ++i)
    labels[i] = label_[find(cluster_of_[i])];
  return roots();
}

}  // namespace mmcv_ops
