// Compiled CPU time loops for rnnkit's fused engine (see rnnkit/engines/native.py).
//
// Each op runs the sequential part of one cell over a block of steps, writing into buffers that the
// Python side allocated: the forward loop stores what the hand-written backward needs, the backward
// loop produces the per-step gate gradients. Per step there is one `h @ W_hh^T` (a register-blocked
// GEMM, below) and the gate math fused into a single pass over the rows; no framework call happens
// inside a loop. The backward's big GEMMs over all T*B rows (dW_ih, dW_hh, dX) stay in Python (MKL);
// `linear` computes the forward's input projection of all steps. The equations are those of
// rnnkit/cells/*.py; rnnkit/engines/fused_*.py run the same loops with torch ops, and the tests
// check both against the reference engine.
//
// Buffers are time-major and contiguous. Padded steps (mask false) output zeros, leave the state
// alone, get zero gate gradients and pass the state gradients through unchanged.
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <optional>
#include <vector>

using at::Tensor;
using OptTensor = std::optional<Tensor>;

namespace {

constexpr int64_t kParallelGrain = 1 << 13;     // elements of gate math per thread before rows go parallel
// (8192: a batch of 32 rows of a 256-unit LSTM goes parallel; 2-thread LSTM fwd+bwd at (32,100,128,256)
// went from 0.92 to 0.85-0.86 of nn.LSTM. Splitting by hidden units instead, with GEMM and gate math in one
// region per step, measured slower: 1.05.)
constexpr int64_t kParallelGemmWork = 1 << 18;  // multiply-adds per thread before GEMM columns go parallel

// ---- elementwise math ------------------------------------------------------------------------
// float: a Cephes-style exp written as plain arithmetic so the compiler vectorises the gate loops
// (relative error about 1e-7); double: the C library, exact to the last bit for gradcheck.
// The file is compiled with -ffp-contract=off and every fused multiply-add is an explicit std::fma,
// so vectorised and scalar iterations (loop remainders, other alignments) round identically.
inline float exp_approx(float x) {
  x = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
  const float shifted = x * 1.44269504088896341f + 12582912.0f;  // round(x / ln 2) in the low mantissa bits
  int32_t bits;
  std::memcpy(&bits, &shifted, sizeof bits);
  const float n = shifted - 12582912.0f;
  const float r = std::fma(n, 2.12194440e-4f, std::fma(n, -0.693359375f, x));  // x - n ln 2, in two parts
  float p = 1.9875691500e-4f;
  p = std::fma(p, r, 1.3981999507e-3f);
  p = std::fma(p, r, 8.3334519073e-3f);
  p = std::fma(p, r, 4.1665795894e-2f);
  p = std::fma(p, r, 1.6666665459e-1f);
  p = std::fma(p, r, 5.0000001201e-1f);
  const float e_r = std::fma(p * r, r, r) + 1.0f;
  const int32_t scale_bits = (bits - 0x4B400000 + 127) << 23;  // 2^n
  float scale;
  std::memcpy(&scale, &scale_bits, sizeof scale);
  return e_r * scale;
}

inline float sigmoid(float x) { return 1.0f / (1.0f + exp_approx(-x)); }
inline double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

inline float tanh_(float x) {
  const float big = 1.0f - 2.0f / (1.0f + exp_approx(2.0f * x));
  const float z = x * x;  // Cephes tanhf polynomial near 0, where 1 - 2/(1+e^2x) cancels
  float p = std::fma(-5.70498872745e-3f, z, 2.06390887954e-2f);
  p = std::fma(p, z, -5.37397155531e-2f);
  p = std::fma(p, z, 1.33314422036e-1f);
  p = std::fma(p, z, -3.33332819422e-1f);
  const float small = std::fma(p * z, x, x);
  return (x > -0.625f && x < 0.625f) ? small : big;
}
inline double tanh_(double x) { return std::tanh(x); }

// Layer norm of one row (Ba et al., 2016): y = (v - mean) / sqrt(var + eps) * gamma + beta.
// y may alias v. Stores xhat and 1/sqrt(var + eps) for the backward.
template <typename T>
inline void ln_row_forward(const T* v, int64_t n, const T* gamma, const T* beta, T eps, T* xhat, T* rstd, T* y) {
  T mean = 0, var = 0;
  for (int64_t j = 0; j < n; ++j) mean += v[j];
  mean /= static_cast<T>(n);
  for (int64_t j = 0; j < n; ++j) var += (v[j] - mean) * (v[j] - mean);
  const T r = T(1) / std::sqrt(var / static_cast<T>(n) + eps);
  *rstd = r;
  for (int64_t j = 0; j < n; ++j) {
    const T xh = (v[j] - mean) * r;
    xhat[j] = xh;
    y[j] = xh * gamma[j] + beta[j];
  }
}

// dx = rstd * (g - mean(g) - xhat * mean(g * xhat)), with g = dy * gamma.
template <typename T>
inline void ln_row_backward(const T* dy, int64_t n, const T* gamma, const T* xhat, T rstd, T* dx) {
  T mg = 0, mgx = 0;
  for (int64_t j = 0; j < n; ++j) {
    mg += dy[j] * gamma[j];
    mgx += dy[j] * gamma[j] * xhat[j];
  }
  mg /= static_cast<T>(n);
  mgx /= static_cast<T>(n);
  for (int64_t j = 0; j < n; ++j) dx[j] = rstd * (dy[j] * gamma[j] - mg - xhat[j] * mgx);
}

// ---- one batch row of gate math (plain functions, kept out of line so that the compiler vectorises
// them seeing only their own restrict-qualified pointers) ---------------------------------------------
// g holds W_ih x + biases on entry and the activated gates i, f, g, o on exit. Each gate block
// gets its own pointer: the compiler cannot see that g[j] and g[H + j'] never alias.
// Without v (nullptr), g already holds the whole pre-activation W_ih x + W_hh h + biases.
template <typename T, bool kAddV>
[[gnu::noinline]] void lstm_gates_row_impl(int64_t H, T* g, const T* __restrict__ v, T* __restrict__ cc,
                                           T* __restrict__ cn) {
  T* __restrict__ gi = g;
  T* __restrict__ gf = g + H;
  T* __restrict__ gg = g + 2 * H;
  T* __restrict__ go = g + 3 * H;
  for (int64_t j = 0; j < H; ++j) {
    const T i = sigmoid(kAddV ? gi[j] + v[j] : gi[j]);              // input gate
    const T f = sigmoid(kAddV ? gf[j] + v[H + j] : gf[j]);          // forget gate
    const T cand = tanh_(kAddV ? gg[j] + v[2 * H + j] : gg[j]);     // candidate cell state
    const T o = sigmoid(kAddV ? go[j] + v[3 * H + j] : go[j]);      // output gate
    const T cnew = f * cc[j] + i * cand;                     // cell-state update
    gi[j] = i;
    gf[j] = f;
    gg[j] = cand;
    go[j] = o;
    cn[j] = cnew;
    cc[j] = cnew;
  }
}

template <typename T>
void lstm_gates_row(int64_t H, T* g, const T* v, T* cc, T* cn) {
  if (v) lstm_gates_row_impl<T, true>(H, g, v, cc, cn);
  else lstm_gates_row_impl<T, false>(H, g, nullptr, cc, cn);
}

// dcr holds dL/dc_t (all paths) on entry and dL/dc_{t-1} on exit; dy is dL/d(o * tanh(.)).
template <typename T>
[[gnu::noinline]] void lstm_gates_row_backward(int64_t H, const T* __restrict__ g, const T* __restrict__ tc,
                                    const T* __restrict__ cp, const T* __restrict__ dy, T* __restrict__ dcr,
                                    T* __restrict__ da) {
  for (int64_t j = 0; j < H; ++j) {
    const T i = g[j], f = g[H + j], gg = g[2 * H + j], o = g[3 * H + j], dcur = dcr[j];
    da[j] = dcur * gg * i * (T(1) - i);                      // d input gate
    da[H + j] = dcur * cp[j] * f * (T(1) - f);               // d forget gate
    da[2 * H + j] = dcur * i * (T(1) - gg * gg);             // d candidate
    da[3 * H + j] = dy[j] * tc[j] * o * (T(1) - o);          // d output gate
    dcr[j] = dcur * f;                                       // to c_{t-1}
  }
}

// g[0:3H] holds W_ih x + b_ih on entry, r, z, n, vn on exit; v = W_hh h + b_hh (3H); hc is h_{t-1}
// on entry and h_t on exit.
template <typename T>
[[gnu::noinline]] void gru_gates_row(int64_t H, T* g, const T* __restrict__ v, T* __restrict__ hc, T* __restrict__ y) {
  T* __restrict__ gr = g;
  T* __restrict__ gz = g + H;
  T* __restrict__ gn = g + 2 * H;
  T* __restrict__ gv = g + 3 * H;
  for (int64_t j = 0; j < H; ++j) {
    const T r = sigmoid(gr[j] + v[j]);                       // reset gate
    const T z = sigmoid(gz[j] + v[H + j]);                   // update gate
    const T n = tanh_(gn[j] + r * v[2 * H + j]);             // candidate state
    const T hnew = (T(1) - z) * n + z * hc[j];               // hidden-state update
    gr[j] = r;
    gz[j] = z;
    gn[j] = n;
    gv[j] = v[2 * H + j];
    y[j] = hnew;
    hc[j] = hnew;
  }
}

// dhr holds dL/dh_t from later steps on entry and the direct part of dL/dh_{t-1} (z * dh) on exit.
template <typename T>
[[gnu::noinline]] void gru_gates_row_backward(int64_t H, const T* __restrict__ g, const T* __restrict__ hp,
                                   const T* __restrict__ dot, T* __restrict__ dhr, T* __restrict__ dx,
                                   T* __restrict__ dhp) {
  for (int64_t j = 0; j < H; ++j) {
    const T r = g[j], z = g[H + j], n = g[2 * H + j], hn = g[3 * H + j];
    const T dht = dhr[j] + dot[j];
    const T dan = dht * (T(1) - z) * (T(1) - n * n);         // d candidate pre-activation
    const T dar = dan * hn * r * (T(1) - r);                 // d reset pre-activation
    const T daz = dht * (hp[j] - n) * z * (T(1) - z);        // d update pre-activation
    dx[j] = dar;
    dx[H + j] = daz;
    dx[2 * H + j] = dan;
    dhp[j] = dar;
    dhp[H + j] = daz;
    dhp[2 * H + j] = dan * r;
    dhr[j] = dht * z;                                        // direct path to h_{t-1}
  }
}

// ---- GEMM -------------------------------------------------------------------------------------
// C(M, N) = A(M, K) @ W(K, N) (+ bias), row-major with leading dimensions: the per-step
// `h @ W_hh^T` and `dA @ W_hh`, and the input projection `X @ W_ih^T + b` of all steps.
//
// Register blocking: an MR x NB block of C (MR * NB / 16 = 16 AVX-512 registers of float) stays in
// registers while k runs, each step one row of W times MR broadcast values of A. At the recurrent
// shapes (M = batch <= 64, K and N of a few hundred) this is 1.2-2x faster than MKL's sgemm and about
// as fast as its packed GEMM on one thread. k is never split, so every element of C is the same
// chain of multiply-adds whatever M is: a row's result does not depend on how many rows are
// computed with it, and a step-by-step run reproduces a whole-sequence run bit for bit.
struct Gemm {
  int M, K, N;
  int64_t lda, ldw, ldc;
  bool accumulate = false;  // C += A @ W (C holds the input projection) instead of C = A @ W (+ bias)
};

template <typename T, int MR, int NB>
inline void gemm_block(const Gemm& g, int n0, const T* __restrict__ a, const T* __restrict__ w, const T* bias,
                       T* __restrict__ c) {
  T acc[MR][NB];
  for (int m = 0; m < MR; ++m)
    for (int j = 0; j < NB; ++j) acc[m][j] = g.accumulate ? c[m * g.ldc + n0 + j] : (bias ? bias[n0 + j] : T(0));
  for (int k = 0; k < g.K; ++k) {
    const T* __restrict__ wk = w + k * g.ldw + n0;
    for (int m = 0; m < MR; ++m) {
      const T am = a[m * g.lda + k];
      for (int j = 0; j < NB; ++j) acc[m][j] = std::fma(am, wk[j], acc[m][j]);
    }
  }
  for (int m = 0; m < MR; ++m)
    for (int j = 0; j < NB; ++j) c[m * g.ldc + n0 + j] = acc[m][j];
}

// Columns [n0, n1) of MR rows: blocks of NB columns (wider for fewer rows), then halving widths down to
// 16, then one by one.
template <typename T, int MR, int NB>
void gemm_rows_from(const Gemm& g, int n0, int n1, const T* a, const T* w, const T* bias, T* c) {
  for (; n0 + NB <= n1; n0 += NB) gemm_block<T, MR, NB>(g, n0, a, w, bias, c);
  if constexpr (NB > 16) {
    gemm_rows_from<T, MR, NB / 2>(g, n0, n1, a, w, bias, c);
  } else {
    for (; n0 < n1; ++n0) gemm_block<T, MR, 1>(g, n0, a, w, bias, c);
  }
}

template <typename T, int MR>
void gemm_rows(const Gemm& g, int n0, int n1, const T* a, const T* w, const T* bias, T* c) {
  gemm_rows_from<T, MR, (MR >= 8 ? 32 : (MR >= 4 ? 64 : (MR >= 2 ? 128 : 256)))>(g, n0, n1, a, w, bias, c);
}

// Rows [m0, m1) and columns [n0, n1). With 8 rows or more the column blocks are the outer loop, so that
// each (K x 32) slice of W is read from memory once and reused, from cache, by every 8-row block.
template <typename T>
void gemm_tile(const Gemm& g, int m0, int m1, int n0, int n1, const T* a, const T* w, const T* bias, T* c) {
  const int m8 = m1 - (m1 - m0) % 8;
  if (m8 > m0) {
    int nb = n0;
    for (; nb + 32 <= n1; nb += 32)
      for (int m = m0; m < m8; m += 8) gemm_block<T, 8, 32>(g, nb, a + m * g.lda, w, bias, c + m * g.ldc);
    if (nb < n1)
      for (int m = m0; m < m8; m += 8) gemm_rows<T, 8>(g, nb, n1, a + m * g.lda, w, bias, c + m * g.ldc);
  }
  a += m8 * g.lda;
  c += m8 * g.ldc;
  switch (m1 - m8) {
    case 1: gemm_rows<T, 1>(g, n0, n1, a, w, bias, c); break;
    case 2: gemm_rows<T, 2>(g, n0, n1, a, w, bias, c); break;
    case 3: gemm_rows<T, 3>(g, n0, n1, a, w, bias, c); break;
    case 4: gemm_rows<T, 4>(g, n0, n1, a, w, bias, c); break;
    case 5: gemm_rows<T, 5>(g, n0, n1, a, w, bias, c); break;
    case 6: gemm_rows<T, 6>(g, n0, n1, a, w, bias, c); break;
    case 7: gemm_rows<T, 7>(g, n0, n1, a, w, bias, c); break;
    default: break;
  }
}

// Few rows (the per-step products): split the columns across threads when there is enough work.
// Many rows (the input projection, the backward's dX and dW): panels of 128 rows, whose A stays in
// cache while the column blocks pass over it, split across threads.
template <typename T>
void gemm(const Gemm& g, const T* a, const T* w, const T* bias, T* c) {
  if (g.M == 0 || g.N == 0) return;
  constexpr int kPanel = 128;
  const int64_t work = static_cast<int64_t>(g.M) * g.K * g.N;
  if (g.M >= 2 * kPanel) {
    const int64_t panels = (g.M + kPanel - 1) / kPanel;
    const int64_t grain = std::max<int64_t>(1, kParallelGemmWork / std::max<int64_t>(1, work / panels));
    at::parallel_for(0, panels, grain, [&](int64_t p0, int64_t p1) {
      for (int64_t p = p0; p < p1; ++p)
        gemm_tile(g, static_cast<int>(p * kPanel), std::min(g.M, static_cast<int>((p + 1) * kPanel)), 0, g.N, a, w,
                  bias, c);
    });
    return;
  }
  const int64_t units = g.N / 16;
  const int64_t grain = std::max<int64_t>(1, kParallelGemmWork / std::max<int64_t>(1, work / std::max<int64_t>(1, units)));
  if (units <= grain) {
    gemm_tile(g, 0, g.M, 0, g.N, a, w, bias, c);
    return;
  }
  at::parallel_for(0, units, grain, [&](int64_t u0, int64_t u1) {
    gemm_tile(g, 0, g.M, static_cast<int>(u0 * 16), u1 == units ? g.N : static_cast<int>(u1 * 16), a, w, bias, c);
  });
}

// The weight of the per-step GEMMs: C(rows, N) = A(rows, K) @ W(K, N).
template <typename T>
struct RightMatrix {
  const T* w;
  int K, N;

