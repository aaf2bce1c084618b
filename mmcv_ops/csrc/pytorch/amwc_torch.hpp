// Copyright (c) OpenMMLab. All rights reserved.
// Torch-facing declarations of the AMWC solver op (see csrc/pytorch).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <optional>
#include <tuple>
#include <vector>

// (labels [N] int64, clusters [N] int64, cut [E] bool, objective)
using AmwcResultTuple = std::tuple<at::Tensor, at::Tensor, at::Tensor, double>;

// Checks the instances and solves them on num_threads threads (<= 0: all
// cores). Every list has one contiguous CPU tensor per instance: node_costs
// [N, L] float32/64, edges [E, 2] int32/64, edge_costs [E] float32/64,
// partitionable [L] bool; and optionally a solution to start from:
// initial_labels [N] and initial_clusters [N] int32/64 (see AmwcProblem).
std::vector<AmwcResultTuple> solve_amwc_batch(
    const std::vector<at::Tensor> &node_costs,
    const std::vector<at::Tensor> &edges,
    const std::vector<at::Tensor> &edge_costs,
    const std::vector<at::Tensor> &partitionable,
    const std::vector<std::optional<at::Tensor>> &initial_labels,
    const std::vector<std::optional<at::Tensor>> &initial_clusters,
    int64_t num_threads);

std::vector<AmwcResultTuple> solve_amwc_batch_cpu(
    const std::vector<at::Tensor> &node_costs,
    const std::vector<at::Tensor> &edges,
    const std::vector<at::Tensor> &edge_costs,
    const std::vector<at::Tensor> &partitionable,
    const std::vector<std::optional<at::Tensor>> &initial_labels,
    const std::vector<std::optional<at::Tensor>> &initial_clusters,
    int64_t num_threads);
