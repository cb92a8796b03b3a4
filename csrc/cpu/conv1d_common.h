// What the CPU conv1d kernels (conv1d_block.cpp, upconv1d_block.cpp) share: input
// checks, the activation argument, and the per-sample drivers around the loops of
// conv1d_engine.h, which differ between the ops only in how a sample's input rows
// are made (copied, or upsampled) and where the input gradient goes.
#pragma once
#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "../conv1d_args.h"
#include "conv1d_engine.h"

namespace genreg {
namespace conv1d {

inline void check_conv_inputs(const at::Tensor& x, const at::Tensor& weight, const char* op) {
  check_conv_shapes(x, weight, op);
  TORCH_CHECK(x.scalar_type() == at::kFloat || x.scalar_type() == at::kDouble, op,
              ": x must be float32 or float64, got ", x.scalar_type());
  TORCH_CHECK(weight.scalar_type() == x.scalar_type(), op, ": weight has dtype ", weight.scalar_type(), ", expected ",
              x.scalar_type());
  TORCH_CHECK(x.device().is_cpu() && weight.device().is_cpu(), op, ": the CPU kernel got tensors on ", x.device(),
              " and ", weight.device());
}

inline void check_bias(const std::optional<at::Tensor>& bias, const at::Tensor& x, const at::Tensor& weight,
                       const char* op) {
  if (!bias.has_value() || !bias->defined()) return;
  TORCH_CHECK(bias->dim() == 1 && bias->size(0) == weight.size(0), op, ": bias must have shape (", weight.size(0),
              ",), got ", bias->sizes());
  TORCH_CHECK(bias->scalar_type() == x.scalar_type() && bias->device().is_cpu(), op,
              ": bias must be a CPU tensor of dtype ", x.scalar_type());
}

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Items per parallel task so that each has at least ~2^17 multiply-adds: below that,
// waking another thread costs more than it saves (and small calls stay on the caller).
inline int64_t grain_for(int64_t macs_per_item) {
  return std::max<int64_t>(1, ceil_div(int64_t(1) << 17, std::max<int64_t>(1, macs_per_item)));
}

// Zero-initialised scratch, 64-byte aligned (whole cache lines, aligned vectors).
template <typename T>
class Scratch {
 public:
  explicit Scratch(int64_t n) : data_(static_cast<T*>(std::aligned_alloc(64, bytes(n)))) {
    TORCH_CHECK(data_ != nullptr, "conv1d: out of memory for ", bytes(n), " bytes of scratch");
    std::memset(data_.get(), 0, bytes(n));
  }
  T* get() const { return data_.get(); }

