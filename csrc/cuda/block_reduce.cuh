// Sum of one value per thread over a thread block (warp shuffles, then one warp
// over the per-warp sums). The result is valid in thread 0. Call at most once per
// __syncthreads-separated phase of a kernel.
#pragma once

namespace genreg {

template <typename acc_t>
__device__ __forceinline__ acc_t warp_sum(acc_t v) {
#pragma unroll
  for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_down_sync(0xffffffffu, v, offset);
  return v;
}

template <typename acc_t>
__device__ acc_t block_sum(acc_t v) {
  __shared__ acc_t warp_sums[32];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  v = warp_sum(v);
  if (lane == 0) warp_sums[warp] = v;
  __syncthreads();
  const int warps = (blockDim.x + 31) >> 5;
  v = threadIdx.x < warps ? warp_sums[threadIdx.x] : acc_t(0);
  if (warp == 0) v = warp_sum(v);
  return v;
}

}  // namespace genreg
