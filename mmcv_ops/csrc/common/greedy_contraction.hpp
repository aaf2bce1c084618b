// Copyright (c) OpenMMLab. All rights reserved.
// Greedy edge contraction for the asymmetric multiway cut, in two phases.
//
// A cluster X has summed node costs C_X(l) and a label. Both phases contract
// the edge whose contraction lowers the objective most, taken from a binary
// heap with lazy re-evaluation: an entry is live while its gain matches the
// one recorded for its edge, and a popped entry is applied only if its exact
// current gain is still at least as good as the next entry's; otherwise it
// is re-queued with that gain. Heap keys hold the gain as float32 (ordering
// only); every decision uses the exact float64 gain.
//
// Phase 1 (growth) treats every cluster as its own segment, so the gain of
// contracting A, B is  min_l [C_A(l) + C_B(l)] - C_A(l_A) - C_B(l_B) - w_AB.
// Clusters grow from single nodes and their labels become reliable, which a
// stuff rule applied to single noisy nodes would prevent.
//
// Phase 2 (stuff rule) joins adjacent clusters of the same stuff label, which
// makes every remaining inter-cluster edge cut, and keeps that invariant: a
// contraction or relabelling that gives a cluster stuff label s also absorbs
// its neighbours labelled s, and its gain counts their edges, which stop
// being cut. Gains are exact for the AMWC objective in this phase.
//
// Phase 1 may start from a given clustering instead of single nodes (the
// result of growing clusters in blocks of nodes, see block_growth.hpp).
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "adjacency.hpp"
#include "amwc_solver.hpp"
#include "edge_hash_map.hpp"
#include "edge_lists.hpp"
#include "huge_page_allocator.hpp"
#include "quad_heap.hpp"

namespace mmcv_ops {

// An edge of a block's graph: two block nodes and the summed cost of the
// input edges between them (block_growth.cpp gathers them).
struct BlockEdge {
  uint32_t i, j;
  double cost;
};

class GreedyContraction {
 public:
  // start: [N] representative of every node's initial cluster (a node that
  // represents itself is one); empty = every node alone. start_costs: [K, L]
  // the start clusters' summed costs in the order of their representatives
  // (what grow_block gives), or empty: summed here from the node costs.
  explicit GreedyContraction(const AmwcProblem &problem,
                             HugeVector<uint32_t> start = {},
                             HugeVector<double> start_costs = {});

  // Runs phase 1 on a block of nodes, reusing this object's buffers (blocks
  // in a row then allocate and page in their arrays once): block's nodes
  // (node_costs, num_nodes) are the block's, the labels the same as the
  // problem's, its edges are edges (block indices; those inside one start
  // cluster are ignored); start: [block's N] representative of every node's
  // start cluster (block indices).
  // Returns the representatives and appends the summed costs of the grown
  // clusters, in the order of their representatives, to costs.
  HugeVector<uint32_t> grow_block(const AmwcProblem &block,
                                   const HugeVector<BlockEdge> &edges,
                                   HugeVector<uint32_t> start,
                                   HugeVector<double> &costs);

  // Runs both phases; returns the cluster representative of every node and
  // fills labels with the node labels.
  HugeVector<uint32_t> run(HugeVector<int32_t> &labels);

 private:
  // An edge between two clusters; 16 bytes, so records never straddle a
  // cache line.
  struct Edge {
    uint32_t u, v;  // current cluster ends
    double cost;    // summed cost of the input edges between them
  };
  struct Move {
    double gain;
    int32_t label;
    bool absorb;  // also contract the clusters in absorb_
  };

  void number_clusters();
  void build_graph();
  void gather_edges_sorted();
  void gather_edges_hashed();
  uint32_t find(uint32_t cluster);
  HugeVector<uint32_t> roots();
  uint32_t other_end(uint32_t edge, uint32_t cluster) const {
    return edges_[edge].u == cluster ? edges_[edge].v : edges_[edge].u;
  }
  const double *row(uint32_t cluster) const {
    return costs_.data() + static_cast<std::size_t>(cluster) * num_labels_;
  }
  double *row(uint32_t cluster) {
    return costs_.data() + static_cast<std::size_t>(cluster) * num_labels_;
  }
  // The cluster's edge list with dead edges dropped: its ids and count.
  std::pair<const uint32_t *, uint32_t> live_edges(uint32_t cluster);
  bool alive(uint32_t edge) const;

  double edge_gain(uint32_t edge) const;
  void push(uint32_t edge, double gain);
  void update(uint32_t edge);
  void kill(uint32_t edge);
  void push_all();
  bool is_live(uint64_t key) const;
  bool pop(uint32_t &edge);
  void contract_greedily();

  Move best_move(uint32_t a, uint32_t b, const double *summed, double base);
  uint32_t merge(uint32_t x, uint32_t y, int32_t label);
  void apply(uint32_t a, uint32_t b, const Move &move);
  void join_stuff_neighbours();
  bool relabel_pass();

  int64_t num_nodes_;
  int64_t num_labels_;
  const AmwcProblem *problem_;
  const HugeVector<BlockEdge> *block_edges_ = nullptr;
  HugeVector<uint8_t> is_thing_;
  bool stuff_rule_ = false;  // phase 2

  // Clusters are numbered 0..K-1 from the start clusters; a contraction
  // keeps one id, and a union-find forest over the ids tracks the rest.
  HugeVector<uint32_t> cluster_of_;  // [N] start cluster of every node
  HugeVector<uint32_t> first_node_;  // [K] its representative node
  uint32_t num_clusters_ = 0;         // K
  HugeVector<double> costs_;      // [K, L] summed costs per cluster root
  HugeVector<int32_t> label_;    // [K] label per cluster root
  HugeVector<uint32_t> parent_;  // [K] union-find forest
  EdgeLists adjacency_;  // edge ids per cluster

  HugeVector<Edge> edges_;
  // Per edge: gain bits of its live heap entry, kNotQueued, or kDead once
  // contracted away. Kept apart from edges_ so that heap pops touch 4 bytes.
  HugeVector<uint32_t> queued_;
  std::size_t num_alive_ = 0;
  EdgeHashMap edge_map_;  // cluster pair -> edge, may hold stale pairs

  QuadHeap heap_;
  std::size_t stale_ = 0;  // heap entries that are no longer live
  HugeVector<uint32_t> absorb_;   // neighbours joined by the current move
  HugeVector<uint32_t> changed_;  // edges whose cost or ends changed
  HugeVector<double> summed_;     // [L] costs of a candidate union
  HugeVector<double> scratch_;    // [L] zero between uses
};

}  // namespace mmcv_ops