  explicit RightMatrix(const Tensor& t) : w(t.data_ptr<T>()), K(t.size(0)), N(t.size(1)) {}

  void mul(int64_t rows, const T* a, T* c, bool accumulate = false) const {
    const int M = static_cast<int>(rows);
    gemm<T>(Gemm{M, K, N, K, N, N, accumulate}, a, w, nullptr, c);
  }
};

template <typename T>
const T* ptr_or_null(const OptTensor& t) {
  return t.has_value() && t->defined() ? t->data_ptr<T>() : nullptr;
}
template <typename T>
T* mut_ptr_or_null(const OptTensor& t) {
  return t.has_value() && t->defined() ? t->data_ptr<T>() : nullptr;
}
const bool* mask_ptr(const OptTensor& m) { return m.has_value() && m->defined() ? m->data_ptr<bool>() : nullptr; }

// Run row(b) for every batch row, in parallel when there is enough work per row.
template <typename F>
void for_rows(int64_t rows, int64_t work_per_row, const F& row) {
  const int64_t grain = std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(1, work_per_row));
  if (rows <= grain) {
    for (int64_t b = 0; b < rows; ++b) row(b);
    return;
  }
  at::parallel_for(0, rows, grain, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) row(b);
  });
}

// h_in = h * dropout mask (one mask per sequence), or h itself.
template <typename T>
const T* dropped(const T* h, const T* d, int64_t n, std::vector<T>& buf) {
  if (d == nullptr) return h;
  for (int64_t i = 0; i < n; ++i) buf[i] = h[i] * d[i];
  return buf.data();
}

