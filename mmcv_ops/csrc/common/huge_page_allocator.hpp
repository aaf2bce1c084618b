// Copyright (c) OpenMMLab. All rights reserved.
// std allocator for the solver's large arrays: huge pages, and reuse of the
// buffers of earlier solves.
//
// The contraction reads its cost rows, edge records, hash table and heap at
// random; with 4 KiB pages nearly every such read also misses the TLB. Very
// large blocks are therefore 2 MiB aligned and marked MADV_HUGEPAGE (Linux;
// other systems get plain aligned memory).
//
// A training step solves problems of the same sizes again and again. Blocks
// of 64 KiB and more come from the C library's mmap path, so every solve
// would take fresh pages from the kernel, each costing a page fault and a
// zeroing: 10-13 % of a solve of the 128 x 256 and 160 x 160 benchmark
// grids. Freed blocks are therefore kept in a small process-wide cache
// (BlockCache) and handed to the next request of about their size. Small
// blocks use std::allocator.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <new>
#include <utility>
#include <vector>

#ifdef __linux__
#include <sys/mman.h>
#endif

namespace mmcv_ops {

// Freed large blocks, at most kMaxBlocks of them and kMaxBytes in all (solves
// of the 256 x 512 benchmark grid with 19 labels, a Cityscapes image at 1/4
// resolution, leave 48 MiB in 25 blocks). Thread-safe: the instances of a
// batch are solved side by side.
class BlockCache {
 public:
  static constexpr std::size_t kMaxBlocks = 64;
  static constexpr std::size_t kMaxBytes = std::size_t{256} << 20;

  static BlockCache &instance() {
    static BlockCache *cache = new BlockCache();  // never destroyed: blocks
    return *cache;                                // may be freed at exit
  }

  // A cached block of bytes..2*bytes bytes (the smallest such), or nullptr.
  void *take(std::size_t bytes) {
    std::lock_guard<std::mutex> lock(mutex_);
    std::size_t best = blocks_.size();
    for (std::size_t k = 0; k < blocks_.size(); ++k) {
      const std::size_t size = blocks_[k].first;
      if (size >= bytes && size <= 2 * bytes &&
          (best == blocks_.size() || size < blocks_[best].first))
        best = k;
    }
    if (best == blocks_.size()) return nullptr;
    void *memory = blocks_[best].second;
    total_ -= blocks_[best].first;
    blocks_[best] = blocks_.back();
    blocks_.pop_back();
    return memory;
  }

  // Keeps a block of capacity bytes; false when the cache is full.
  bool give(void *memory, std::size_t bytes) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (blocks_.size() == kMaxBlocks || total_ + bytes > kMaxBytes)
      return false;
    blocks_.emplace_back(bytes, memory);
    total_ += bytes;
    return true;
  }

 private:
  std::mutex mutex_;
  std::vector<std::pair<std::size_t, void *>> blocks_;
  std::size_t total_ = 0;
};

template <typename T>
struct HugePageAllocator {
  using value_type = T;
  static constexpr std::size_t kPage = std::size_t{2} << 20;
  static constexpr std::size_t kMinHugeBytes = std::size_t{4} << 20;
  static constexpr std::size_t kMinCachedBytes = std::size_t{64} << 10;

  HugePageAllocator() = default;
  template <typename U>
  HugePageAllocator(const HugePageAllocator<U> &) {}

  // Bytes actually reserved for count elements (a cached block is reused
  // for any request it covers, so the size class is rounded up).
  static std::size_t capacity(std::size_t count) {
    const std::size_t bytes = count * sizeof(T);
    const std::size_t unit = bytes < kMinHugeBytes ? kMinCachedBytes : kPage;
    return (bytes + unit - 1) / unit * unit;
  }

  T *allocate(std::size_t count) {
    const std::size_t bytes = count * sizeof(T);
    if (bytes < kMinCachedBytes) return std::allocator<T>().allocate(count);
    const std::size_t rounded = capacity(count);
    void *memory = BlockCache::instance().take(rounded);
    if (memory == nullptr) {
      memory = std::aligned_alloc(rounded < kMinHugeBytes ? 64 : kPage,
                                  rounded);
      if (memory == nullptr) throw std::bad_alloc();
#if defined(__linux__) && defined(MADV_HUGEPAGE)
      if (rounded >= kMinHugeBytes) madvise(memory, rounded, MADV_HUGEPAGE);
#endif
    }
    return static_cast<T *>(memory);
  }

  void deallocate(T *memory, std::size_t count) {
    if (count * sizeof(T) < kMinCachedBytes) {
      std::allocator<T>().deallocate(memory, count);
    } else if (!BlockCache::instance().give(memory, capacity(count))) {
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

// A vector whose large buffers live on huge pages and are reused.
template <typename T>
using HugeVector = std::vector<T, HugePageAllocator<T>>;

}  // namespace mmcv_ops
