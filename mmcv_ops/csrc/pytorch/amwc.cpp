// Copyright (c) OpenMMLab. All rights reserved.
// Dispatch of the AMWC solver op: input checks, then the device
// implementation. The Python wrapper (mmcv_ops/amwc.py) gives friendlier
// errors first; these checks keep a direct call from crashing.
#include <c10/util/Exception.h>

#include <optional>
#include <string>

#include "pytorch/amwc_torch.hpp"

namespace {

void check_instance(const at::Tensor &node_costs, const at::Tensor &edges,
                    const at::Tensor &edge_costs,
                    const at::Tensor &partitionable, std::size_t index) {
  const std::string where = " (instance " + std::to_string(index) + ")";
  const auto is_float = [](const at::Tensor &t) {
    return t.scalar_type() == at::kDouble || t.scalar_type() == at::kFloat;
  };
  TORCH_CHECK_TYPE(is_float(node_costs), "node_costs must be float32 or "
                   "float64", where);
  TORCH_CHECK_TYPE(
      edges.scalar_type() == at::kLong || edges.scalar_type() == at::kInt,
      "edges must be int32 or int64", where);
  TORCH_CHECK_TYPE(is_float(edge_costs), "edge_costs must be float32 or "
                   "float64", where);
  TORCH_CHECK_TYPE(partitionable.scalar_type() == at::kBool,
                   "partitionable must be bool", where);
  TORCH_CHECK_VALUE(node_costs.dim() == 2 && node_costs.size(1) > 0,
                    "node_costs must have shape [N, L] with L >= 1, got ",
                    node_costs.sizes(), where);
  TORCH_CHECK_VALUE(node_costs.size(0) < (int64_t{1} << 31),
                    "node_costs has too many nodes", where);
  TORCH_CHECK_VALUE(edges.dim() == 2 && edges.size(1) == 2,
                    "edges must have shape [E, 2], got ", edges.sizes(),
                    where);
  TORCH_CHECK_VALUE(edges.size(0) < (int64_t{1} << 31) - 1,
                    "edges has too many edges", where);
  TORCH_CHECK_VALUE(
      edge_costs.dim() == 1 && edge_costs.size(0) == edges.size(0),
      "edge_costs must have shape [E] = [", edges.size(0), "], got ",
      edge_costs.sizes(), where);
  TORCH_CHECK_VALUE(
      partitionable.dim() == 1 && partitionable.size(0) == node_costs.size(1),
      "partitionable must have shape [L] = [", node_costs.size(1), "], got ",
      partitionable.sizes(), where);
  for (const at::Tensor *tensor :
       {&node_costs, &edges, &edge_costs, &partitionable}) {
    TORCH_CHECK_VALUE(tensor->device().is_cpu() && tensor->is_contiguous(),
                      "solver inputs must be contiguous CPU tensors", where);
  }
}

void check_initial(const std::optional<at::Tensor> &initial, const char *name,
                   int64_t num_nodes, std::size_t index) {
  if (!initial.has_value()) return;
  const at::Tensor &tensor = *initial;
  TORCH_CHECK_TYPE(
      tensor.scalar_type() == at::kLong || tensor.scalar_type() == at::kInt,
      name, " must be int32 or int64 (instance ", index, ")");
  TORCH_CHECK_VALUE(tensor.dim() == 1 && tensor.size(0) == num_nodes, name,
                    " must have shape [N] = [", num_nodes, "], got ",
                    tensor.sizes(), " (instance ", index, ")");
  TORCH_CHECK_VALUE(tensor.device().is_cpu() && tensor.is_contiguous(), name,
                    " must be a contiguous CPU tensor (instance ", index, ")");
}

}  // namespace

std::vector<AmwcResultTuple> solve_amwc_batch(
    const std::vector<at::Tensor> &node_costs,
    const std::vector<at::Tensor> &edges,
    const std::vector<at::Tensor> &edge_costs,
    const std::vector<at::Tensor> &partitionable,
    const std::vector<std::optional<at::Tensor>> &initial_labels,
    const std::vector<std::optional<at::Tensor>> &initial_clusters,
    int64_t num_threads) {
  const std::size_t count = node_costs.size();
  TORCH_CHECK_VALUE(edges.size() == count && edge_costs.size() == count &&
                        partitionable.size() == count &&
                        initial_labels.size() == count &&
                        initial_clusters.size() == count,
                    "node_costs, edges, edge_costs, partitionable, "
                    "initial_labels and initial_clusters must have the same "
                    "number of instances, got ", count, ", ", edges.size(),
                    ", ", edge_costs.size(), ", ", partitionable.size(), ", ",
                    initial_labels.size(), " and ", initial_clusters.size());
  for (std::size_t k = 0; k < count; ++k) {
    check_instance(node_costs[k], edges[k], edge_costs[k], partitionable[k], k);
    TORCH_CHECK_VALUE(
        initial_labels[k].has_value() || !initial_clusters[k].has_value(),
        "initial_clusters needs initial_labels (instance ", k, ")");
    check_initial(initial_labels[k], "initial_labels", node_costs[k].size(0),
                  k);
    check_initial(initial_clusters[k], "initial_clusters",
                  node_costs[k].size(0), k);
  }
  return solve_amwc_batch_cpu(node_costs, edges, edge_costs, partitionable,
                              initial_labels, initial_clusters, num_threads);
}
