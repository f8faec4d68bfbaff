// C++ consumer: the public headers compile as C++ and link (extern "C"). Also exercises the
// callback shapes from C++ (user_data carrying a C++ object, captureless functions as C
// function pointers) and owning the handles with std::unique_ptr deleters.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>
#include <ldnq/ldnq.h>
#include <ldnq/experimental.h>

namespace {

struct TensorDel {
  void operator()(ldnq_tensor *t) const { ldnq_tensor_free(t); }
};
struct NetDel {
  void operator()(ldnq_network *n) const { ldnq_network_free(n); }
};
struct QuantDel {
  void operator()(ldnq_quantizer *q) const { ldnq_quantizer_free(q); }
};
struct ResultDel {
  void operator()(ldnq_layer_result *r) const { ldnq_layer_result_free(r); }
};
using Tensor = std::unique_ptr<ldnq_tensor, TensorDel>;

int fail(const char *what) {
  std::fprintf(stderr, "c++ consumer: %s: %s\n", what, ldnq_last_error());
  return 1;
}

// Tap: collects the names of the layers a forward runs through.
int tap(void *user_data, const char *layer, const ldnq_tensor *) {
  static_cast<std::vector<std::string> *>(user_data)->push_back(layer);
  return 0;
}

// Activations of a linear layer: two batches, then "no more".
struct Batches {
  std::vector<Tensor> batches;
};
int activations(void *user_data, int64_t index, const ldnq_tensor **batch) {
  Batches *b = static_cast<Batches *>(user_data);
  *batch = index < static_cast<int64_t>(b->batches.size()) ? b->batches[index].get() : nullptr;
  return 0;
}

}  // namespace

int main() {
  ldnq_tensor *raw = nullptr;
  int64_t shape[2] = {2, 2};
  if (ldnq_tensor_create(2, shape, &raw) != LDNQ_OK) return fail("tensor_create");
  Tensor t(raw);
  float v[4] = {1, 2, 3, 4};
  if (ldnq_tensor_write(t.get(), v, 4) != LDNQ_OK) return fail("write");
  float out[4] = {};
  if (ldnq_tensor_read(t.get(), out, 4) != LDNQ_OK || out[3] != 4.0f) return fail("read");
  if (ldnq_tensor_numel(nullptr, nullptr) != LDNQ_ERR_INVALID_ARG) return 1;

  // Network forward with a tap.
  ldnq_network *net_raw = nullptr;
  if (ldnq_network_create(LDNQ_ARCH_RESNET20, 1, 10, &net_raw) != LDNQ_OK)
    return fail("network_create");
  std::unique_ptr<ldnq_network, NetDel> net(net_raw);
  std::vector<std::string> seen;
  if (ldnq_network_set_tap(net.get(), tap, &seen) != LDNQ_OK) return fail("set_tap");
  int64_t xs[4] = {1, 1, 16, 16}, ys[2] = {1, 10};
  ldnq_tensor *x = nullptr, *y = nullptr;
  if (ldnq_tensor_create(4, xs, &x) || ldnq_tensor_create(2, ys, &y)) return fail("tensors");
  Tensor xt(x), yt(y);
  ldnq_tensor_fill(x, 0.25f);
  if (ldnq_network_forward(net.get(), x, y) != LDNQ_OK) return fail("forward");
  int64_t layers = 0;
  ldnq_network_layer_count_v2(net.get(), &layers);
  if (static_cast<int64_t>(seen.size()) != layers || seen.back() != "fc") return fail("tap");
  // A wrong input shape is an error with a message on the handle, not a crash.
  int64_t bad[4] = {1, 3, 16, 16};
  ldnq_tensor *xb = nullptr;
  ldnq_tensor_create(4, bad, &xb);
  Tensor xbt(xb);
  if (ldnq_network_forward(net.get(), xb, y) != LDNQ_ERR_SHAPE ||
      std::string(ldnq_network_errmsg(net.get())).empty())
    return fail("bad shape accepted");

  // Per-layer solver with activations from a C++ object.
  ldnq_quantizer *q_raw = nullptr;
  if (ldnq_quantizer_create(&q_raw) != LDNQ_OK) return fail("quantizer_create");
  std::unique_ptr<ldnq_quantizer, QuantDel> q(q_raw);
  // One scale for the layer (the improved default profile has one per channel): the check
  // below reads the weights as alpha x codes.
  if (ldnq_quantizer_set_int(q.get(), LDNQ_Q_PER_CHANNEL, 0) != LDNQ_OK) return fail("per_channel");
  Batches b;
  for (int k = 0; k < 2; k++) {
    int64_t as[2] = {8, 4};
    ldnq_tensor *a = nullptr;
    if (ldnq_tensor_create(2, as, &a) != LDNQ_OK) return fail("batch");
    float *d = nullptr;
    ldnq_tensor_data(a, &d);
    for (int i = 0; i < 32; i++) d[i] = static_cast<float>((i * 7 + k * 3) % 11) / 11.0f;
    b.batches.emplace_back(a);
  }
  const float w[3 * 4] = {0.5f, -0.25f, 0.1f, 0.0f, 0.3f, 0.3f, -0.6f, 0.2f,
                          -0.1f, 0.05f, 0.4f, -0.45f};
  ldnq_layer_result *r_raw = nullptr;
  if (ldnq_quantizer_solve_linear(q.get(), 4, 3, 0, w, nullptr, activations, &b, &r_raw) !=
      LDNQ_OK)
    return fail("solve_linear");
  std::unique_ptr<ldnq_layer_result, ResultDel> r(r_raw);
  double alpha = 0;
  int8_t codes[12];
  float qw[12];
  if (ldnq_layer_result_get_double(r.get(), LDNQ_R_ALPHA, &alpha) ||
      ldnq_layer_result_codes(r.get(), codes, 12) || ldnq_layer_result_weights(r.get(), qw, 12))
    return fail("result");
  for (int i = 0; i < 12; i++)
    if (codes[i] < -1 || codes[i] > 1 || qw[i] != static_cast<float>(alpha * codes[i]))
      return fail("codes");
  std::printf("c++ consumer ok: %s\n", ldnq_status_string(LDNQ_ERR_FORMAT));
  return 0;
}