 private:
  static size_t bytes(int64_t n) { return (static_cast<size_t>(std::max<int64_t>(n, 1)) * sizeof(T) + 63) / 64 * 64; }
  struct Free {
    void operator()(T* p) const { std::free(p); }
  };
  std::unique_ptr<T, Free> data_;
};

// Shapes of one conv1d layer as the drivers see it. The z rows have `positions`
// entries computed from input rows of `in_length` (padded to `row`); output rows have
// `out_length` entries, `y_row` apart (out_length, except for Store::unpool_act, where
// out_channels counts the even/odd halves and y_row = positions).
struct Layer {
  int64_t batch, in_channels, out_channels, kernel;
  int64_t in_length;   // valid entries of an input row
  int64_t positions;   // z positions computed per row
  int64_t out_length;  // outputs per output row
  int64_t y_row;       // elements between the rows the loops write
  int64_t row;         // padded input row length
};

inline Layer make_layer(int64_t batch, int64_t in_channels, int64_t out_channels, int64_t kernel, int64_t in_length,
                        int64_t positions, int64_t out_length, int64_t y_row) {
  const int64_t span = std::max(in_length, positions);
  return {batch,      in_channels, out_channels, kernel, in_length,
          positions,  out_length,  y_row,        padded_row_length(span, kernel)};
}

// A fill for the drivers below: copies sample b's rows (channels, len) of x into
// zero-padded rows with `pad` zeros in front.
template <typename T>
auto copy_rows(const T* x, int64_t channels, int64_t len, int64_t pad, int64_t row) {
  return [=](int64_t b, T* rows) {
    const T* src = x + b * channels * len;
    for (int64_t c = 0; c < channels; ++c) std::memcpy(rows + c * row + pad, src + c * len, len * sizeof(T));
  };
}

// Samples in parallel; with fewer samples than threads, groups of output channels
// too. fill(b, rows) writes sample b's input rows into zero-padded rows (x[c][i] at
// rows[c * row + kernel / 2 + i]); the pads are zero and stay so.
template <typename T, typename Fill>
void run_forward(const Layer& l, const T* weight, const T* bias, Store store, T negative_slope, bool relu, T* y,
                 uint8_t* code, Fill fill) {
  if (l.batch == 0 || l.out_channels == 0) return;  // nothing to compute (and no division by 0 below)
  const int64_t threads = at::get_num_threads();
  int64_t per_group = l.out_channels;
  if (l.batch < 2 * threads)
    per_group = std::max<int64_t>(4, ceil_div(ceil_div(l.out_channels, ceil_div(2 * threads, l.batch)), 4) * 4);
  const int64_t groups = ceil_div(l.out_channels, per_group);
  const int64_t w_stride = l.in_channels * l.kernel;
  const int64_t grain = grain_for(per_group * w_stride * l.positions);
  at::parallel_for(0, l.batch * groups, grain, [&](int64_t i0, int64_t i1) {
    Scratch<T> rows(l.in_channels * l.row);
    int64_t loaded = -1;
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t b = i / groups, o0 = (i % groups) * per_group;
      if (b != loaded) fill(b, rows.get());
      loaded = b;
      const int64_t first = (b * l.out_channels + o0) * l.y_row;
      ForwardArgs<T> a{rows.get(), l.row, l.in_channels, weight + o0 * w_stride, bias ? bias + o0 : nullptr,
                       std::min(per_group, l.out_channels - o0), l.kernel, l.positions, store, negative_slope,
                       y + first, code ? code + first : nullptr, l.y_row, relu};
      forward(a);
    }
  });
}

// The weight and bias gradients of a layer whose forward wrote `code` with `store`
// (act, pool_act or unpool_act), and the gradient at its input rows: for each sample,
// grad_input(b, gz_rows, scratch) gets the gradient at z in zero-padded rows (the
// layout fill writes) and a per-thread scratch of `scratch_size` elements. Returns
// grad_weight (out, in, kernel) and the bias gradient (out,) (float64 sums, cast by
// the caller; for unpool_act all of a pair's sum is in its even row).
template <typename T, typename Fill, typename GradInput>
std::pair<at::Tensor, at::Tensor> run_backward(const Layer& l, const T* grad_out, const uint8_t* code, Store store,
                                               T negative_slope, bool relu, const at::TensorOptions& options, Fill fill,
                                               GradInput grad_input, int64_t scratch_size) {
  const int64_t threads = at::get_num_threads();
  const int64_t cin = l.in_channels, cout = l.out_channels, kernel = l.kernel, row = l.row, pad = kernel / 2;
  // per-thread partial sums of the weight and bias gradients
  auto grad_w_parts = at::zeros({threads, cout, cin, kernel}, options);
  auto grad_b_parts = at::zeros({threads, cout}, options.dtype(at::kDouble));
  if (l.batch == 0) return {grad_w_parts.sum(0), grad_b_parts.sum(0)};  // an empty batch: zero gradients
  T* gw_parts = grad_w_parts.template data_ptr<T>();
  double* gb_parts = grad_b_parts.data_ptr<double>();
  // Samples per weight-gradient pass: their input and gz rows (up to 512 KiB) stay in
  // L2 while every (output channel, input channel, tap) tile sums over them; more
  // samples per pass spread each tile's final horizontal sums over more work.
  const int64_t chunk = std::clamp<int64_t>((512 << 10) / ((cin + cout) * row * int64_t(sizeof(T))), 1, 32);
  at::parallel_for(0, l.batch, grain_for(2 * cout * cin * kernel * l.positions), [&](int64_t b0, int64_t b1) {
    const int64_t tid = at::get_thread_num();
    double* gb = gb_parts + tid * cout;
    Scratch<T> xrows(chunk * cin * row), gzrows(chunk * cout * row), scratch(scratch_size);
    for (int64_t c0 = b0; c0 < b1; c0 += chunk) {
      const int64_t n = std::min(chunk, b1 - c0);
      for (int64_t s = 0; s < n; ++s) {
        const int64_t b = c0 + s;
        fill(b, xrows.get() + s * cin * row);
        T* gz = gzrows.get() + s * cout * row + pad;
        if (store == Store::unpool_act) {
          for (int64_t o = 0; o < cout; o += 2) {
            const int64_t r = (b * cout + o) / 2;
            gb[o] += grad_at_z_unpool(grad_out + r * l.out_length, code + r * l.out_length, l.positions,
                                      negative_slope, relu, gz + o * row, gz + (o + 1) * row);
          }
        } else {
          for (int64_t o = 0; o < cout; ++o) {
            const int64_t r = b * cout + o;
            gb[o] += grad_at_z(grad_out + r * l.out_length, code + r * l.out_length, l.out_length,
                               store == Store::pool_act, negative_slope, relu, gz + o * row);
          }
        }
      }
      WeightGradArgs<T> wa{xrows.get(), row, cin * row, cin, gzrows.get() + pad, row, cout * row, cout,
                           n, kernel, l.positions, gw_parts + tid * cout * cin * kernel};
      weight_grad(wa);
      for (int64_t s = 0; s < n; ++s) grad_input(c0 + s, gzrows.get() + s * cout * row, scratch.get());
    }
  });
  return {grad_w_parts.sum(0), grad_b_parts.sum(0)};
}

}  // namespace conv1d
}  // namespace genreg