// ---- LSTM -------------------------------------------------------------------------------------
// Forward of steps [0, T): G (T,B,4H) holds W_ih x + both biases (input layer norm applied) on entry
// and the activated gates i,f,g,o on exit; h (B,P), c (B,H) are the running state, updated in place.
// Buffers with a leading dim of T (store) or 1 (scratch, inference): C c_t, TC tanh(c_t) (of the
// normalised c_t with layer norm), XH/RH and XC/RC the layer norms' xhat and 1/std.
template <typename T>
void lstm_forward_impl(const Tensor& h, const Tensor& c, const Tensor& w_hh_t,
                       const OptTensor& w_hr_t, const OptTensor& mask, const OptTensor& hdrop,
                       const OptTensor& ln_hh_w, const OptTensor& ln_hh_b, const OptTensor& ln_c_w,
                       const OptTensor& ln_c_b, double eps, const Tensor& out, const Tensor& G, const Tensor& C,
                       const Tensor& TC, const OptTensor& XH, const OptTensor& RH, const OptTensor& XC,
                       const OptTensor& RC, bool store) {
  const int64_t steps = G.size(0), B = G.size(1), G4 = G.size(2), H = G4 / 4, P = h.size(1);
  const bool proj = w_hr_t.has_value() && w_hr_t->defined();
  const T* d = ptr_or_null<T>(hdrop);
  const T *lw = ptr_or_null<T>(ln_hh_w), *lb = ptr_or_null<T>(ln_hh_b);
  const T *cw = ptr_or_null<T>(ln_c_w), *cb = ptr_or_null<T>(ln_c_b);
  const bool* M = mask_ptr(mask);
  T *hcur = h.data_ptr<T>(), *ccur = c.data_ptr<T>(), *Y = out.data_ptr<T>();
  T *Gb = G.data_ptr<T>(), *Cb = C.data_ptr<T>(), *TCb = TC.data_ptr<T>();
  T *XHb = mut_ptr_or_null<T>(XH), *RHb = mut_ptr_or_null<T>(RH);
  T *XCb = mut_ptr_or_null<T>(XC), *RCb = mut_ptr_or_null<T>(RC);
  RightMatrix<T> whh(w_hh_t);
  std::optional<RightMatrix<T>> whr;
  if (proj) whr.emplace(*w_hr_t);
  std::vector<T> hin_buf(d ? B * P : 0), hh(lw ? B * G4 : 0), hpre(proj ? B * H : 0), ybuf(cw ? B * H : 0);

  for (int64_t t = 0; t < steps; ++t) {
    const int64_t s = store ? t : 0;
    T *Gt = Gb + t * B * G4, *Ct = Cb + s * B * H, *TCt = TCb + s * B * H, *Yt = Y + t * B * P;
    // W_hh h straight onto the input projection, unless layer norm needs it on its own
    whh.mul(B, dropped(hcur, d, B * P, hin_buf), lw ? hh.data() : Gt, !lw);
    const bool* Mt = M ? M + t * B : nullptr;
    for_rows(B, G4, [&](int64_t b) {
      T* __restrict__ g = Gt + b * G4;
      T* __restrict__ cn = Ct + b * H;
      T* __restrict__ tc = TCt + b * H;
      T* __restrict__ cc = ccur + b * H;
      if (Mt && !Mt[b]) {  // padded: state stays, output and stored values are zero
        std::fill(g, g + G4, T(0));
        std::copy(cc, cc + H, cn);
        std::fill(tc, tc + H, T(0));
        if (XHb) std::fill(XHb + (s * B + b) * G4, XHb + (s * B + b + 1) * G4, T(0)), RHb[s * B + b] = 0;
        if (XCb) std::fill(XCb + (s * B + b) * H, XCb + (s * B + b + 1) * H, T(0)), RCb[s * B + b] = 0;
        if (proj) std::fill(hpre.data() + b * H, hpre.data() + (b + 1) * H, T(0));
        else std::fill(Yt + b * P, Yt + (b + 1) * P, T(0));
        return;
      }
      T* v = lw ? hh.data() + b * G4 : nullptr;
      if (lw) ln_row_forward(v, G4, lw, lb, T(eps), XHb + (s * B + b) * G4, RHb + s * B + b, v);
      lstm_gates_row(H, g, static_cast<const T*>(v), cc, cn);
      const T* src = cn;
      if (cw) {
        T* y = ybuf.data() + b * H;
        ln_row_forward(cn, H, cw, cb, T(eps), XCb + (s * B + b) * H, RCb + s * B + b, y);
        src = y;
      }
      T* __restrict__ hp = proj ? hpre.data() + b * H : Yt + b * P;
      for (int64_t j = 0; j < H; ++j) {
        const T th = tanh_(src[j]);
        tc[j] = th;
        hp[j] = g[3 * H + j] * th;                                 // hidden-state update
      }
      if (!proj) std::copy(hp, hp + H, hcur + b * P);
    });
    if (proj) {
      whr->mul(B, hpre.data(), Yt);                                // projection to proj_size
      for (int64_t b = 0; b < B; ++b) {
        if (Mt && !Mt[b]) std::fill(Yt + b * P, Yt + (b + 1) * P, T(0));
        else std::copy(Yt + b * P, Yt + (b + 1) * P, hcur + b * P);
      }
    }
  }
}

