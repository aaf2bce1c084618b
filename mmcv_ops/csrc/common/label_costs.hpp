// Copyright (c) OpenMMLab. All rights reserved.
// Minima over the label costs of a node or cluster (a row of L values).
//
// The contraction scores edges and picks labels with these; the node moves
// bound a node's cheapest label with them. Costs are finite.
#pragma once

#include <algorithm>
#include <cstdint>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

namespace mmcv_ops {

// min_l value(l) over l < count with four independent running minima, which
// breaks the dependency chain of a single one (the result is the same).
template <typename Value>
inline double min_over(const Value &value, int64_t count) {
  double m0 = value(0);
  double m1 = m0, m2 = m0, m3 = m0;
  int64_t l = 1;
  for (; l + 4 <= count; l += 4) {
    const double s0 = value(l), s1 = value(l + 1);
    const double s2 = value(l + 2), s3 = value(l + 3);
    m0 = s0 < m0 ? s0 : m0;
    m1 = s1 < m1 ? s1 : m1;
    m2 = s2 < m2 ? s2 : m2;
    m3 = s3 < m3 ? s3 : m3;
  }
  for (; l < count; ++l) {
    const double s = value(l);
    m0 = s < m0 ? s : m0;
  }
  m0 = m1 < m0 ? m1 : m0;
  m2 = m3 < m2 ? m3 : m2;
  return m2 < m0 ? m2 : m0;
}

// min_l values[l].
inline double min_value(const double *values, int64_t count) {
  return min_over([values](int64_t l) { return values[l]; }, count);
}

// The first index of the smallest value (costs are finite).
inline int32_t argmin(const double *values, int64_t count) {
  const double best = min_value(values, count);
  int32_t l = 0;
  while (values[l] != best) ++l;
  return l;
}

// min_l a[l] + b[l]. The scoring of edges spends most of its time here, so
// the SSE2 path (every x86-64 CPU has it) takes two labels per instruction;
// the minimum of finite values does not depend on the order, so both paths
// return the same value.
inline double min_of_sum(const double *a, const double *b, int64_t count) {
#ifdef __SSE2__
  if (count >= 4) {
    __m128d m0 = _mm_add_pd(_mm_loadu_pd(a), _mm_loadu_pd(b));
    __m128d m1 = _mm_add_pd(_mm_loadu_pd(a + 2), _mm_loadu_pd(b + 2));
    int64_t l = 4;
    for (; l + 4 <= count; l += 4) {
      m0 = _mm_min_pd(m0, _mm_add_pd(_mm_loadu_pd(a + l), _mm_loadu_pd(b + l)));
      m1 = _mm_min_pd(
          m1, _mm_add_pd(_mm_loadu_pd(a + l + 2), _mm_loadu_pd(b + l + 2)));
    }
    if (l + 2 <= count) {
      m0 = _mm_min_pd(m0, _mm_add_pd(_mm_loadu_pd(a + l), _mm_loadu_pd(b + l)));
      l += 2;
    }
    m0 = _mm_min_pd(m0, m1);
    m0 = _mm_min_sd(m0, _mm_unpackhi_pd(m0, m0));
    double m = _mm_cvtsd_f64(m0);
    if (l < count) m = std::min(m, a[l] + b[l]);
    return m;
  }
#endif
  return min_over([a, b](int64_t l) { return a[l] + b[l]; }, count);
}

}  // namespace mmcv_ops
