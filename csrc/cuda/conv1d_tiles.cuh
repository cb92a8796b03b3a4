// The tiling shared by csrc/cuda/conv1d_block.cu and csrc/cuda/upconv1d_block.cu: the
// launch plan of their register-blocked convolution kernels (T threads of two positions
// each, kOutTile output channels per block, a chunk of input channels staged in shared
// memory) and the weight gradient as a split GEMM (32 x 32 tiles of (out channel, tap),
// partial tiles per grid.z slice, added in slice order: deterministic, no atomics).
// What differs between the two ops (where the input values come from, the epilogue)
// stays in their own files. Everything here has internal linkage: each .cu gets its own
// copy of the kernels (no template kernel is shared across translation units).
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAFunctions.h>

#include <algorithm>
#include <cstdint>

namespace genreg {
namespace {

constexpr int kOutTile = 8;          // output channels per block of the convolution kernels
constexpr int kMaxThreads = 128;     // two positions per thread: up to 256 per block
constexpr int64_t kMaxKernel = 513;  // one input channel's tile within 48 KiB of shared memory
constexpr int64_t kSharedBudget = 24 * 1024;  // bytes per block aimed at (occupancy)

// Threads per block for rows of `len`: a multiple of 32, two positions each, so
// short rows do not leave most threads idle.
int threads_for(int64_t len) {
  const int64_t half = (len + 1) / 2;
  return static_cast<int>(std::min<int64_t>(kMaxThreads, std::max<int64_t>(32, (half + 31) / 32 * 32)));
}

// Block size, input channels staged per pass, shared bytes and grid of a convolution
// kernel over rows of `len` positions.
struct ConvLaunch {
  int threads, chunk;
  int64_t shared;
  dim3 grid;
};

template <typename acc_t>
ConvLaunch plan_conv_launch(int64_t batch, int64_t len, int64_t kernel, int64_t in_ch, int64_t out_ch,
                            const char* op) {
  ConvLaunch l{};
  l.threads = threads_for(len);
  const int64_t span = 2 * l.threads + kernel - 1;
  const int64_t per_channel = (span + kernel * kOutTile) * static_cast<int64_t>(sizeof(acc_t));
  l.chunk = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>({kSharedBudget / per_channel, in_ch, 16})));
  l.shared = l.chunk * per_channel;
  TORCH_CHECK(l.shared <= 48 * 1024, op, ": kernel size ", kernel, " needs ", l.shared,
              " bytes of shared memory per block, more than 48 KiB");
  const int64_t tiles = (len + 2 * l.threads - 1) / (2 * l.threads);
  const int64_t out_tiles = (out_ch + kOutTile - 1) / kOutTile;
  TORCH_CHECK(batch * tiles < (int64_t(1) << 31) && out_tiles <= 65535, op,
              ": too many samples or channels for one launch (", batch, " samples, ", out_ch, " channels)");
  l.grid = dim3(static_cast<unsigned>(batch * tiles), static_cast<unsigned>(out_tiles));
  return l;
}

// --- weight gradient: grad_w[o, n] = sum_{b, t} gz(b, o, t) * X(b, t, n), n = c * K + k
// (plus a bias column of ones). A 32 x 32 tile of (o, n) per block, 64 threads of 4 x 4
// outputs; grid.z splits the (b, t) reduction.

constexpr int kTileM = 32, kTileN = 32, kTileR = 16, kGemmThreads = 64;
constexpr int kGroups = kGemmThreads / kTileR;     // threads sharing one position slot
constexpr int kLoadsPerThread = kTileM / kGroups;  // tile values each thread stages
static_assert(kTileM == kTileN && kGemmThreads % kTileR == 0, "the loads assume square tiles");
static_assert(kTileM * kTileN == kGemmThreads * 16, "each thread owns a 4 x 4 block of outputs");