// Backward of steps [0, T) given the forward's stored buffers. dh (B,P) and dc (B,H) hold the
// gradient w.r.t. the state after the last step and are replaced by the gradient w.r.t. the state
// before the first; c_init is c before the first step. Writes dA (T,B,4H), the gradient w.r.t.
// the gate pre-activations; with layer norm on W_hh h also dV (T,B,4H), w.r.t. W_hh h itself;
// with a projection dHo (T,B,P), w.r.t. each step's projected h; with layer norm on c also dYC
// (T,B,H), w.r.t. the normalised c before its gain.
template <typename T>
void lstm_backward_impl(const Tensor& dout, const Tensor& dh, const Tensor& dc, const Tensor& c_init,
                        const Tensor& w_hh, const OptTensor& w_hr, const OptTensor& mask, const OptTensor& hdrop,
                        const OptTensor& ln_hh_w, const OptTensor& ln_c_w, const Tensor& G, const Tensor& C,
                        const Tensor& TC, const OptTensor& XH, const OptTensor& RH, const OptTensor& XC,
                        const OptTensor& RC, const Tensor& dA, const OptTensor& dV, const OptTensor& dHo,
                        const OptTensor& dYC) {
  const int64_t steps = G.size(0), B = G.size(1), G4 = G.size(2), H = G4 / 4, P = dh.size(1);
  const bool proj = w_hr.has_value() && w_hr->defined();
  const T *DO = dout.data_ptr<T>(), *d = ptr_or_null<T>(hdrop), *c0 = c_init.data_ptr<T>();
  const T *lw = ptr_or_null<T>(ln_hh_w), *cw = ptr_or_null<T>(ln_c_w);
  const T *Gb = G.data_ptr<T>(), *Cb = C.data_ptr<T>(), *TCb = TC.data_ptr<T>();
  const T *XHb = ptr_or_null<T>(XH), *RHb = ptr_or_null<T>(RH), *XCb = ptr_or_null<T>(XC), *RCb = ptr_or_null<T>(RC);
  const bool* M = mask_ptr(mask);
  T *dhc = dh.data_ptr<T>(), *dcc = dc.data_ptr<T>(), *DA = dA.data_ptr<T>();
  T *DV = mut_ptr_or_null<T>(dV), *DH = mut_ptr_or_null<T>(dHo), *DY = mut_ptr_or_null<T>(dYC);
  RightMatrix<T> whh(w_hh);
  std::optional<RightMatrix<T>> whr;
  if (proj) whr.emplace(*w_hr);
  std::vector<T> dhtot(B * P), dhpre(proj ? B * H : 0), dcn(cw ? B * H : 0), dhin(B * P);

  for (int64_t t = steps - 1; t >= 0; --t) {
    const bool* Mt = M ? M + t * B : nullptr;
    const T* DOt = DO + t * B * P;
    T* dht = proj ? DH + t * B * P : dhtot.data();  // gradient w.r.t. this step's (projected) h
    for (int64_t i = 0; i < B * P; ++i) dht[i] = dhc[i] + DOt[i];
    if (Mt)
      for (int64_t b = 0; b < B; ++b)
        if (!Mt[b]) std::fill(dht + b * P, dht + (b + 1) * P, T(0));
    if (proj) whr->mul(B, dht, dhpre.data());
    const T* dhp = proj ? dhpre.data() : dht;
    const T *Gt = Gb + t * B * G4, *TCt = TCb + t * B * H;
    const T* Cprev = t > 0 ? Cb + (t - 1) * B * H : c0;
    T* DAt = DA + t * B * G4;
    for_rows(B, G4, [&](int64_t b) {
      T* __restrict__ da = DAt + b * G4;
      if (Mt && !Mt[b]) {  // padded: no gate gradients, state gradients pass through
        std::fill(da, da + G4, T(0));
        if (DV) std::fill(DV + (t * B + b) * G4, DV + (t * B + b + 1) * G4, T(0));
        if (DY) std::fill(DY + (t * B + b) * H, DY + (t * B + b + 1) * H, T(0));
        return;
      }
      const T* __restrict__ g = Gt + b * G4;
      const T* __restrict__ tc = TCt + b * H;
      const T* __restrict__ cp = Cprev + b * H;
      const T* __restrict__ dy = dhp + b * H;
      T* __restrict__ dcr = dcc + b * H;
      if (cw) {  // through tanh(LN(c)): dLN = dh o (1 - tanh^2), then the layer norm's backward
        T* dyc = DY + (t * B + b) * H;
        for (int64_t j = 0; j < H; ++j) dyc[j] = dy[j] * g[3 * H + j] * (T(1) - tc[j] * tc[j]);
        T* dn = dcn.data() + b * H;
        ln_row_backward(dyc, H, cw, XCb + (t * B + b) * H, RCb[t * B + b], dn);
        for (int64_t j = 0; j < H; ++j) dcr[j] += dn[j];
      } else {
        for (int64_t j = 0; j < H; ++j) dcr[j] += dy[j] * g[3 * H + j] * (T(1) - tc[j] * tc[j]);
      }
      lstm_gates_row_backward(H, g, tc, cp, dy, dcr, da);
      if (lw) ln_row_backward(da, G4, lw, XHb + (t * B + b) * G4, RHb[t * B + b], DV + (t * B + b) * G4);
    });
    whh.mul(B, lw ? DV + t * B * G4 : DAt, dhin.data());         // to h_{t-1} through W_hh
    for (int64_t b = 0; b < B; ++b) {
      if (Mt && !Mt[b]) continue;
      for (int64_t j = 0; j < P; ++j) dhc[b * P + j] = dhin[b * P + j] * (d ? d[b * P + j] : T(1));
    }
  }
}

