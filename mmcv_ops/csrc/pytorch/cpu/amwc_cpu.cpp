// Copyright (c) OpenMMLab. All rights reserved.
// CPU implementation of the AMWC solver op: one pass of value checks (finite
// costs, valid edges; they also guard memory safety), then the plain C++
// solver (csrc/common) on a thread pool.
#include <ATen/ops/empty.h>
#include <c10/core/ScalarType.h>
#include <c10/util/Exception.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

#include "amwc_solver.hpp"
#include "pytorch/amwc_torch.hpp"

namespace {

// The checks first test all values without a branch per value (the loops
// vectorise), and look for the first bad value only to name it
// (docs/solver.md: about 40 % less time than the branching loops).

// x - x is +0 for every finite x and NaN for an infinity or a NaN, so the OR
// of the differences' bits is zero exactly when all values are finite; a
// loop over std::isfinite does not vectorise.
template <typename Float>
bool all_finite(const Float *values, int64_t count) {
  using Bits = std::conditional_t<sizeof(Float) == 8, uint64_t, uint32_t>;
  static_assert(sizeof(Float) == sizeof(Bits));
  Bits bits = 0;
  for (int64_t k = 0; k < count; ++k) {
    const Float difference = values[k] - values[k];
    Bits word;
    std::memcpy(&word, &difference, sizeof(word));
    bits |= word;
  }
  return bits == 0;
}

// Costs are checked in their own type, before any conversion: a float32
// tensor (a network's output) is half the bytes of its float64 copy.
bool all_finite(const at::Tensor &costs) {
  if (costs.scalar_type() == at::kFloat)
    return all_finite(costs.data_ptr<float>(), costs.numel());
  return all_finite(costs.data_ptr<double>(), costs.numel());
}

// Checks the edges in their own integer type, before any conversion: one
// unsigned comparison per index covers both bounds (a negative index becomes
// a large unsigned one).
template <typename Index>
void check_edge_values(const Index *edges, int64_t num_edges, int64_t n,
                       std::size_t index) {
  using Unsigned = std::make_unsigned_t<Index>;
  // Every non-negative Index is a valid node when n exceeds Index's range.
  const Unsigned bound =
      n > std::numeric_limits<Index>::max()
          ? static_cast<Unsigned>(std::numeric_limits<Index>::max()) + 1
          : static_cast<Unsigned>(n);
  bool valid = true;
  for (int64_t e = 0; e < num_edges; ++e) {
    const Index i = edges[2 * e], j = edges[2 * e + 1];
    valid &= (static_cast<Unsigned>(i) < bound) &
             (static_cast<Unsigned>(j) < bound) & (i != j);
  }
  for (int64_t e = 0; !valid && e < num_edges; ++e) {
    const int64_t i = edges[2 * e], j = edges[2 * e + 1];
    TORCH_CHECK_VALUE(0 <= i && i < n && 0 <= j && j < n,
                      "edges must hold node indices in [0, ", n, "), edge ",
                      e, " is (", i, ", ", j, ") (instance ", index, ")");
    TORCH_CHECK_VALUE(i != j, "edges must not contain self-loops, edge ", e,
                      " joins node ", i, " to itself (instance ", index, ")");
  }
}

void check_edges(const at::Tensor &edges, int64_t n, std::size_t index) {
  if (edges.scalar_type() == at::kInt) {
    check_edge_values(edges.data_ptr<int32_t>(), edges.size(0), n, index);
  } else {
    check_edge_values(edges.data_ptr<int64_t>(), edges.size(0), n, index);
  }
}

// Checks a warm start's labels (and clusters, if given).
void check_start(const mmcv_ops::AmwcProblem &problem, std::size_t index) {
  const int64_t n = problem.num_nodes;
  if (problem.initial_labels == nullptr) return;
  // -1 .. L - 1 is 0 .. L in unsigned arithmetic (which wraps, signed
  // overflows).
  bool valid = true;
  for (int64_t i = 0; i < n; ++i) {
    valid &= static_cast<uint64_t>(problem.initial_labels[i]) + 1 <=
             static_cast<uint64_t>(problem.num_labels);
  }
  for (int64_t i = 0; !valid && i < n; ++i) {
    const int64_t label = problem.initial_labels[i];
    TORCH_CHECK_VALUE(-1 <= label && label < problem.num_labels,
                      "initial_labels must hold labels in [0, ",
                      problem.num_labels, ") or -1, node ", i, " has ", label,
                      " (instance ", index, ")");
  }
  if (problem.initial_clusters == nullptr) return;
  std::vector<int64_t> cluster_label(n, -1);
  for (int64_t i = 0; i < n; ++i) {
    if (problem.initial_labels[i] < 0) continue;
    const int64_t cluster = problem.initial_clusters[i];
    TORCH_CHECK_VALUE(0 <= cluster && cluster < n,
                      "initial_clusters must hold cluster ids in [0, ", n,
                      "), node ", i, " has ", cluster, " (instance ", index,
                      ")");
    int64_t &label = cluster_label[cluster];
    if (label < 0) label = problem.initial_labels[i];
    TORCH_CHECK_VALUE(label == problem.initial_labels[i],
                      "initial_clusters must give all nodes of a cluster one "
                      "label, cluster ", cluster, " has labels ", label,
                      " and ", problem.initial_labels[i], " (instance ",
                      index, ")");
  }
}

// The tensor's data as Out, converted into buffer unless it already is Out
// (a plain loop: torch's threaded conversion is slow on a busy machine). The
// buffers come from the solver's cache of large blocks, so converting the
// same sizes call after call takes no fresh pages (int32 edges of the
// 256 x 512 grid: 1.8 -> 0.4 ms more than int64 ones).
template <typename Out, typename Other>
const Out *data_as(const at::Tensor &tensor,
                   mmcv_ops::HugeVector<Out> &buffer) {
  if (tensor.scalar_type() == c10::CppTypeToScalarType<Out>::value)
    return tensor.data_ptr<Out>();
  const Other *data = tensor.data_ptr<Other>();
  buffer.assign(data, data + tensor.numel());
  return buffer.data();
}

// The first of tensors[0..k] that is tensors[k] (the same data, type and
// shape): k unless an earlier instance was given the same tensor.
std::size_t first_same(const std::vector<at::Tensor> &tensors,
                       std::size_t k) {
  const at::Tensor &tensor = tensors[k];
  return std::find_if(tensors.begin(), tensors.begin() + k,
                      [&](const at::Tensor &other) {
                        return other.data_ptr() == tensor.data_ptr() &&
                               other.scalar_type() == tensor.scalar_type() &&
                               other.sizes() == tensor.sizes();
                      }) -
         tensors.begin();
}

at::Tensor to_tensor(const mmcv_ops::HugeVector<int64_t> &values) {
  at::Tensor out = at::empty({static_cast<int64_t>(values.size())}, at::kLong);
  std::memcpy(out.data_ptr<int64_t>(), values.data(),
              values.size() * sizeof(int64_t));
  return out;
}

}  // namespace

