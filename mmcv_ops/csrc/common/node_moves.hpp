// Copyright (c) OpenMMLab. All rights reserved.
// Local search after the contraction: single-node moves with exact gains.
//
// Contraction never splits a cluster, so a node that was joined early to the
// wrong cluster stays there. This pass moves one node at a time into a
// neighbouring segment (taking its label), into a stuff label no neighbour
// has, or into a new thing cluster of its own, whenever that lowers the
// exact AMWC objective; the neighbours of moved nodes are revisited.
#pragma once

#include <cstdint>
#include <vector>

#include "adjacency.hpp"
#include "amwc_solver.hpp"

namespace mmcv_ops {

// adjacency: node_adjacency(problem). labels: [N] node labels; segments: [N]
// segment ids where a thing node's id is any id shared exactly by the nodes
// of its cluster (stuff nodes' ids are ignored). Both are updated in place;
// new clusters get fresh ids >= N. At most max_passes sweeps over the active
// nodes are made. first_sweep: [N] nonzero = a node whose costs moved (a warm
// start's marked nodes): the first sweep visits these and their neighbours in
// another segment, see amwc_solver.cpp; nullptr = all nodes. cheapest: [N]
// every node's smallest cost, or nullptr = computed here.
void improve_by_node_moves(const AmwcProblem &problem,
                           const Adjacency &adjacency,
                           HugeVector<int32_t> &labels,
                           HugeVector<uint32_t> &segments, int max_passes,
                           const uint8_t *first_sweep = nullptr,
                           const double *cheapest = nullptr);

}  // namespace mmcv_ops