// ---- GRU --------------------------------------------------------------------------------------
// Forward: G (T,B,4H) holds W_ih x + b_ih (input layer norm applied) in its first 3H columns on
// entry and r, z, n, vn = (W_hh h + b_hh)_n on exit; b_hh (3H) enters with W_hh h, inside the reset
// gate's product for n.
template <typename T>
void gru_forward_impl(const Tensor& h, const Tensor& w_hh_t, const OptTensor& b_hh,
                      const OptTensor& mask, const OptTensor& hdrop, const OptTensor& ln_hh_w,
                      const OptTensor& ln_hh_b, double eps, const Tensor& out, const Tensor& G, const OptTensor& XH,
                      const OptTensor& RH, bool store) {
  const int64_t steps = G.size(0), B = G.size(1), H = G.size(2) / 4, G3 = 3 * H;
  const T *d = ptr_or_null<T>(hdrop), *bh = ptr_or_null<T>(b_hh);
  const T *lw = ptr_or_null<T>(ln_hh_w), *lb = ptr_or_null<T>(ln_hh_b);
  const bool* M = mask_ptr(mask);
  T *hcur = h.data_ptr<T>(), *Y = out.data_ptr<T>(), *Gb = G.data_ptr<T>();
  T *XHb = mut_ptr_or_null<T>(XH), *RHb = mut_ptr_or_null<T>(RH);
  RightMatrix<T> whh(w_hh_t);
  std::vector<T> hin_buf(d ? B * H : 0), hh(B * G3);

  for (int64_t t = 0; t < steps; ++t) {
    const int64_t s = store ? t : 0;
    whh.mul(B, dropped(hcur, d, B * H, hin_buf), hh.data());
    T *Gt = Gb + t * B * 4 * H, *Yt = Y + t * B * H;
    const bool* Mt = M ? M + t * B : nullptr;
    for_rows(B, G3, [&](int64_t b) {
      T* __restrict__ g = Gt + b * 4 * H;
      T* __restrict__ y = Yt + b * H;
      if (Mt && !Mt[b]) {
        std::fill(g, g + 4 * H, T(0));
        std::fill(y, y + H, T(0));
        if (XHb) std::fill(XHb + (s * B + b) * G3, XHb + (s * B + b + 1) * G3, T(0)), RHb[s * B + b] = 0;
        return;
      }
      T* __restrict__ v = hh.data() + b * G3;
      if (lw) ln_row_forward(v, G3, lw, lb, T(eps), XHb + (s * B + b) * G3, RHb + s * B + b, v);
      if (bh)
        for (int64_t j = 0; j < G3; ++j) v[j] += bh[j];
      gru_gates_row(H, g, v, hcur + b * H, y);
    });
  }
}

