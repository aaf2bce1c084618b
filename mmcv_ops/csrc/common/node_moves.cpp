// Copyright (c) OpenMMLab. All rights reserved.
#include "node_moves.hpp"

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
  const HugeVector<uint32_t> &start = adjacency.start;
  const HugeVector<uint32_t> &neighbour = adjacency.target;
  const HugeVector<uint32_t> &edge = adjacency.edge;
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
  HugeVector<uint32_t> touched;
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
    for (uint32_t v = 0; v < n; ++v) {
      if (!active[v]) continue;
      active[v] = 0;
      if (num_labels >= kPrefetchMinLabels && v + kPrefetchNodes < n &&
          active[v + kPrefetchNodes]) {
        const uint32_t ahead = v + kPrefetchNodes;
        const double *row =
            problem.node_costs + static_cast<std::size_t>(ahead) * num_labels;
        for (uint32_t k = start[ahead]; k < start[ahead + 1]; ++k)
          __builtin_prefetch(row + labels[neighbour[k]]);
      }
      touched.clear();
      for (uint32_t k = start[v]; k < start[v + 1]; ++k) {
        const uint32_t s = segment[neighbour[k]];
        if (stamp[s] != v) {
          stamp[s] = v;
          joined[s] = 0.0;
          touched.push_back(s);
        }
        joined[s] += problem.edge_costs[edge[k]];
      }
      const double *cost = problem.node_costs +
                           static_cast<std::size_t>(v) * num_labels;
      const uint32_t current = segment[v];
      // Cost of v's part of the objective when it stays: its node cost plus
      // its cut edges, up to a constant (all its edges, minus the uncut).
      const double stay =
          cost[labels[v]] - (stamp[current] == v ? joined[current] : 0.0);
      double best = stay - kMinImprovement;
      uint32_t target = current;
      int32_t target_label = labels[v];
      for (const uint32_t s : touched) {
        const double value = cost[segment_label[s]] - joined[s];
        if (s != current && value < best) {
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
