// Copyright (c) OpenMMLab. All rights reserved.
// Phase 1 of the greedy contraction on blocks of nodes, in parallel.
//
// The nodes are split into num_blocks ranges of consecutive indices (row
// bands of a grid graph). Each block grows clusters by the phase-1 greedy
// contraction on the edges inside it; edges between blocks are left to the
// contraction on the whole graph, which continues from these clusters. The
// blocks depend only on the node and label counts, never on the thread
// count, so the result does not either; smaller working sets also cut cache
// misses.
#pragma once

#include <cstdint>
#include <vector>

#include "adjacency.hpp"
#include "amwc_solver.hpp"

namespace mmcv_ops {

// Blocks used for a problem with num_nodes nodes and num_labels labels; 0 =
// no block phase (fewer than 1024 nodes).
int num_growth_blocks(int64_t num_nodes, int64_t num_labels);

// The clusters grown in blocks.
struct GrownClusters {
  // [N] every node's representative, the node of its cluster that
  // represents itself.
  HugeVector<uint32_t> representative;
  // [K, L] the summed costs of the K clusters in the order of their
  // representatives.
  HugeVector<double> costs;
};

// Grows clusters in num_blocks blocks on num_threads threads. by_node:
// node_adjacency(problem), where the blocks read their edges. With grows
// ([N], nonzero = grows), only the edges between two growing nodes are
// contracted (a warm start grows only the nodes that start alone).
// cheapest: [N] filled with every node's smallest cost on the way (the
// blocks read all cost rows; the node moves need these minima, and reading
// the rows again costs a pass over memory: 1.3 of 24.5 ms with 133 labels on
// a 160 x 160 grid).
GrownClusters grow_in_blocks(const AmwcProblem &problem,
                             const Adjacency &by_node, int num_blocks,
                             int num_threads, double *cheapest,
                             const uint8_t *grows = nullptr);

}  // namespace mmcv_ops
