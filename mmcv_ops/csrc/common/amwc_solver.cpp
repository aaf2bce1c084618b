// Copyright (c) OpenMMLab. All rights reserved.
#include "amwc_solver.hpp"

#include <algorithm>
#include <thread>
#include <utility>

#include "adjacency.hpp"
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
                           const HugeVector<int32_t> &labels,
                           const HugeVector<uint32_t> &roots) {
  const int64_t n = problem.num_nodes;
  const auto is_thing = [&](int64_t label) {
    return problem.partitionable != nullptr && problem.partitionable[label];
  };
  AmwcSolution solution;
  solution.labels.assign(labels.begin(), labels.end());
  solution.clusters.resize(n);
  HugeVector<int64_t> stuff_id(problem.num_labels, -1);
  HugeVector<int64_t> root_id(2 * n, -1);
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

// [N] representative of every node's initial cluster: the first node of its
// cluster (problem.initial_clusters) or of its label (without clusters); a
// node with initial label -1 starts alone.
HugeVector<uint32_t> initial_partition(const AmwcProblem &problem) {
  const int64_t n = problem.num_nodes;
  const int64_t *ids = problem.initial_clusters != nullptr
                           ? problem.initial_clusters
                           : problem.initial_labels;
  const int64_t id_space =
      problem.initial_clusters != nullptr ? n : problem.num_labels;
  HugeVector<uint32_t> first(id_space, 0xffffffffu);
  HugeVector<uint32_t> representative(n);
  for (int64_t i = 0; i < n; ++i) {
    representative[i] = static_cast<uint32_t>(i);
    if (problem.initial_labels[i] < 0) continue;
    uint32_t &head = first[ids[i]];
    if (head == 0xffffffffu) head = static_cast<uint32_t>(i);
    representative[i] = head;
  }
  return representative;
}

// Where the contraction starts, and what the blocks computed on the way.
// An empty array is computed where it is needed (costs, cheapest) or means
// every node (representative: alone; first_sweep: visited).
struct Start {
  HugeVector<uint32_t> representative;  // [N]
  HugeVector<double> costs;  // [K, L] summed costs of the start clusters
  HugeVector<double> cheapest;      // [N] every node's smallest cost
  HugeVector<uint8_t> first_sweep;  // [N] a warm start's marked nodes
};

// Cold: clusters grown in blocks (see num_growth_blocks) or, on small
// problems, single nodes. Warm:
// the initial solution's clusters, the marked nodes alone. These are the
// nodes whose costs moved; the node moves' first sweep visits them and their
// neighbours in another segment. The other nodes keep their costs' standing
// against their old label and the neighbours that hold them, so a move has
// no new reason to take them elsewhere until a neighbour moves (the sweeps
// then visit them). Visiting all N nodes made the node moves 2.2 of 5.2 ms
// of a warm solve of a 128 x 256 grid with 1 % of its nodes marked; visiting
// all the marked nodes' neighbours (17 % of the nodes there) cost 30 % more
// than the marked nodes alone, which missed nodes whose marked neighbours
// had all left.
Start start_clusters(const AmwcProblem &problem, const Adjacency &by_node,
                     int num_threads) {
  const int64_t n = problem.num_nodes;
  const int num_blocks = num_growth_blocks(n, problem.num_labels);
  Start start;
  if (problem.initial_labels == nullptr) {
    if (num_blocks == 0) return start;
    start.cheapest.resize(n);
    GrownClusters grown = grow_in_blocks(problem, by_node, num_blocks,
                                         num_threads, start.cheapest.data());
    start.representative = std::move(grown.representative);
    start.costs = std::move(grown.costs);
    return start;
  }
  start.representative = initial_partition(problem);
  HugeVector<uint8_t> &alone = start.first_sweep;
  alone.resize(n);
  int64_t num_alone = 0;
  for (int64_t i = 0; i < n; ++i)
    num_alone += alone[i] = problem.initial_labels[i] < 0;
  // When most nodes start alone (a strong perturbation), they grow their
  // first clusters in blocks as in a cold solve; a few are better contracted
  // together with the clusters around them.
  if (num_blocks > 0 && 2 * num_alone > n) {
    start.cheapest.resize(n);
    const HugeVector<uint32_t> grown =
        grow_in_blocks(problem, by_node, num_blocks, num_threads,
                       start.cheapest.data(), alone.data())
            .representative;
    for (int64_t i = 0; i < n; ++i) {
      if (alone[i]) start.representative[i] = grown[i];
    }
  }
  return start;
}

// by_node: node_adjacency(problem), the blocks' edge lists and the node
// moves' neighbourhoods.
AmwcSolution solve(const AmwcProblem &problem, const Adjacency &by_node,
                   int num_threads) {
  HugeVector<int32_t> labels;
  HugeVector<uint32_t> roots;
  if (problem.num_nodes > 0) {
    Start start = start_clusters(problem, by_node, num_threads);
    roots = GreedyContraction(problem, std::move(start.representative),
                              std::move(start.costs))
                .run(labels);
    const auto data_or_null = [](const auto &values) {
      return values.empty() ? nullptr : values.data();
    };
    improve_by_node_moves(problem, by_node, labels, roots, kMaxMovePasses,
                          data_or_null(start.first_sweep),
                          data_or_null(start.cheapest));
  }
  AmwcSolution solution = make_solution(problem, labels, roots);
  const int64_t *initial = problem.initial_labels;
  if (initial != nullptr &&
      std::none_of(initial, initial + problem.num_nodes,
                   [](int64_t label) { return label < 0; })) {
    // Never worse than a complete solution it started from.
    const int64_t *ids = problem.initial_clusters != nullptr
                             ? problem.initial_clusters
                             : initial;
    AmwcSolution start = make_solution(
        problem, HugeVector<int32_t>(initial, initial + problem.num_nodes),
        HugeVector<uint32_t>(ids, ids + problem.num_nodes));
    if (start.objective < solution.objective) return start;
  }
  return solution;
}

}  // namespace

