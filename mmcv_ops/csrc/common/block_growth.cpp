// Copyright (c) OpenMMLab. All rights reserved.
#include "block_growth.hpp"

#include <algorithm>

#include "greedy_contraction.hpp"
#include "parallel_for.hpp"

namespace mmcv_ops {

namespace {

// Nodes per block (at least; the rest is shared out). A block's cost rows,
// edges, hash table and heap then fit in a core's L2 cache for about 20
// labels and a dozen edges per node: on the 256 x 512 benchmark grid this
// halves the time of the contraction even on one thread.
constexpr int64_t kBlockNodes = 2048;

}  // namespace

int num_growth_blocks(int64_t num_nodes) {
  return static_cast<int>(std::max<int64_t>(num_nodes / kBlockNodes, 1));
}

std::vector<uint32_t> grow_in_blocks(const AmwcProblem &problem,
                                     const Adjacency &by_node, int num_blocks,
                                     int num_threads, const uint8_t *grows) {
  const int64_t n = problem.num_nodes;
  std::vector<uint32_t> representative(n);
  std::vector<GreedyContraction> contractions(
      num_workers(num_blocks, num_threads), GreedyContraction(problem));
  parallel_for_workers(num_blocks, num_threads, [&](std::size_t b,
                                                    std::size_t worker) {
    const int64_t first = n * static_cast<int64_t>(b) / num_blocks;
    const int64_t last = n * static_cast<int64_t>(b + 1) / num_blocks;
    AmwcProblem block = problem;
    block.num_nodes = last - first;
    block.node_costs = problem.node_costs + first * problem.num_labels;
    const BlockEdges edges{&by_node, static_cast<uint32_t>(first), grows};
    const std::vector<uint32_t> roots =
        contractions[worker].grow_block(block, edges);
    const uint32_t offset = static_cast<uint32_t>(first);
    for (std::size_t i = 0; i < roots.size(); ++i)
      representative[offset + i] = offset + roots[i];
  });
  return representative;
}

}  // namespace mmcv_ops
