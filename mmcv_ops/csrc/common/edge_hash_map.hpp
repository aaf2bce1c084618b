// Copyright (c) OpenMMLab. All rights reserved.
// Open-addressing hash map from an unordered node pair to an edge id.
//
// One flat table for the whole graph (instead of one map per cluster): linear
// probing, backward-shift deletion, so there are no tombstones to clean up
// while clusters are contracted.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

namespace mmcv_ops {

class EdgeHashMap {
 public:
  static constexpr uint32_t kNone = 0xffffffffu;

  // Sized for at most max_entries live entries (load factor <= 1/2).
  explicit EdgeHashMap(std::size_t max_entries) {
    std::size_t capacity = 16;
    while (capacity < 2 * max_entries) capacity *= 2;
    mask_ = capacity - 1;
    shift_ = 64;
    for (std::size_t c = capacity; c > 1; c >>= 1) --shift_;
    keys_.assign(capacity, kEmpty);
    values_.resize(capacity);
  }

  static uint64_t key(uint32_t a, uint32_t b) {
    if (a > b) std::swap(a, b);
    return (static_cast<uint64_t>(a) << 32) | b;
  }

  uint32_t find(uint64_t k) const {
    for (std::size_t i = slot(k);; i = (i + 1) & mask_) {
      if (keys_[i] == k) return values_[i];
      if (keys_[i] == kEmpty) return kNone;
    }
  }

  // Returns the existing value for k, or inserts value and returns kNone.
  uint32_t find_or_insert(uint64_t k, uint32_t value) {
    std::size_t i = slot(k);
    for (; keys_[i] != kEmpty; i = (i + 1) & mask_) {
      if (keys_[i] == k) return values_[i];
    }
    keys_[i] = k;
    values_[i] = value;
    return kNone;
  }

  void erase(uint64_t k) {
    std::size_t i = slot(k);
    while (keys_[i] != k) {
      if (keys_[i] == kEmpty) return;
      i = (i + 1) & mask_;
    }
    // Backward shift: move later entries of the probe run into the hole.
    std::size_t hole = i;
    for (std::size_t j = (i + 1) & mask_; keys_[j] != kEmpty;
         j = (j + 1) & mask_) {
      const std::size_t home = slot(keys_[j]);
      const bool movable = hole <= j ? (home <= hole || home > j)
                                     : (home <= hole && home > j);
      if (movable) {
        keys_[hole] = keys_[j];
        values_[hole] = values_[j];
        hole = j;
      }
    }
    keys_[hole] = kEmpty;
  }

 private:
  static constexpr uint64_t kEmpty = ~static_cast<uint64_t>(0);

  std::size_t slot(uint64_t k) const {
    return static_cast<std::size_t>((k * 0x9E3779B97F4A7C15ull) >> shift_) &
           mask_;
  }

  std::vector<uint64_t> keys_;
  std::vector<uint32_t> values_;
  std::size_t mask_ = 0;
  int shift_ = 0;
};

}  // namespace mmcv_ops
