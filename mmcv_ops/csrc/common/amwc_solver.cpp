// Copyright (c) OpenMMLab. All rights reserved.
#include "amwc_solver.hpp"

#include <algorithm>
#include <thread>

#include "block_growth.hpp"
#include "greedy_contraction.hpp"
#include "node_moves.hpp"
#include "parallel_for.hpp"

namespace mmcv_ops {

namespace {

// Sweeps of the node-move local search; later sweeps only visit the few
// nodes next to a move, and gains flatten out after a handful.
constexpr int kMaxMovePasses = 8;

// Cluster ids, cut flags and the objective of a labelling, following the
// AMWC rule: one cluster per stuff label, one per thing component.
AmwcSolution make_solution(const AmwcProblem &problem,
                           const std::vector<int32_t> &labels,
                           const std::vector<uint32_t> &roots) {
  const int64_t n = problem.num_nodes;
  const auto is_thing = [&](int64_t label) {
    return problem.partitionable != nullptr && problem.partitionable[label];
  };
  AmwcSolution solution;
  solution.labels.assign(labels.begin(), labels.end());
  solution.clusters.resize(n);
  std::vector<int64_t> stuff_id(problem.num_labels, -1);
  std::vector<int64_t> root_id(2 * n, -1);
  int64_t next_id = 0;
  double objective = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const int32_t label = labels[i];
    int64_t &id = is_thing(label) ? root_id[roots[i]] : stuff_id[label];
    if (id < 0) id = next_id++;
    solution.clusters[i] = id;
    objective += problem.node_costs[i * problem.num_labels + label];
  }
  solution.cut.resize(problem.num_edges);
  for (int64_t e = 0; e < problem.num_edges; ++e) {
    const int64_t i = problem.edges[2 * e], j = problem.edges[2 * e + 1];
    const bool cut = solution.clusters[i] != solution.clusters[j];
    solution.cut[e] = cut;
    if (cut) objective += problem.edge_costs[e];
  }
  solution.objective = objective;
  return solution;
}

}  // namespace

AmwcSolution solve_amwc_greedy(const AmwcProblem &problem, int num_threads) {
  std::vector<int32_t> labels;
  std::vector<uint32_t> roots;
  if (problem.num_nodes > 0) {
    {
      const int num_blocks = num_growth_blocks(problem.num_nodes);
      GreedyContraction contraction(
          problem, num_blocks > 1
                       ? grow_in_blocks(problem, num_blocks, num_threads)
                       : std::vector<uint32_t>());
      roots = contraction.run(labels);
    }
    improve_by_node_moves(problem, labels, roots, kMaxMovePasses);
  }
  return make_solution(problem, labels, roots);
}

std::vector<AmwcSolution> solve_amwc_greedy_batch(
    const std::vector<AmwcProblem> &problems, int num_threads) {
  if (num_threads <= 0)
    num_threads = static_cast<int>(
        std::max(1u, std::thread::hardware_concurrency()));
  // Instances run side by side; the threads beyond one per instance go to
  // the block phase inside them, so at most num_threads run at once.
  const int inner = std::max<int>(
      1, num_threads / static_cast<int>(std::max<std::size_t>(
                           problems.size(), 1)));
  std::vector<AmwcSolution> solutions(problems.size());
  parallel_for(problems.size(), num_threads, [&](std::size_t k) {
    solutions[k] = solve_amwc_greedy(problems[k], inner);
  });
  return solutions;
}

}  // namespace mmcv_ops
