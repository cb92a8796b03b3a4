// CPU kernels for genreg::upconv1d_block_forward / upconv1d_block_backward, the
// denoiser's decoder block:
//   u = nearest upsample of x to `size` positions (torch's rule: source index
//       floor(t * L / size) in float, so odd sizes come back exactly)
//   z = conv1d(u, weight, 'same' padding K/2, stride 1) + bias
//   y = activation(z)            relu | leaky_relu(negative_slope) | none
// The forward also returns a uint8 code per output (bit 1: z > 0) for the backward.
// u is never stored. Two ways to run it on the loops of conv1d_engine.h (drivers in
// conv1d_common.h):
// - exactly 2x (size = 2L), where it saves work (use_polyphase): output 2t + p sees
//   x[t + d] through the taps k with floor((p + k - pad) / 2) = d, so the block is a
//   'same' convolution of x itself with 2 x out_channels rows (even and odd outputs)
//   of 2 * ceil(pad / 2) + 1 folded taps (5 instead of 9, 3 instead of 5), whose
//   results are interleaved at store. The backward works on the folded weights and
//   unfolds their gradient at the end.
// - otherwise: each sample's upsampled rows are gathered into the padded rows; the
//   input gradient is the transposed convolution of gz summed back onto the positions
//   each input was copied to.
#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <torch/library.h>

#include <cmath>
#include <tuple>
#include <vector>

#include "conv1d_common.h"