std::vector<AmwcResultTuple> solve_amwc_batch_cpu(
    const std::vector<at::Tensor> &node_costs,
    const std::vector<at::Tensor> &edges,
    const std::vector<at::Tensor> &edge_costs,
    const std::vector<at::Tensor> &partitionable,
    const std::vector<std::optional<at::Tensor>> &initial_labels,
    const std::vector<std::optional<at::Tensor>> &initial_clusters,
    int64_t num_threads) {
  const std::size_t count = node_costs.size();
  std::vector<mmcv_ops::AmwcProblem> problems(count);
  std::vector<mmcv_ops::HugeVector<double>> node_buffers(count);
  std::vector<mmcv_ops::HugeVector<double>> edge_cost_buffers(count);
  std::vector<mmcv_ops::HugeVector<int64_t>> edge_buffers(count);
  std::vector<mmcv_ops::HugeVector<int64_t>> label_buffers(count);
  std::vector<mmcv_ops::HugeVector<int64_t>> cluster_buffers(count);
  for (std::size_t k = 0; k < count; ++k) {
    mmcv_ops::AmwcProblem &problem = problems[k];
    problem.num_nodes = node_costs[k].size(0);
    problem.num_labels = node_costs[k].size(1);
    TORCH_CHECK_VALUE(all_finite(node_costs[k]),
                      "node_costs must be finite (instance ", k, ")");
    problem.node_costs = data_as<double, float>(node_costs[k], node_buffers[k]);
    problem.num_edges = edges[k].size(0);
    // Instances given one edges tensor (one graph) share its conversion and
    // its check, and the solver then builds its adjacency once; so do
    // instances given one edge costs tensor (the backward's perturbed
    // copies of an image) for its conversion and check.
    const std::size_t same = first_same(edges, k);
    if (same == k || problems[same].num_nodes != problem.num_nodes)
      check_edges(edges[k], problem.num_nodes, k);
    if (same < k) {
      problem.edges = problems[same].edges;
    } else {
      problem.edges = data_as<int64_t, int32_t>(edges[k], edge_buffers[k]);
    }
    const std::size_t same_costs = first_same(edge_costs, k);
    TORCH_CHECK_VALUE(same_costs < k || all_finite(edge_costs[k]),
                      "edge_costs must be finite (instance ", k, ")");
    problem.edge_costs =
        same_costs < k ? problems[same_costs].edge_costs
                       : data_as<double, float>(edge_costs[k],
                                                edge_cost_buffers[k]);
    problem.partitionable = partitionable[k].data_ptr<bool>();
    if (initial_labels[k].has_value()) {
      problem.initial_labels =
          data_as<int64_t, int32_t>(*initial_labels[k], label_buffers[k]);
    }
    if (initial_clusters[k].has_value()) {
      problem.initial_clusters =
          data_as<int64_t, int32_t>(*initial_clusters[k], cluster_buffers[k]);
    }
    check_start(problem, k);
  }
  std::vector<mmcv_ops::AmwcSolution> solutions =
      mmcv_ops::solve_amwc_greedy_batch(problems,
                                        static_cast<int>(num_threads));
  std::vector<AmwcResultTuple> results;
  results.reserve(solutions.size());
  for (const mmcv_ops::AmwcSolution &solution : solutions) {
    at::Tensor cut =
        at::empty({static_cast<int64_t>(solution.cut.size())}, at::kBool);
    std::memcpy(cut.data_ptr<bool>(), solution.cut.data(), solution.cut.size());
    results.emplace_back(to_tensor(solution.labels),
                         to_tensor(solution.clusters), cut,
                         solution.objective);
  }
  return results;
}
