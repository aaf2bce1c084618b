// Copyright (c) OpenMMLab. All rights reserved.
#include "node_moves.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <numeric>

#include "label_costs.hpp"

namespace mmcv_ops {

namespace {

constexpr uint32_t kUnset = 0xffffffffu;
// A move must lower the objective by more than this, so rounding noise in
// the summed edge costs cannot make two equal states alternate.
constexpr double kMinImprovement = 1e-9;
// With many labels a node's cost row spans many cache lines, of which a
// visit reads the few of its neighbours' labels: the hardware does not
// foresee these reads, so they are prefetched a few nodes ahead (133
// labels on a 160 x 160 grid: 3.7 -> 2.1 ms; with 19 labels the row is
// three lines and this only costs).
constexpr uint32_t kPrefetchNodes = 8;
constexpr uint32_t kPrefetchMinLabels = 32;

// The first v' >= v with active[v'] set, or n: eight flags per test, as a
// warm start's sweeps visit a few per cent of the nodes (testing the flags
// one by one was a third of a warm solve's node moves).
uint32_t next_active(const uint8_t *active, uint32_t v, uint32_t n) {
  // The word's lowest set byte is its first set flag.
  static_assert(std::endian::native == std::endian::little);
  for (; v < n && v % 8 != 0; ++v) {
    if (active[v]) return v;
  }
  for (; v + 8 <= n; v += 8) {
    uint64_t word;
    std::memcpy(&word, active + v, sizeof(word));
    if (word != 0) return v + std::countr_zero(word) / 8;
  }
  for (; v < n; ++v) {
    if (active[v]) return v;
  }
  return n;
}

}  // namespace

void improve_by_node_moves(const AmwcProblem &problem,
                           const Adjacency &adjacency,
                           HugeVector<int32_t> &labels,
                           HugeVector<uint32_t> &segments, int max_passes,
                           const uint8_t *first_sweep,
                           const double *cheapest) {
  const uint32_t n = static_cast<uint32_t>(problem.num_nodes);
  const uint32_t num_labels = static_cast<uint32_t>(problem.num_labels);
  const auto is_thing = [&](uint32_t label) {
    return problem.partitionable != nullptr && problem.partitionable[label];
  };
  // Raw pointers, and a fixed buffer for the touched segments: a push_back
  // stores a uint32_t* (the vector's end), which for the compiler may alias
  // the vectors' data pointers, so it reloaded them for every neighbour.
  // With the own segment's sum in a register (below), 5 % less time per
  // solve of a, b, c and e (either alone: no gain).
  const uint32_t *start = adjacency.start.data();
  const uint32_t *neighbour = adjacency.target.data();
  const uint32_t *edge = adjacency.edge.data();
  const double *edge_costs = problem.edge_costs;
  // Segment ids: stuff label s -> s; thing cluster c -> num_labels + c.
  const std::size_t id_space = num_labels + 2 * static_cast<std::size_t>(n);
  HugeVector<int32_t> segment_label(id_space, -1);
  std::iota(segment_label.begin(), segment_label.begin() + num_labels, 0);
  HugeVector<uint32_t> segment(n);
  for (uint32_t i = 0; i < n; ++i) {
    segment[i] = is_thing(labels[i]) ? num_labels + segments[i]
                                     : static_cast<uint32_t>(labels[i]);
    segment_label[segment[i]] = labels[i];
  }
  uint32_t next_segment = num_labels + n;
  HugeVector<uint32_t> stamp(id_space, kUnset);
  HugeVector<double> joined(id_space, 0.0);  // edge cost to each segment
  uint32_t max_degree = 0;
  for (uint32_t v = 0; v < n; ++v)
    max_degree = std::max(max_degree, start[v + 1] - start[v]);
  HugeVector<uint32_t> touched(max_degree);  // v's other segments
  HugeVector<uint8_t> active(n, 1);
  if (first_sweep != nullptr) {
    // A warm start: the marked nodes, and their neighbours in another
    // segment (the contraction took the marked node away from them or
    // them away from it: a node whose marked neighbours all left is held
    // by fewer edges than before).
    active.assign(n, 0);
    for (uint32_t v = 0; v < n; ++v) {
      if (!first_sweep[v]) continue;
      active[v] = 1;
      for (uint32_t k = start[v]; k < start[v + 1]; ++k) {
        if (segment[neighbour[k]] != segment[v]) active[neighbour[k]] = 1;
      }
    }
  }
  for (int pass = 0; pass < max_passes; ++pass) {
    bool moved = false;
    for (uint32_t v = next_active(active.data(), 0, n); v < n;
         v = next_active(active.data(), v + 1, n)) {
      active[v] = 0;
      if (num_labels >= kPrefetchMinLabels && v + kPrefetchNodes < n &&
          active[v + kPrefetchNodes]) {
        const uint32_t ahead = v + kPrefetchNodes;
        const double *row =
            problem.node_costs + static_cast<std::size_t>(ahead) * num_labels;
        for (uint32_t k = start[ahead]; k < start[ahead + 1]; ++k)
          __builtin_prefetch(row + labels[neighbour[k]]);
      }
      // The edges to v's own segment (most of them) are summed in a
      // register, the others per segment in joined[] (summing those in
      // memory made each addition wait for the store before it).
      const uint32_t current = segment[v];
      double own = 0.0;
      uint32_t num_touched = 0;
      for (uint32_t k = start[v]; k < start[v + 1]; ++k) {
        const uint32_t s = segment[neighbour[k]];
        const double value = edge_costs[edge[k]];
        if (s == current) {
          own += value;
          continue;
        }
        if (stamp[s] != v) {
          stamp[s] = v;
          joined[s] = 0.0;
          touched[num_touched++] = s;
        }
        joined[s] += value;
      }
      const double *cost = problem.node_costs +
                           static_cast<std::size_t>(v) * num_labels;
      // Cost of v's part of the objective when it stays: its node cost plus
      // its cut edges, up to a constant (all its edges, minus the uncut).
      const double stay = cost[labels[v]] - own;
      double best = stay - kMinImprovement;
      uint32_t target = current;
      int32_t target_label = labels[v];
      for (uint32_t t = 0; t < num_touched; ++t) {
        const uint32_t s = touched[t];
        const double value = cost[segment_label[s]] - joined[s];
        if (value < best) {
          best = value;
          target = s;
          target_label = segment_label[s];
        }
      }
      // A stuff label no neighbour has, or a new thing cluster. None can
      // win unless the node's cheapest label beats best (most nodes: one
      // branch-free pass over the row instead of a test per label).
      const double smallest =
          cheapest != nullptr ? cheapest[v] : min_value(cost, num_labels);
      const uint32_t label_end = smallest < best ? num_labels : 0;
      for (uint32_t l = 0; l < label_end; ++l) {
        if (!is_thing(l) && (l == current || stamp[l] == v)) continue;
        if (cost[l] < best) {
          best = cost[l];
          target = is_thing(l) ? kUnset : l;
          target_label = static_cast<int32_t>(l);
        }
      }
      if (target == current) continue;
      if (target == kUnset) {
        if (next_segment == id_space) continue;
        target = next_segment++;
        segment_label[target] = target_label;
      }
      segment[v] = target;
      labels[v] = target_label;
      moved = true;
      for (uint32_t k = start[v]; k < start[v + 1]; ++k)
        active[neighbour[k]] = 1;
    }
    if (!moved) break;
  }
  for (uint32_t i = 0; i < n; ++i)
    segments[i] = segment[i] >= num_labels ? segment[i] - num_labels : 0;
}

}  // namespace mmcv_ops
