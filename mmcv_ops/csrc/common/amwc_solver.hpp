// Copyright (c) OpenMMLab. All rights reserved.
// Asymmetric multiway cut (AMWC) and multiway cut (MWC) solver core.
//
// Plain C++ (no torch headers): the torch binding in csrc/pytorch converts
// tensors into an AmwcProblem and the AmwcSolution back into tensors.
#pragma once

#include <cstdint>
#include <vector>

#include "huge_page_allocator.hpp"

namespace mmcv_ops {

// One problem instance. All pointers are borrowed and must stay valid while
// the solver runs.
struct AmwcProblem {
  int64_t num_nodes = 0;
  int64_t num_labels = 0;
  const double *node_costs = nullptr;  // [num_nodes, num_labels], row-major
  int64_t num_edges = 0;
  const int64_t *edges = nullptr;       // [num_edges, 2], 0 <= i != j < N
  const double *edge_costs = nullptr;   // [num_edges], > 0 attractive
  // [num_labels], true = "thing" label (may be split into several clusters).
  // nullptr means every label is non-partitionable (the MWC problem).
  const bool *partitionable = nullptr;
  // Optional solution to start from (a warm start, e.g. the solution of a
  // problem that differs only in some costs); nullptr = start from single
  // nodes. initial_labels: [num_nodes] in [0, num_labels), or -1 for a node
  // that starts alone (one whose costs moved). initial_clusters: [num_nodes]
  // in [0, num_nodes), the same label for all nodes of a cluster (nodes with
  // label -1 ignored); nullptr = one cluster per label.
  const int64_t *initial_labels = nullptr;
  const int64_t *initial_clusters = nullptr;
};

// The labelling. Nodes with the same stuff label share one cluster id; every
// thing instance has its own. cut[e] is 1 iff the labels of edge e differ or
// they are the same thing label with different clusters. objective is
// sum_i node_costs[i, labels[i]] + sum_e cut[e] * edge_costs[e] in float64.
struct AmwcSolution {
  HugeVector<int64_t> labels;    // [num_nodes]
  HugeVector<int64_t> clusters;  // [num_nodes], ids 0..K-1 by first node
  HugeVector<uint8_t> cut;       // [num_edges]
  double objective = 0.0;
};

// Greedy contraction with stuff labels handled inside the optimisation,
// followed by a node-move local search. Large problems grow their first
// clusters in blocks on num_threads threads. With an initial solution the
// contraction starts from its clusters instead (no block phase), and the
// result is never worse than a complete initial solution.
// Deterministic; the result does not depend on num_threads.
AmwcSolution solve_amwc_greedy(const AmwcProblem &problem,
                               int num_threads = 1);

// Solves independent problems on num_threads threads (<= 0: hardware
// concurrency): side by side, with the threads left over (num_threads
// beyond the number of problems) shared out to the blocks inside each.
// The result does not depend on the thread count.
std::vector<AmwcSolution> solve_amwc_greedy_batch(
    const std::vector<AmwcProblem> &problems, int num_threads);

}  // namespace mmcv_ops
