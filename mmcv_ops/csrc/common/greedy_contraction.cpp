// Copyright (c) OpenMMLab. All rights reserved.
#include "greedy_contraction.hpp"

#include <algorithm>

namespace mmcv_ops {

namespace {

constexpr uint32_t kNotQueued = 0xffffffffu;

int32_t argmin(const double *values, int64_t count) {
  int32_t best = 0;
  for (int64_t l = 1; l < count; ++l) {
    if (values[l] < values[best]) best = static_cast<int32_t>(l);
  }
  return best;
}

}  // namespace

GreedyContraction::GreedyContraction(const AmwcProblem &problem)
    : num_nodes_(problem.num_nodes),
      num_labels_(problem.num_labels),
      problem_(problem),
      is_thing_(problem.num_labels, 0),
      edge_map_(static_cast<std::size_t>(problem.num_edges)),
      summed_(problem.num_labels),
      scratch_(problem.num_labels, 0.0) {
  if (problem.partitionable != nullptr) {
    for (int64_t l = 0; l < num_labels_; ++l)
      is_thing_[l] = problem.partitionable[l] ? 1 : 0;
  }
}

uint32_t GreedyContraction::find(uint32_t node) {
  while (parent_[node] != node) {
    parent_[node] = parent_[parent_[node]];
    node = parent_[node];
  }
  return node;
}

// Every node starts as its own cluster with its cheapest label; parallel
// input edges are summed into one.
void GreedyContraction::build_graph() {
  const std::size_t n = static_cast<std::size_t>(num_nodes_);
  costs_.assign(problem_.node_costs, problem_.node_costs + n * num_labels_);
  label_.resize(n);
  parent_.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    label_[i] = argmin(row(i), num_labels_);
    parent_[i] = static_cast<uint32_t>(i);
  }
  const int64_t *ends = problem_.edges;
  std::vector<uint32_t> degree(n, 0);
  edge_u_.reserve(problem_.num_edges);
  edge_v_.reserve(problem_.num_edges);
  edge_cost_.reserve(problem_.num_edges);
  for (int64_t e = 0; e < problem_.num_edges; ++e) {
    const uint32_t i = static_cast<uint32_t>(ends[2 * e]);
    const uint32_t j = static_cast<uint32_t>(ends[2 * e + 1]);
    const uint32_t id = static_cast<uint32_t>(edge_u_.size());
    const uint32_t found = edge_map_.find_or_insert(EdgeHashMap::key(i, j), id);
    if (found != EdgeHashMap::kNone) {
      edge_cost_[found] += problem_.edge_costs[e];
      continue;
    }
    edge_u_.push_back(i);
    edge_v_.push_back(j);
    edge_cost_.push_back(problem_.edge_costs[e]);
    ++degree[i];
    ++degree[j];
  }
  const std::size_t m = edge_u_.size();
  queued_.assign(m, kNotQueued);
  edge_alive_.assign(m, 1);
  adjacency_.resize(n);
  for (std::size_t i = 0; i < n; ++i) adjacency_[i].reserve(degree[i]);
  for (uint32_t e = 0; e < m; ++e) {
    adjacency_[edge_u_[e]].push_back(e);
    adjacency_[edge_v_[e]].push_back(e);
  }
}

// The edge list of a cluster with dead edges dropped.
std::vector<uint32_t> &GreedyContraction::live_edges(uint32_t cluster) {
  std::vector<uint32_t> &edges = adjacency_[cluster];
  std::size_t kept = 0;
  for (const uint32_t e : edges) {
    if (edge_alive_[e]) edges[kept++] = e;
  }
  edges.resize(kept);
  return edges;
}

// Gain of contracting an edge whose ends are cut from each other, when the
// union takes its cheapest label (phase 2 corrects it for stuff neighbours).
double GreedyContraction::edge_gain(uint32_t edge) const {
  const uint32_t a = edge_u_[edge], b = edge_v_[edge];
  const double *ca = row(a);
  const double *cb = row(b);
  double best = ca[0] + cb[0];
  for (int64_t l = 1; l < num_labels_; ++l) {
    const double s = ca[l] + cb[l];
    best = s < best ? s : best;
  }
  return best - ca[label_[a]] - cb[label_[b]] - edge_cost_[edge];
}

void GreedyContraction::push(uint32_t edge, double gain) {
  queued_[edge] = QuadHeap::ordered_bits(static_cast<float>(gain));
  heap_.push(QuadHeap::make_key(queued_[edge], edge));
}

// Queues an edge with its current gain if that is negative; older entries of
// the edge become stale either way.
void GreedyContraction::push_if_negative(uint32_t edge) {
  const double gain = edge_gain(edge);
  if (gain < 0) {
    push(edge, gain);
  } else {
    queued_[edge] = kNotQueued;
  }
}