namespace genreg {
namespace {

using namespace conv1d;

void check_size(const at::Tensor& x, int64_t size, const char* op) {
  TORCH_CHECK(size >= 1, op, ": size must be >= 1, got ", size);
  TORCH_CHECK(x.size(2) >= 1, op, ": x must have length >= 1, got ", x.size(2));
}

// --- the exact 2x case ----------------------------------------------------------

int64_t folded_kernel(int64_t kernel) { return 2 * ((kernel / 2 + 1) / 2) + 1; }

// Folding pays where its two rows per output channel, each of the input's length
// rounded up to whole tiles, take fewer taps than the gathered rows of twice that
// length: kernels >= 5 on inputs longer than about one tile (not for 31 -> 62).
bool use_polyphase(int64_t length, int64_t size, int64_t kernel) {
  const auto tiles = [](int64_t n) { return (n + kMaxTile - 1) / kMaxTile * kMaxTile; };
  return size == 2 * length && 2 * tiles(length) * folded_kernel(kernel) < tiles(size) * kernel;
}

// The folded tap of tap k for outputs of parity `phase`: floor((phase + k - pad) / 2)
// + folded pad, computed on non-negative numbers.
int64_t folded_tap(int64_t k, int64_t phase, int64_t kernel) {
  const int64_t pad = kernel / 2;
  return (phase + k + pad) / 2 - pad + folded_kernel(kernel) / 2;
}

// (out, in, K) -> (2 out, in, K'): row 2o + p sums the taps that reach the same input.
at::Tensor fold_weight(const at::Tensor& weight) {
  const int64_t cout = weight.size(0), cin = weight.size(1), kernel = weight.size(2), folded = folded_kernel(kernel);
  auto w = weight.contiguous();
  auto out = at::zeros({2 * cout, cin, folded}, w.options());
  AT_DISPATCH_FLOATING_TYPES(w.scalar_type(), "upconv1d_fold_weight", [&] {
    const scalar_t* src = w.data_ptr<scalar_t>();
    scalar_t* dst = out.data_ptr<scalar_t>();
    for (int64_t o = 0; o < cout; ++o)
      for (int64_t p = 0; p < 2; ++p)
        for (int64_t c = 0; c < cin; ++c)
          for (int64_t k = 0; k < kernel; ++k)
            dst[((2 * o + p) * cin + c) * folded + folded_tap(k, p, kernel)] += src[(o * cin + c) * kernel + k];
  });
  return out;
}

// The adjoint of fold_weight: (2 out, in, K') gradients -> (out, in, K).
at::Tensor unfold_weight_grad(const at::Tensor& folded_grad, int64_t kernel) {
  const int64_t cout = folded_grad.size(0) / 2, cin = folded_grad.size(1), folded = folded_grad.size(2);
  auto g = folded_grad.contiguous();
  auto out = at::empty({cout, cin, kernel}, g.options());
  AT_DISPATCH_FLOATING_TYPES(g.scalar_type(), "upconv1d_unfold_weight_grad", [&] {
    const scalar_t* src = g.data_ptr<scalar_t>();
    scalar_t* dst = out.data_ptr<scalar_t>();
    for (int64_t o = 0; o < cout; ++o)
      for (int64_t c = 0; c < cin; ++c)
        for (int64_t k = 0; k < kernel; ++k)
          dst[(o * cin + c) * kernel + k] = src[((2 * o) * cin + c) * folded + folded_tap(k, 0, kernel)] +
                                            src[((2 * o + 1) * cin + c) * folded + folded_tap(k, 1, kernel)];
  });
  return out;
}

// --- any size ----------------------------------------------------------------------

// The input position each of the `size` upsampled positions copies (torch's
// upsample_nearest1d without a scale factor).
std::vector<int64_t> nearest_sources(int64_t length, int64_t size) {
  std::vector<int64_t> src(size);
  const float scale = static_cast<float>(length) / static_cast<float>(size);
  for (int64_t t = 0; t < size; ++t) {
    if (size == length) {
      src[t] = t;
    } else if (size == 2 * length) {
      src[t] = t >> 1;
    } else {
      src[t] = std::min(static_cast<int64_t>(std::floor(static_cast<float>(t) * scale)), length - 1);
    }
  }
  return src;
}

// Gathers sample b's upsampled rows into zero-padded rows.
template <typename scalar_t>
auto upsampled_rows(const scalar_t* x, int64_t channels, int64_t len, const std::vector<int64_t>& src, int64_t pad,
                    int64_t row) {
  return [=, &src](int64_t b, scalar_t* rows) {
    const int64_t size = static_cast<int64_t>(src.size());
    for (int64_t c = 0; c < channels; ++c) {
      const scalar_t* in = x + (b * channels + c) * len;
      scalar_t* out = rows + c * row + pad;
      for (int64_t t = 0; t < size; ++t) out[t] = in[src[t]];
    }
  };
}

std::tuple<at::Tensor, at::Tensor> upconv1d_block_forward_cpu(const at::Tensor& x_in, const at::Tensor& weight_in,
                                                              const std::optional<at::Tensor>& bias_in, int64_t size,
                                                              c10::string_view activation, double negative_slope) {
  const char* op = "upconv1d_block_forward";
  check_conv_inputs(x_in, weight_in, op);
  check_size(x_in, size, op);
  check_bias(bias_in, x_in, weight_in, op);
  const Act act = parse_activation(activation, op);
  const bool has_bias = bias_in.has_value() && bias_in->defined();
  auto x = x_in.contiguous();
  auto weight = weight_in.contiguous();
  const int64_t batch = x.size(0), cin = x.size(1), len = x.size(2);
  const int64_t cout = weight.size(0), kernel = weight.size(2);
  auto out = at::empty({batch, cout, size}, x.options());
  auto code = at::empty({batch, cout, size}, x.options().dtype(at::kByte));
  at::Tensor bias = has_bias ? bias_in->contiguous() : at::Tensor();
  if (use_polyphase(len, size, kernel)) {
    auto folded = fold_weight(weight);
    auto folded_bias = has_bias ? bias.repeat_interleave(2) : at::Tensor();
    const int64_t fk = folded.size(2);
    const Layer layer = make_layer(batch, cin, 2 * cout, fk, len, len, size, len);
    AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "upconv1d_block_forward_cpu", [&] {
      run_forward<scalar_t>(layer, folded.data_ptr<scalar_t>(),
                            has_bias ? folded_bias.data_ptr<scalar_t>() : nullptr, Store::unpool_act,
                            static_cast<scalar_t>(negative_side_slope(act, negative_slope)), act == Act::relu,
                            out.data_ptr<scalar_t>(), code.data_ptr<uint8_t>(),
                            copy_rows(x.data_ptr<scalar_t>(), cin, len, fk / 2, layer.row));
    });
    return {out, code};
  }
  const auto src = nearest_sources(len, size);
  const Layer layer = make_layer(batch, cin, cout, kernel, size, size, size, size);
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "upconv1d_block_forward_cpu", [&] {
    run_forward<scalar_t>(layer, weight.data_ptr<scalar_t>(), has_bias ? bias.data_ptr<scalar_t>() : nullptr,
                          Store::act, static_cast<scalar_t>(negative_side_slope(act, negative_slope)), act == Act::relu,
                          out.data_ptr<scalar_t>(), code.data_ptr<uint8_t>(),
                          upsampled_rows(x.data_ptr<scalar_t>(), cin, len, src, kernel / 2, layer.row));
  });
  return {out, code};
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> upconv1d_block_backward_cpu(
    const at::Tensor& grad_out_in, const at::Tensor& x_in, const at::Tensor& weight_in, const at::Tensor& code_in,
    int64_t size, c10::string_view activation, double negative_slope, bool has_bias) {
  const char* op = "upconv1d_block_backward";
  check_conv_inputs(x_in, weight_in, op);
  check_size(x_in, size, op);
  const Act act = parse_activation(activation, op);
  const int64_t batch = x_in.size(0), cin = x_in.size(1), len = x_in.size(2);
  const int64_t cout = weight_in.size(0), kernel = weight_in.size(2);
  const std::vector<int64_t> out_shape{batch, cout, size};
  check_grad_out_and_code(grad_out_in, code_in, x_in, out_shape, op);
  auto go = grad_out_in.contiguous();
  auto x = x_in.contiguous();
  auto code = code_in.contiguous();
  auto grad_x = at::empty_like(x);
  at::Tensor grad_w, grad_b;
  if (use_polyphase(len, size, kernel)) {
    // the transposed convolution with the folded kernel gives grad_x directly
    auto folded_t = fold_weight(weight_in).flip({2}).transpose(0, 1).contiguous();
    const int64_t fk = folded_t.size(2);
    const Layer layer = make_layer(batch, cin, 2 * cout, fk, len, len, size, len);
    AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "upconv1d_block_backward_cpu", [&] {
      const scalar_t* wtp = folded_t.data_ptr<scalar_t>();
      scalar_t* gxp = grad_x.data_ptr<scalar_t>();
      auto grad_input = [&](int64_t b, const scalar_t* gz_rows, scalar_t*) {
        ForwardArgs<scalar_t> a{gz_rows, layer.row, 2 * cout, wtp, nullptr, cin, fk, len, Store::plain,
                                scalar_t(0), gxp + b * cin * len, nullptr, len};
        forward(a);
      };
      std::tie(grad_w, grad_b) = run_backward<scalar_t>(
          layer, go.data_ptr<scalar_t>(), code.data_ptr<uint8_t>(), Store::unpool_act,
          static_cast<scalar_t>(negative_side_slope(act, negative_slope)), act == Act::relu, x.options(),
          copy_rows(x.data_ptr<scalar_t>(), cin, len, fk / 2, layer.row), grad_input, 0);
    });
    grad_w = unfold_weight_grad(grad_w, kernel);
    grad_b = grad_b.view({cout, 2}).sum(1);
  } else {
    auto weight_t = weight_in.flip({2}).transpose(0, 1).contiguous();
    const auto src = nearest_sources(len, size);
    const Layer layer = make_layer(batch, cin, cout, kernel, size, size, size, size);
    AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "upconv1d_block_backward_cpu", [&] {
      const scalar_t* wtp = weight_t.data_ptr<scalar_t>();
      scalar_t* gxp = grad_x.data_ptr<scalar_t>();
      // gradient at u into the scratch (cin, size), then summed onto each source position
      auto grad_input = [&](int64_t b, const scalar_t* gz_rows, scalar_t* grad_u) {
        ForwardArgs<scalar_t> a{gz_rows, layer.row, cout, wtp, nullptr, cin, kernel, size, Store::plain,
                                scalar_t(0), grad_u, nullptr, size};
        forward(a);
        for (int64_t c = 0; c < cin; ++c) {
          scalar_t* gx = gxp + (b * cin + c) * len;
          const scalar_t* gu = grad_u + c * size;
          std::fill(gx, gx + len, scalar_t(0));
          for (int64_t t = 0; t < size; ++t) gx[src[t]] += gu[t];
        }
      };
      std::tie(grad_w, grad_b) = run_backward<scalar_t>(
          layer, go.data_ptr<scalar_t>(), code.data_ptr<uint8_t>(), Store::act,
          static_cast<scalar_t>(negative_side_slope(act, negative_slope)), act == Act::relu, x.options(),
          upsampled_rows(x.data_ptr<scalar_t>(), cin, len, src, kernel / 2, layer.row), grad_input, cin * size);
    });
  }
  grad_b = has_bias ? grad_b.to(x.scalar_type()) : at::empty({0}, x.options());
  return {grad_x, grad_w, grad_b};
}

}  // namespace

TORCH_LIBRARY_IMPL(genreg, CPU, m) {
  m.impl("upconv1d_block_forward", &upconv1d_block_forward_cpu);
  m.impl("upconv1d_block_backward", &upconv1d_block_backward_cpu);
}

}  // namespace genreg
