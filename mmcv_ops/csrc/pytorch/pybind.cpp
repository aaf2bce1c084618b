// Copyright (c) OpenMMLab. All rights reserved.
#include <torch/extension.h>

#include "pytorch/amwc_torch.hpp"

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("solve_amwc_batch", &solve_amwc_batch,
        "Greedy AMWC solver over a list of instances on a thread pool",
        py::arg("node_costs"), py::arg("edges"), py::arg("edge_costs"),
        py::arg("partitionable"), py::arg("initial_labels"),
        py::arg("initial_clusters"), py::arg("num_threads"),
        py::call_guard<py::gil_scoped_release>());
}