void GreedyContraction::push_all() {
  heap_.clear();
  for (uint32_t e = 0; e < edge_u_.size(); ++e) {
    queued_[e] = kNotQueued;
    if (!edge_alive_[e]) continue;
    const double gain = edge_gain(e);
    if (!(gain < 0)) continue;
    queued_[e] = QuadHeap::ordered_bits(static_cast<float>(gain));
    heap_.append(QuadHeap::make_key(queued_[e], e));
  }
  heap_.heapify();
}

// Pops the best queued edge that is alive and not stale (false: none left).
bool GreedyContraction::pop(uint32_t &edge) {
  while (!heap_.empty()) {
    const uint64_t key = heap_.pop();
    edge = QuadHeap::id(key);
    if (edge_alive_[edge] && queued_[edge] == QuadHeap::gain_bits(key)) {
      queued_[edge] = kNotQueued;
      return true;
    }
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
  std::vector<double> &joined = scratch_;
  const uint32_t sides[2] = {a, b};
  for (int side = 0; side < (a == b ? 1 : 2); ++side) {
    for (const uint32_t e : live_edges(sides[side])) {
      const uint32_t d = other_end(e, sides[side]);
      const int32_t ld = label_[d];
      if (d != a && d != b && !is_thing_[ld]) joined[ld] += edge_cost_[e];
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
    for (const uint32_t e : adjacency_[sides[side]]) {
      const uint32_t d = other_end(e, sides[side]);
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
  const bool keep_x = adjacency_[x].size() >= adjacency_[y].size();
  const uint32_t keep = keep_x ? x : y;
  const uint32_t gone = keep_x ? y : x;
  double *dst = row(keep);
  const double *src = row(gone);
  for (int64_t l = 0; l < num_labels_; ++l) dst[l] += src[l];
  label_[keep] = label;
  parent_[gone] = keep;
  for (const uint32_t e : adjacency_[gone]) {
    if (!edge_alive_[e]) continue;
    const uint32_t d = other_end(e, gone);
    edge_map_.erase(EdgeHashMap::key(gone, d));
    if (d == keep) {
      edge_alive_[e] = 0;
      continue;
    }
    const uint32_t parallel =
        edge_map_.find_or_insert(EdgeHashMap::key(keep, d), e);
    if (parallel != EdgeHashMap::kNone) {
      edge_cost_[parallel] += edge_cost_[e];
      edge_alive_[e] = 0;
      changed_.push_back(parallel);
    } else {
      (edge_u_[e] == gone ? edge_u_[e] : edge_v_[e]) = keep;
      adjacency_[keep].push_back(e);
      changed_.push_back(e);
    }
  }
  std::vector<uint32_t>().swap(adjacency_[gone]);
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
    for (const uint32_t e : live_edges(x)) push_if_negative(e);
  } else {
    for (const uint32_t e : changed_) {
      if (edge_alive_[e]) push_if_negative(e);
    }
  }
}

void GreedyContraction::contract_greedily() {
  push_all();
  uint32_t edge;
  while (pop(edge)) {
    const uint32_t a = edge_u_[edge], b = edge_v_[edge];
    const double *ca = row(a);
    const double *cb = row(b);
    double *summed = summed_.data();
    for (int64_t l = 0; l < num_labels_; ++l) summed[l] = ca[l] + cb[l];
    const double base = ca[label_[a]] + cb[label_[b]] + edge_cost_[edge];
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
  for (uint32_t e = 0; e < edge_u_.size(); ++e) {
    if (!edge_alive_[e]) continue;
    const int32_t label = label_[edge_u_[e]];
    if (label == label_[edge_v_[e]] && !is_thing_[label])
      merge(edge_u_[e], edge_v_[e], label);
  }
  changed_.clear();
}

// Gives every cluster its best label where that lowers the objective.
bool GreedyContraction::relabel_pass() {
  bool improved = false;
  for (uint32_t x = 0; x < static_cast<uint32_t>(num_nodes_); ++x) {
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

std::vector<uint32_t> GreedyContraction::run(std::vector<int32_t> &labels) {
  build_graph();
  contract_greedily();
  stuff_rule_ = true;
  join_stuff_neighbours();
  do {
    contract_greedily();
  } while (relabel_pass());
  labels.resize(num_nodes_);
  std::vector<uint32_t> roots(num_nodes_);
  for (uint32_t i = 0; i < static_cast<uint32_t>(num_nodes_); ++i) {
    roots[i] = find(i);
    labels[i] = label_[roots[i]];
  }
  return roots;
}

}  // namespace mmcv_ops
