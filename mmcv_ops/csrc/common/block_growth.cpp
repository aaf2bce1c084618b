// Copyright (c) OpenMMLab. All rights reserved.
#include "block_growth.hpp"

#include <algorithm>
#include <numeric>

#include "greedy_contraction.hpp"
#include "label_costs.hpp"
#include "parallel_for.hpp"

namespace mmcv_ops {

namespace {

// Nodes per block (at least; the rest is shared out). A block's cost rows,
// edges, hash table and heap then fit in a core's L2 cache for about 20
// labels and a dozen edges per node: on the 256 x 512 benchmark grid this
// halves the time of the contraction even on one thread.
constexpr int64_t kBlockNodes = 2048;
// With many labels, fewer nodes, so that a block's cost rows (8 bytes per
// label) stay within 1 MiB, the L2 cache of a current server core: 985
// nodes at 133 labels (COCO), 12 % less time than 2048 on the 160 x 160
// benchmark grid; up to 64 labels the blocks keep kBlockNodes.
constexpr int64_t kBlockCostBytes = int64_t{1} << 20;
constexpr int64_t kMinBlockNodes = 512;
// Problems of fewer nodes are contracted from single nodes. From here up,
// growing clusters in a block first is faster even when it is a single
// block (48 x 64 grid: 2.8 -> 1.0 ms, 32 x 32: 0.72 -> 0.24 ms; 5x and 8x
// the reference instead of 1.9x and 2.6x), as its joins along same-label
// edges take most contractions out of the heap. Below, solves take a tenth
// of a millisecond, and the joins changed what the stage-2 layer learns on
// a 24 x 24 test scene (test_adam_through_the_layer_raises_true_pq with the
// MWC baseline: PQ 0.85 after 300 steps instead of above 0.9).
constexpr int64_t kMinGrowthNodes = 1024;

// The start of a block's contraction: its edges and its start clusters.
struct BlockStart {
  // [n] every node's representative, the smallest node of its cluster.
  HugeVector<uint32_t> representative;
  // The edges inside the block (block indices, i < j) that were not joined.
  HugeVector<BlockEdge> edges;
};

// Reads the edges of block nodes first .. first + n - 1 from the whole
// graph's node rows (those between two growing nodes; grows: [N] nonzero =
// grows, nullptr = all) and joins the nodes along the attractive ones
// (cost > 0) whose two ends have the same cheapest label, a stuff label (in
// the MWC every label is one). Nodes that keep such a label end up in one
// cluster anyway (the stuff rule), so this only fixes early what the
// contraction would do one edge at a time, and it never joins two instances
// of a thing label (on the benchmark it takes 30-60 % of the contractions of
// an AMWC block out of the heap, 45-75 % of an MWC block's). Thing labels
// are left to the contraction, which keeps touching instances apart.
// cheapest: [n] written with every node's smallest cost.
BlockStart block_start(const AmwcProblem &block, const Adjacency &by_node,
                       uint32_t first, const uint8_t *grows,
                       double *cheapest) {
  const uint32_t n = static_cast<uint32_t>(block.num_nodes);
  const int64_t num_labels = block.num_labels;
  const auto growing = [&](uint32_t i) {
    return grows == nullptr || grows[first + i];
  };
  // Cheapest label of every node, -1 for a thing label.
  HugeVector<int32_t> label(n);
  for (uint32_t i = 0; i < n; ++i) {
    const double *row =
        block.node_costs + static_cast<std::size_t>(i) * num_labels;
    const int32_t l = argmin(row, num_labels);
    cheapest[i] = row[l];
    const bool thing =
        block.partitionable != nullptr && block.partitionable[l];
    label[i] = thing ? -1 : l;
  }
  // Union-find; the smaller root wins, so roots are first nodes.
  BlockStart start;
  HugeVector<uint32_t> &parent = start.representative;
  parent.resize(n);
  std::iota(parent.begin(), parent.end(), 0u);
  const auto find = [&parent](uint32_t x) {
    while (parent[x] != x) x = parent[x] = parent[parent[x]];
    return x;
  };
  // Each edge inside the block is an entry of both its ends' rows: it is
  // read from its smaller end. Whether an edge joins depends on the data, so
  // it is written to both lists and the count of one of them advances
  // (a branch there is mispredicted for a third of the edges).
  const std::size_t bound =
      (by_node.start[first + n] - by_node.start[first]) / 2;
  HugeVector<BlockEdge> &kept = start.edges;
  kept.resize(bound);
  HugeVector<uint32_t> joins(2 * bound);
  std::size_t num_kept = 0, num_joins = 0;
  for (uint32_t i = 0; i < n; ++i) {
    if (!growing(i)) continue;
    const int32_t li = label[i];
    for (uint32_t k = by_node.start[first + i];
         k < by_node.start[first + i + 1]; ++k) {
      const uint32_t j = by_node.target[k] - first;  // wraps below first
      if (j <= i || j >= n || !growing(j)) continue;
      const double cost = block.edge_costs[by_node.edge[k]];
      const bool join = (li >= 0) & (label[j] == li) & (cost > 0.0);
      joins[2 * num_joins] = i;
      joins[2 * num_joins + 1] = j;
      kept[num_kept] = {i, j, cost};
      num_joins += join;
      num_kept += !join;
    }
  }
  kept.resize(num_kept);
  for (std::size_t k = 0; k < num_joins; ++k) {
    const uint32_t a = find(joins[2 * k]), b = find(joins[2 * k + 1]);
    if (a != b) parent[std::max(a, b)] = std::min(a, b);
  }
  for (uint32_t i = 0; i < n; ++i) parent[i] = parent[parent[i]];
  return start;
}

}  // namespace

int num_growth_blocks(int64_t num_nodes, int64_t num_labels) {
  if (num_nodes < kMinGrowthNodes) return 0;
  const int64_t block_nodes = std::clamp<int64_t>(
      kBlockCostBytes / (8 * std::max<int64_t>(num_labels, 1)),
      kMinBlockNodes, kBlockNodes);
  return static_cast<int>(std::max<int64_t>(num_nodes / block_nodes, 1));
}

GrownClusters grow_in_blocks(const AmwcProblem &problem,
                             const Adjacency &by_node, int num_blocks,
                             int num_threads, double *cheapest,
                             const uint8_t *grows) {
  const int64_t n = problem.num_nodes;
  GrownClusters grown;
  grown.representative.resize(n);
  std::vector<HugeVector<double>> block_costs(num_blocks);
  std::vector<GreedyContraction> contractions(
      num_workers(num_blocks, num_threads), GreedyContraction(problem));
  parallel_for_workers(num_blocks, num_threads, [&](std::size_t b,
                                                    std::size_t worker) {
    const int64_t first = n * static_cast<int64_t>(b) / num_blocks;
    const int64_t last = n * static_cast<int64_t>(b + 1) / num_blocks;
    AmwcProblem block = problem;
    block.num_nodes = last - first;
    block.node_costs = problem.node_costs + first * problem.num_labels;
    BlockStart start = block_start(
        block, by_node, static_cast<uint32_t>(first), grows, cheapest + first);
    const HugeVector<uint32_t> roots = contractions[worker].grow_block(
        block, start.edges, std::move(start.representative), block_costs[b]);
    const uint32_t offset = static_cast<uint32_t>(first);
    for (std::size_t i = 0; i < roots.size(); ++i)
      grown.representative[offset + i] = offset + roots[i];
  });
  // The blocks are consecutive ranges of nodes, so their clusters in block
  // order are in the order of their representatives.
  for (const HugeVector<double> &costs : block_costs)
    grown.costs.insert(grown.costs.end(), costs.begin(), costs.end());
  return grown;
}

}  // namespace mmcv_ops