// Backward: out (T,B,H) are the forward's outputs (h_t at real steps), h_init the state before the
// first step. Writes dXP (T,B,3H) w.r.t. xp, dHP (T,B,3H) w.r.t. W_hh h + b_hh, and with layer
// norm dV (T,B,3H) w.r.t. W_hh h itself.
template <typename T>
void gru_backward_impl(const Tensor& dout, const Tensor& dh, const Tensor& h_init, const Tensor& w_hh,
                       const OptTensor& mask, const OptTensor& hdrop, const OptTensor& ln_hh_w, const Tensor& G,
                       const Tensor& out, const OptTensor& XH, const OptTensor& RH, const Tensor& dXP,
                       const Tensor& dHP, const OptTensor& dV) {
  const int64_t steps = G.size(0), B = G.size(1), H = G.size(2) / 4, G3 = 3 * H;
  const T *DO = dout.data_ptr<T>(), *d = ptr_or_null<T>(hdrop), *h0 = h_init.data_ptr<T>();
  const T *lw = ptr_or_null<T>(ln_hh_w), *Gb = G.data_ptr<T>(), *Yb = out.data_ptr<T>();
  const T *XHb = ptr_or_null<T>(XH), *RHb = ptr_or_null<T>(RH);
  const bool* M = mask_ptr(mask);
  T *dhc = dh.data_ptr<T>(), *DX = dXP.data_ptr<T>(), *DHP = dHP.data_ptr<T>(), *DV = mut_ptr_or_null<T>(dV);
  RightMatrix<T> whh(w_hh);
  std::vector<T> dhin(B * H);

  for (int64_t t = steps - 1; t >= 0; --t) {
    const bool* Mt = M ? M + t * B : nullptr;
    const T *Gt = Gb + t * B * 4 * H, *DOt = DO + t * B * H;
    const T* Hprev = t > 0 ? Yb + (t - 1) * B * H : h0;
    for_rows(B, G3, [&](int64_t b) {
      T* __restrict__ dx = DX + (t * B + b) * G3;
      T* __restrict__ dhp = DHP + (t * B + b) * G3;
      if (Mt && !Mt[b]) {
        std::fill(dx, dx + G3, T(0));
        std::fill(dhp, dhp + G3, T(0));
        if (DV) std::fill(DV + (t * B + b) * G3, DV + (t * B + b + 1) * G3, T(0));
        return;
      }
      const T* __restrict__ g = Gt + b * 4 * H;
      const T* __restrict__ hp = Hprev + b * H;
      const T* __restrict__ dot = DOt + b * H;
      T* __restrict__ dhr = dhc + b * H;
      gru_gates_row_backward(H, g, hp, dot, dhr, dx, dhp);
      if (lw) ln_row_backward(dhp, G3, lw, XHb + (t * B + b) * G3, RHb[t * B + b], DV + (t * B + b) * G3);
    });
    whh.mul(B, lw ? DV + t * B * G3 : DHP + t * B * G3, dhin.data());
    for (int64_t b = 0; b < B; ++b) {
      if (Mt && !Mt[b]) continue;
      for (int64_t j = 0; j < H; ++j) dhc[b * H + j] += dhin[b * H + j] * (d ? d[b * H + j] : T(1));
    }
  }
}

