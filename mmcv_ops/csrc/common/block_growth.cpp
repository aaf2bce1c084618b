// Copyright (c) OpenMMLab. All rights reserved.
#include "block_growth.hpp"

#include <algorithm>
#include <numeric>

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
                                     int num_blocks, int num_threads,
                                     const uint8_t *grows) {
  const int64_t n = problem.num_nodes;
  std::vector<int64_t> first(num_blocks + 1);
  for (int b = 0; b <= num_blocks; ++b) first[b] = n * b / num_blocks;
  std::vector<int32_t> block_of(n);
  for (int b = 0; b < num_blocks; ++b)
    std::fill(block_of.begin() + first[b], block_of.begin() + first[b + 1], b);
  // The edges inside each block (between growing nodes), renumbered to the
  // block's nodes (a counting sort by block).
  const auto block_edge = [&](int64_t e) {
    const int64_t i = problem.edges[2 * e], j = problem.edges[2 * e + 1];
    if (grows != nullptr && !(grows[i] && grows[j])) return -1;
    return block_of[i] == block_of[j] ? block_of[i] : -1;
  };
  std::vector<int64_t> start(num_blocks + 1, 0);
  for (int64_t e = 0; e < problem.num_edges; ++e) {
    const int32_t b = block_edge(e);
    if (b >= 0) ++start[b + 1];
  }
  std::partial_sum(start.begin(), start.end(), start.begin());
  std::vector<int64_t> local_edges(2 * start[num_blocks]);
  std::vector<double> local_costs(start[num_blocks]);
  {
    std::vector<int64_t> cursor(start.begin(), start.end() - 1);
    for (int64_t e = 0; e < problem.num_edges; ++e) {
      const int64_t i = problem.edges[2 * e], j = problem.edges[2 * e + 1];
      const int32_t b = block_edge(e);
      if (b < 0) continue;
      const int64_t slot = cursor[b]++;
      local_edges[2 * slot] = i - first[b];
      local_edges[2 * slot + 1] = j - first[b];
      local_costs[slot] = problem.edge_costs[e];
    }
  }
  std::vector<uint32_t> representative(n);
  parallel_for(num_blocks, num_threads, [&](std::size_t b) {
    AmwcProblem block = problem;
    block.num_nodes = first[b + 1] - first[b];
    block.node_costs = problem.node_costs + first[b] * problem.num_labels;
    block.num_edges = start[b + 1] - start[b];
    block.edges = local_edges.data() + 2 * start[b];
    block.edge_costs = local_costs.data() + start[b];
    const std::vector<uint32_t> roots = GreedyContraction(block).grow();
    const uint32_t offset = static_cast<uint32_t>(first[b]);
    for (std::size_t i = 0; i < roots.size(); ++i)
      representative[offset + i] = offset + roots[i];
  });
  return representative;
}

}  // namespace mmcv_ops