AmwcSolution solve_amwc_greedy(const AmwcProblem &problem, int num_threads) {
  return solve(problem, node_adjacency(problem), num_threads);
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
  // Instances on one graph (the images of a batch, the perturbed copies of
  // the backward) share its node adjacency, built once (a quarter of a
  // warm-started solve); an instance alone on its graph builds its own
  // while it runs, so that no more adjacencies than threads are held.
  std::vector<std::size_t> graph(problems.size());
  std::vector<std::size_t> first_of_graph, instances;
  for (std::size_t k = 0; k < problems.size(); ++k) {
    const AmwcProblem &p = problems[k];
    graph[k] = first_of_graph.size();
    for (std::size_t g = 0; g < first_of_graph.size(); ++g) {
      const AmwcProblem &q = problems[first_of_graph[g]];
      if (p.edges == q.edges && p.num_edges == q.num_edges &&
          p.num_nodes == q.num_nodes) {
        graph[k] = g;
        break;
      }
    }
    if (graph[k] == first_of_graph.size()) {
      first_of_graph.push_back(k);
      instances.push_back(0);
    }
    ++instances[graph[k]];
  }
  std::vector<Adjacency> shared(first_of_graph.size());
  parallel_for(first_of_graph.size(), num_threads, [&](std::size_t g) {
    if (instances[g] > 1)
      shared[g] = node_adjacency(problems[first_of_graph[g]]);
  });
  std::vector<AmwcSolution> solutions(problems.size());
  parallel_for(problems.size(), num_threads, [&](std::size_t k) {
    const std::size_t g = graph[k];
    solutions[k] = instances[g] > 1
                       ? solve(problems[k], shared[g], inner)
                       : solve(problems[k], node_adjacency(problems[k]),
                               inner);
  });
  return solutions;
}

}  // namespace mmcv_ops