// ---- Elman ------------------------------------------------------------------------------------
// Forward: out (T,B,H) holds W_ih x + b_ih + b_hh on entry and h_t = act(that + W_hh h_{t-1}) on
// exit. The outputs are all the backward needs (tanh' = 1 - h^2, relu' = [h > 0]).
template <typename T>
void elman_forward_impl(const Tensor& h, const Tensor& w_hh_t, const OptTensor& mask, const OptTensor& hdrop,
                        bool relu, const Tensor& out) {
  const int64_t steps = out.size(0), B = out.size(1), H = out.size(2);
  const T* d = ptr_or_null<T>(hdrop);
  const bool* M = mask_ptr(mask);
  T *hcur = h.data_ptr<T>(), *Y = out.data_ptr<T>();
  RightMatrix<T> whh(w_hh_t);
  std::vector<T> hin_buf(d ? B * H : 0);
  for (int64_t t = 0; t < steps; ++t) {
    T* Yt = Y + t * B * H;
    whh.mul(B, dropped(hcur, d, B * H, hin_buf), Yt, true);  // onto the input projection
    const bool* Mt = M ? M + t * B : nullptr;
    for_rows(B, 4 * H, [&](int64_t b) {
      T* __restrict__ y = Yt + b * H;
      if (Mt && !Mt[b]) {
        std::fill(y, y + H, T(0));
        return;
      }
      T* __restrict__ hc = hcur + b * H;
      if (relu) {
        for (int64_t j = 0; j < H; ++j) y[j] = std::max(y[j], T(0));
      } else {
        for (int64_t j = 0; j < H; ++j) y[j] = tanh_(y[j]);
      }
      std::copy(y, y + H, hc);
    });
  }
}

template <typename T>
void elman_backward_impl(const Tensor& dout, const Tensor& dh, const Tensor& w_hh, const OptTensor& mask,
                         const OptTensor& hdrop, bool relu, const Tensor& out, const Tensor& dA) {
  const int64_t steps = out.size(0), B = out.size(1), H = out.size(2);
  const T *DO = dout.data_ptr<T>(), *d = ptr_or_null<T>(hdrop), *Yb = out.data_ptr<T>();
  const bool* M = mask_ptr(mask);
  T *dhc = dh.data_ptr<T>(), *DA = dA.data_ptr<T>();
  RightMatrix<T> whh(w_hh);
  std::vector<T> dhin(B * H);
  for (int64_t t = steps - 1; t >= 0; --t) {
    const bool* Mt = M ? M + t * B : nullptr;
    for_rows(B, 2 * H, [&](int64_t b) {
      const int64_t o = (t * B + b) * H;
      T* __restrict__ da = DA + o;
      if (Mt && !Mt[b]) {
        std::fill(da, da + H, T(0));
        return;
      }
      const T* __restrict__ y = Yb + o;
      const T* __restrict__ dot = DO + o;
      const T* __restrict__ dhr = dhc + b * H;
      if (relu) {
        for (int64_t j = 0; j < H; ++j) da[j] = y[j] > T(0) ? dhr[j] + dot[j] : T(0);
      } else {
        for (int64_t j = 0; j < H; ++j) da[j] = (dhr[j] + dot[j]) * (T(1) - y[j] * y[j]);
      }
    });
    whh.mul(B, DA + t * B * H, dhin.data());
    for (int64_t b = 0; b < B; ++b) {
      if (Mt && !Mt[b]) continue;
      for (int64_t j = 0; j < H; ++j) dhc[b * H + j] = dhin[b * H + j] * (d ? d[b * H + j] : T(1));
    }
  }
}

// ---- dtype dispatch and registration ------------------------------------------------------------
#define RNNKIT_DISPATCH(dtype, NAME, ...)                                                  \
  do {                                                                                     \
    if ((dtype) == at::kFloat) NAME<float>(__VA_ARGS__);                                   \
    else if ((dtype) == at::kDouble) NAME<double>(__VA_ARGS__);                            \
    else TORCH_CHECK(false, "rnnkit native loops support float32 and float64, got ", dtype); \
  } while (0)

// out = a (M, K) @ w (K, N): the backward's dX = dXP W_ih, about 1.2x MKL's sgemm at these shapes.
// (dW = dXP^T X reads A transposed, where MKL stays faster: that one is left to torch.mm.)
template <typename T>
void matmul_impl(const Tensor& a, const Tensor& w, const Tensor& out) {
  TORCH_CHECK(a.is_contiguous() && w.is_contiguous() && out.is_contiguous(), "matmul: expects row-major operands");
  const Gemm g{static_cast<int>(a.size(0)), static_cast<int>(a.size(1)), static_cast<int>(w.size(1)), a.size(1),
               w.size(1), w.size(1)};
  gemm<T>(g, a.data_ptr<T>(), w.data_ptr<T>(), nullptr, out.data_ptr<T>());
}

void matmul(const Tensor& a, const Tensor& w, const Tensor& out) {
  RNNKIT_DISPATCH(a.scalar_type(), matmul_impl, a, w, out);
}

// out (M, N), rows ldc apart = x (M, K) @ w_t (K, N) + bias: the input projection of all steps.
template <typename T>
void linear_impl(const Tensor& x, const Tensor& w_t, const OptTensor& bias, const Tensor& out) {
  TORCH_CHECK(x.is_contiguous() && w_t.is_contiguous() && out.stride(1) == 1, "linear: expects row-major operands");
  const Gemm g{static_cast<int>(x.size(0)), static_cast<int>(x.size(1)), static_cast<int>(w_t.size(1)),
               x.size(1), w_t.size(1), out.stride(0)};
  gemm<T>(g, x.data_ptr<T>(), w_t.data_ptr<T>(), ptr_or_null<T>(bias), out.data_ptr<T>());
}

void linear(const Tensor& x, const Tensor& w_t, const OptTensor& bias, const Tensor& out) {
  RNNKIT_DISPATCH(x.scalar_type(), linear_impl, x, w_t, bias, out);
}

