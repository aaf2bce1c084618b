// Copyright (c) OpenMMLab. All rights reserved.
// Open-addressing hash map from an unordered node pair to an edge id.
//
// One flat table for the whole graph (instead of one map per cluster), linear
// probing. Pairs are never erased: a contracted cluster's id never comes back,
// so its stale pairs are never looked up again; the owner rebuilds the table
// from the live edges when needs_rebuild() says so.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "huge_page_allocator.hpp"

namespace mmcv_ops {

class EdgeHashMap {
 public:
  static constexpr uint32_t kNone = 0xffffffffu;

  // Sized for max_entries entries.
  explicit EdgeHashMap(std::size_t max_entries) { reset(max_entries); }

  static uint64_t key(uint32_t a, uint32_t b) {
    if (a > b) std::swap(a, b);
    return (static_cast<uint64_t>(a) << 32) | b;
  }

  // Hints the cache that k will be looked up soon.
  void prefetch(uint64_t k) const { __builtin_prefetch(&slots_[slot(k)]); }

  // Returns the existing value for k, or inserts value and returns kNone.
  uint32_t find_or_insert(uint64_t k, uint32_t value) {
    std::size_t i = slot(k);
    for (; slots_[i].key != kEmpty; i = (i + 1) & mask_) {
      if (slots_[i].key == k) return slots_[i].value;
    }
    slots_[i] = {k, value};
    ++size_;
    return kNone;
  }

  // True when the table should be rebuilt from the live_entries live pairs:
  // it is 70 % full (stale pairs are never erased), or mostly stale, where a
  // smaller table keeps the probes within fewer cache lines.
  bool needs_rebuild(std::size_t live_entries) const {
    return 10 * size_ > 7 * slots_.size() ||
           (16 * live_entries < slots_.size() && slots_.size() > kMinCapacity);
  }

  // Empties the table, sized for max_entries entries (load factor <= 1/3:
  // the contraction inserts a pair for every edge it moves, and a sparser
  // table has shorter probes; 1-3 % less time per solve of the benchmark
  // instances than <= 2/3, while <= 1/6 is slower again).
  void reset(std::size_t max_entries) {
    std::size_t capacity = 16;
    shift_ = 60;
    while (capacity < 3 * max_entries) {
      capacity *= 2;
      --shift_;
    }
    mask_ = capacity - 1;
    slots_.assign(capacity, Slot{kEmpty, 0});
    size_ = 0;
  }

 private:
  static constexpr uint64_t kEmpty = ~static_cast<uint64_t>(0);
  static constexpr std::size_t kMinCapacity = 1024;
#pragma pack(push, 4)
  struct Slot {  // 12 bytes: more slots per cache line
    uint64_t key;
    uint32_t value;
  };
#pragma pack(pop)

  std::size_t slot(uint64_t k) const {
    return static_cast<std::size_t>((k * 0x9E3779B97F4A7C15ull) >> shift_) &
           mask_;
  }

  HugeVector<Slot> slots_;
  std::size_t size_ = 0;
  std::size_t mask_ = 0;
  int shift_ = 0;
};

}  // namespace mmcv_ops
