// Copyright (c) OpenMMLab. All rights reserved.
// Min-heap of 64-bit keys with four children per node.
//
// The contraction queue packs (gain, edge id) into one integer key, so a
// comparison is one instruction and four children share a cache line; this
// halves the cache misses of a binary heap of 16-byte entries.
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

#include "huge_page_allocator.hpp"

namespace mmcv_ops {

class QuadHeap {
 public:
  // Order-preserving map of a float gain to 32 bits (more negative = smaller).
  static uint32_t ordered_bits(float value) {
    uint32_t bits;
    std::memcpy(&bits, &value, sizeof(bits));
    return (bits & 0x80000000u) ? ~bits : bits | 0x80000000u;
  }
  static uint64_t make_key(uint32_t gain_bits, uint32_t id) {
    return (static_cast<uint64_t>(gain_bits) << 32) | id;
  }
  static uint32_t gain_bits(uint64_t key) {
    return static_cast<uint32_t>(key >> 32);
  }
  static uint32_t id(uint64_t key) { return static_cast<uint32_t>(key); }

  bool empty() const { return keys_.empty(); }
  uint64_t top() const { return keys_.front(); }
  void clear() { keys_.clear(); }

  // Adds a key without restoring the heap order; call heapify() afterwards.
  void append(uint64_t key) { keys_.push_back(key); }

  void heapify() {
    if (keys_.size() < 2) return;
    for (std::size_t i = (keys_.size() - 2) / 4 + 1; i-- > 0;) sift_down(i);
  }

  // Drops the keys matching drop and restores the heap order.
  template <typename Predicate>
  void remove_if(Predicate drop) {
    std::size_t kept = 0;
    for (const uint64_t key : keys_) {
      if (!drop(key)) keys_[kept++] = key;
    }
    keys_.resize(kept);
    heapify();
  }

  std::size_t size() const { return keys_.size(); }

  void push(uint64_t key) {
    std::size_t i = keys_.size();
    keys_.push_back(key);
    while (i > 0) {
      const std::size_t parent = (i - 1) / 4;
      if (keys_[parent] <= key) break;
      keys_[i] = keys_[parent];
      i = parent;
    }
    keys_[i] = key;
  }

  uint64_t pop() {
    const uint64_t result = keys_.front();
    keys_.front() = keys_.back();
    keys_.pop_back();
    if (!keys_.empty()) sift_down(0);
    return result;
  }

 private:
  void sift_down(std::size_t i) {
    const std::size_t n = keys_.size();
    const uint64_t key = keys_[i];
    while (true) {
      const std::size_t first = 4 * i + 1;
      if (first >= n) break;
      std::size_t best = first;
      uint64_t smallest = keys_[first];
      if (first + 4 <= n) {
        // The smaller of each pair, then of the two: selects instead of
        // branches, which the random keys would mispredict.
        const uint64_t *c = keys_.data() + first;
        const bool right = c[1] < c[0], far_right = c[3] < c[2];
        const uint64_t left_min = right ? c[1] : c[0];
        const uint64_t right_min = far_right ? c[3] : c[2];
        const bool second = right_min < left_min;
        best = first + (second ? 2 + far_right : right);
        smallest = second ? right_min : left_min;
      } else {
        for (std::size_t c = first + 1; c < n; ++c) {
          if (keys_[c] < smallest) {
            smallest = keys_[c];
            best = c;
          }
        }
      }
      if (smallest >= key) break;
      keys_[i] = smallest;
      i = best;
    }
    keys_[i] = key;
  }

  HugeVector<uint64_t> keys_;
};

}  // namespace mmcv_ops