void lstm_forward(const Tensor& h, const Tensor& c, const Tensor& w_hh_t, const OptTensor& w_hr_t,
                  const OptTensor& mask, const OptTensor& hdrop, const OptTensor& ln_hh_w, const OptTensor& ln_hh_b,
                  const OptTensor& ln_c_w, const OptTensor& ln_c_b, double eps, const Tensor& out, const Tensor& G,
                  const Tensor& C, const Tensor& TC, const OptTensor& XH, const OptTensor& RH, const OptTensor& XC,
                  const OptTensor& RC, bool store) {
  RNNKIT_DISPATCH(G.scalar_type(), lstm_forward_impl, h, c, w_hh_t, w_hr_t, mask, hdrop, ln_hh_w, ln_hh_b,
                  ln_c_w, ln_c_b, eps, out, G, C, TC, XH, RH, XC, RC, store);
}

void lstm_backward(const Tensor& dout, const Tensor& dh, const Tensor& dc, const Tensor& c_init, const Tensor& w_hh,
                   const OptTensor& w_hr, const OptTensor& mask, const OptTensor& hdrop, const OptTensor& ln_hh_w,
                   const OptTensor& ln_c_w, const Tensor& G, const Tensor& C, const Tensor& TC, const OptTensor& XH,
                   const OptTensor& RH, const OptTensor& XC, const OptTensor& RC, const Tensor& dA,
                   const OptTensor& dV, const OptTensor& dHo, const OptTensor& dYC) {
  RNNKIT_DISPATCH(G.scalar_type(), lstm_backward_impl, dout, dh, dc, c_init, w_hh, w_hr, mask, hdrop, ln_hh_w,
                  ln_c_w, G, C, TC, XH, RH, XC, RC, dA, dV, dHo, dYC);
}

void gru_forward(const Tensor& h, const Tensor& w_hh_t, const OptTensor& b_hh, const OptTensor& mask,
                 const OptTensor& hdrop, const OptTensor& ln_hh_w, const OptTensor& ln_hh_b, double eps,
                 const Tensor& out, const Tensor& G, const OptTensor& XH, const OptTensor& RH, bool store) {
  RNNKIT_DISPATCH(G.scalar_type(), gru_forward_impl, h, w_hh_t, b_hh, mask, hdrop, ln_hh_w, ln_hh_b, eps, out,
                  G, XH, RH, store);
}

void gru_backward(const Tensor& dout, const Tensor& dh, const Tensor& h_init, const Tensor& w_hh,
                  const OptTensor& mask, const OptTensor& hdrop, const OptTensor& ln_hh_w, const Tensor& G,
                  const Tensor& out, const OptTensor& XH, const OptTensor& RH, const Tensor& dXP, const Tensor& dHP,
                  const OptTensor& dV) {
  RNNKIT_DISPATCH(G.scalar_type(), gru_backward_impl, dout, dh, h_init, w_hh, mask, hdrop, ln_hh_w, G, out, XH, RH,
                  dXP, dHP, dV);
}

void elman_forward(const Tensor& h, const Tensor& w_hh_t, const OptTensor& mask, const OptTensor& hdrop, bool relu,
                   const Tensor& out) {
  RNNKIT_DISPATCH(out.scalar_type(), elman_forward_impl, h, w_hh_t, mask, hdrop, relu, out);
}

void elman_backward(const Tensor& dout, const Tensor& dh, const Tensor& w_hh, const OptTensor& mask,
                    const OptTensor& hdrop, bool relu, const Tensor& out, const Tensor& dA) {
  RNNKIT_DISPATCH(out.scalar_type(), elman_backward_impl, dout, dh, w_hh, mask, hdrop, relu, out, dA);
}

}  // namespace

TORCH_LIBRARY(rnnkit_native, m) {
  m.def("linear(Tensor x, Tensor w_t, Tensor? bias, Tensor out) -> ()", &linear);
  m.def("matmul(Tensor a, Tensor w, Tensor out) -> ()", &matmul);
  m.def("lstm_forward(Tensor h, Tensor c, Tensor w_hh_t, Tensor? w_hr_t, Tensor? mask, Tensor? hdrop, "
        "Tensor? ln_hh_w, Tensor? ln_hh_b, Tensor? ln_c_w, Tensor? ln_c_b, float eps, Tensor out, Tensor G, "
        "Tensor C, Tensor TC, Tensor? XH, Tensor? RH, Tensor? XC, Tensor? RC, bool store) -> ()",
        &lstm_forward);
  m.def("lstm_backward(Tensor dout, Tensor dh, Tensor dc, Tensor c_init, Tensor w_hh, Tensor? w_hr, Tensor? mask, "
        "Tensor? hdrop, Tensor? ln_hh_w, Tensor? ln_c_w, Tensor G, Tensor C, Tensor TC, Tensor? XH, Tensor? RH, "
        "Tensor? XC, Tensor? RC, Tensor dA, Tensor? dV, Tensor? dHo, Tensor? dYC) -> ()",
        &lstm_backward);
  m.def("gru_forward(Tensor h, Tensor w_hh_t, Tensor? b_hh, Tensor? mask, Tensor? hdrop, "
        "Tensor? ln_hh_w, Tensor? ln_hh_b, float eps, Tensor out, Tensor G, Tensor? XH, Tensor? RH, bool store) -> ()",
        &gru_forward);
  m.def("gru_backward(Tensor dout, Tensor dh, Tensor h_init, Tensor w_hh, Tensor? mask, Tensor? hdrop, "
        "Tensor? ln_hh_w, Tensor G, Tensor out, Tensor? XH, Tensor? RH, Tensor dXP, Tensor dHP, Tensor? dV) -> ()",
        &gru_backward);
  m.def("elman_forward(Tensor h, Tensor w_hh_t, Tensor? mask, Tensor? hdrop, bool relu, Tensor out) -> ()",
        &elman_forward);
  m.def("elman_backward(Tensor dout, Tensor dh, Tensor w_hh, Tensor? mask, Tensor? hdrop, bool relu, Tensor out, "
        "Tensor dA) -> ()",
        &elman_backward);
}
