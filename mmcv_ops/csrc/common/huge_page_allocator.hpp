// Copyright (c) OpenMMLab. All rights reserved.
// std allocator that backs large arrays with transparent huge pages.
//
// The contraction reads its cost rows, edge records, hash table and heap at
// random; with 4 KiB pages nearly every such read also misses the TLB. Large
// blocks are therefore 2 MiB aligned and marked MADV_HUGEPAGE (Linux; other
// systems get plain aligned memory). Small blocks use std::allocator.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <memory>
#include <new>
#include <vector>

#ifdef __linux__
#include <sys/mman.h>
#endif

namespace mmcv_ops {

template <typename T>
struct HugePageAllocator {
  using value_type = T;
  static constexpr std::size_t kPage = std::size_t{2} << 20;
  static constexpr std::size_t kMinBytes = std::size_t{4} << 20;

  HugePageAllocator() = default;
  template <typename U>
  HugePageAllocator(const HugePageAllocator<U> &) {}

  T *allocate(std::size_t count) {
    const std::size_t bytes = count * sizeof(T);
    if (bytes < kMinBytes) return std::allocator<T>().allocate(count);
    const std::size_t rounded = (bytes + kPage - 1) / kPage * kPage;
    void *memory = std::aligned_alloc(kPage, rounded);
    if (memory == nullptr) throw std::bad_alloc();
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    madvise(memory, rounded, MADV_HUGEPAGE);
#endif
    return static_cast<T *>(memory);
  }

  void deallocate(T *memory, std::size_t count) {
    if (count * sizeof(T) < kMinBytes) {
      std::allocator<T>().deallocate(memory, count);
    } else {
      std::free(memory);
    }
  }
};

template <typename T, typename U>
bool operator==(const HugePageAllocator<T> &, const HugePageAllocator<U> &) {
  return true;
}

template <typename T, typename U>
bool operator!=(const HugePageAllocator<T> &, const HugePageAllocator<U> &) {
  return false;
}

// A vector whose large buffers live on huge pages.
template <typename T>
using HugeVector = std::vector<T, HugePageAllocator<T>>;

}  // namespace mmcv_ops
