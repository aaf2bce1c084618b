// Copyright (c) OpenMMLab. All rights reserved.
// Runs independent tasks 0..count-1 on a few threads.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <exception>
#include <thread>
#include <vector>

namespace mmcv_ops {

// The number of threads parallel_for uses.
inline std::size_t num_workers(std::size_t count, int num_threads) {
  return std::min(count, static_cast<std::size_t>(std::max(num_threads, 1)));
}

// Calls task(k, worker) for every k in [0, count) on
// num_workers(count, num_threads) threads (the calling thread is worker 0),
// each taking the next unclaimed k, and rethrows the first exception by task
// index. Tasks must be independent, so the results do not depend on the
// thread count; worker < num_workers indexes per-thread scratch space.
template <typename Task>
void parallel_for_workers(std::size_t count, int num_threads,
                          const Task &task) {
  const std::size_t workers = num_workers(count, num_threads);
  std::atomic<std::size_t> next{0};
  std::vector<std::exception_ptr> errors(count);
  const auto work = [&](std::size_t worker) {
    for (std::size_t k = next++; k < count; k = next++) {
      try {
        task(k, worker);
      } catch (...) {
        errors[k] = std::current_exception();
      }
    }
  };
  std::vector<std::thread> threads;
  for (std::size_t t = 1; t < workers; ++t) threads.emplace_back(work, t);
  work(0);
  for (std::thread &thread : threads) thread.join();
  for (const std::exception_ptr &error : errors) {
    if (error) std::rethrow_exception(error);
  }
}

// Calls task(k) for every k in [0, count); see parallel_for_workers.
template <typename Task>
void parallel_for(std::size_t count, int num_threads, const Task &task) {
  parallel_for_workers(count, num_threads,
                       [&](std::size_t k, std::size_t) { task(k); });
}

}  // namespace mmcv_ops
