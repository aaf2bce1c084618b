// Copyright (c) OpenMMLab. All rights reserved.
// Edge lists grouped by node (compressed sparse rows), built by a counting
// sort of the input edges: two linear passes, no hashing, and the entries of
// a node sit next to each other in memory.
#pragma once

#include <cstdint>
#include <numeric>
#include <vector>

#include "amwc_solver.hpp"
#include "huge_page_allocator.hpp"

namespace mmcv_ops {

// The entries of row r are target[k], edge[k] for k in start[r]..start[r+1].
struct Adjacency {
  HugeVector<uint32_t> start;   // [num_rows + 1]
  HugeVector<uint32_t> target;  // [entries] the other end
  HugeVector<uint32_t> edge;    // [entries] the input edge id
};

// Sorts the entries that emit(e, add) produces for every input edge
// e < num_edges into num_rows rows; emit calls add(row, target) once per
// entry of e (zero, one or two times), the same way in both passes.
template <typename Emit>
Adjacency build_adjacency(std::size_t num_rows, int64_t num_edges,
                          const Emit &emit) {
  Adjacency adjacency;
  HugeVector<uint32_t> &start = adjacency.start;
  start.assign(num_rows + 1, 0);
  for (int64_t e = 0; e < num_edges; ++e)
    emit(e, [&](uint32_t row, uint32_t) { ++start[row + 1]; });
  std::partial_sum(start.begin(), start.end(), start.begin());
  adjacency.target.resize(start[num_rows]);
  adjacency.edge.resize(start[num_rows]);
  HugeVector<uint32_t> cursor(start.begin(), start.end() - 1);
  for (int64_t e = 0; e < num_edges; ++e) {
    emit(e, [&](uint32_t row, uint32_t target) {
      const uint32_t slot = cursor[row]++;
      adjacency.target[slot] = target;
      adjacency.edge[slot] = static_cast<uint32_t>(e);
    });
  }
  return adjacency;
}

// Both directions of every input edge of the problem (parallel edges stay
// separate entries).
inline Adjacency node_adjacency(const AmwcProblem &problem) {
  return build_adjacency(
      static_cast<std::size_t>(problem.num_nodes), problem.num_edges,
      [&](int64_t e, auto add) {
        const uint32_t i = static_cast<uint32_t>(problem.edges[2 * e]);
        const uint32_t j = static_cast<uint32_t>(problem.edges[2 * e + 1]);
        add(i, j);
        add(j, i);
      });
}

}  // namespace mmcv_ops