// acc[i][j] += sum over the staged positions of gz(o = tm*4+i) * X(n = tn*4+j).
template <typename acc_t>
__device__ __forceinline__ void gemm_tile_fma(const acc_t (&gz_tile)[kTileR][kTileM + 1],
                                              const acc_t (&x_tile)[kTileR][kTileN + 1], int tm, int tn,
                                              acc_t (&acc)[4][4]) {
#pragma unroll 4
  for (int rr = 0; rr < kTileR; ++rr) {
    acc_t a[4], w[4];
#pragma unroll
    for (int i = 0; i < 4; ++i) a[i] = gz_tile[rr][tm * 4 + i];
#pragma unroll
    for (int j = 0; j < 4; ++j) w[j] = x_tile[rr][tn * 4 + j];
#pragma unroll
    for (int i = 0; i < 4; ++i)
#pragma unroll
      for (int j = 0; j < 4; ++j) acc[i][j] += a[i] * w[j];
  }
}

// This block's 4 x 4 outputs into its slice's partial tile ([gridDim.z][cout][cols]).
template <typename acc_t>
__device__ __forceinline__ void store_partial_tile(acc_t* partial, int64_t cout, int64_t cols, int64_t m0,
                                                   int64_t n0, int tm, int tn, const acc_t (&acc)[4][4]) {
  acc_t* out = partial + blockIdx.z * cout * cols;
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const int64_t o = m0 + tm * 4 + i;
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const int64_t n = n0 + tn * 4 + j;
      if (o < cout && n < cols) out[o * cols + n] = acc[i][j];
    }
  }
}

// grad_w[o, :] and grad_b[o] from the slices' partial sums, added in slice order.
template <typename scalar_t, typename acc_t>
__global__ void sum_partials_kernel(const acc_t* __restrict__ partial, int64_t slices, int64_t cout, int64_t cols,
                                    int64_t taps, scalar_t* __restrict__ grad_w, scalar_t* __restrict__ grad_b) {
  const int64_t idx = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (idx >= cout * cols) return;
  acc_t s = acc_t(0);
  for (int64_t z = 0; z < slices; ++z) s += partial[z * cout * cols + idx];
  const int64_t o = idx / cols, n = idx - o * cols;
  if (n < taps) {
    grad_w[o * taps + n] = static_cast<scalar_t>(s);
  } else {
    grad_b[o] = static_cast<scalar_t>(s);
  }
}

int multiprocessors() {
  int sms = 0;
  C10_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, c10::cuda::current_device()));
  return std::max(1, sms);
}

// How the (b, t) reduction of `total` pairs is split: about 4 blocks per multiprocessor,
// each slice at least one tile of positions.
struct GemmLaunch {
  int64_t r_chunk, slices;
  dim3 grid;
};

inline GemmLaunch plan_weight_grad(int64_t cout, int64_t cols, int64_t total, const char* op) {
  const int64_t tiles_m = (cout + kTileM - 1) / kTileM, tiles_n = (cols + kTileN - 1) / kTileN;
  TORCH_CHECK(tiles_m <= 65535, op, ": too many output channels for one launch (", cout, ")");
  const int64_t want = std::max<int64_t>(1, 4 * multiprocessors() / (tiles_m * tiles_n));
  const int64_t slices_wanted = std::min<int64_t>({want, (total + kTileR - 1) / kTileR, 65535});
  GemmLaunch g{};
  g.r_chunk = ((total + slices_wanted - 1) / slices_wanted + kTileR - 1) / kTileR * kTileR;
  g.slices = (total + g.r_chunk - 1) / g.r_chunk;
  g.grid = dim3(static_cast<unsigned>(tiles_n), static_cast<unsigned>(tiles_m), static_cast<unsigned>(g.slices));
  return g;
}

// The partial tiles added into grad_w (and grad_b when non-null), on `stream`.
template <typename scalar_t, typename acc_t>
void launch_sum_partials(const acc_t* partial, int64_t slices, int64_t cout, int64_t cols, int64_t taps,
                         scalar_t* grad_w, scalar_t* grad_b, cudaStream_t stream) {
  const int64_t n = cout * cols;
  sum_partials_kernel<scalar_t, acc_t><<<static_cast<unsigned>((n + 255) / 256), 256, 0, stream>>>(
      partial, slices, cout, cols, taps, grad_w, grad_b);
  C10_CUDA_KERNEL_LAUNCH_CHECK();
}

}  // namespace
}  // namespace genreg
