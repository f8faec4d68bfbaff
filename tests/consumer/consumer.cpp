// C++ consumer: the public headers compile as C++ and link (extern "C").
#include <cstdio>
#include <ldnq/ldnq.h>
#include <ldnq/experimental.h>

int main() {
  ldnq_tensor *t = nullptr;
  int64_t shape[2] = {2, 2};
  if (ldnq_tensor_create(2, shape, &t) != LDNQ_OK) return 1;
  float v[4] = {1, 2, 3, 4};
  if (ldnq_tensor_write(t, v, 4) != LDNQ_OK) return 1;
  float out[4] = {};
  if (ldnq_tensor_read(t, out, 4) != LDNQ_OK || out[3] != 4.0f) return 1;
  ldnq_tensor_free(t);
  if (ldnq_tensor_numel(nullptr, nullptr) != LDNQ_ERR_INVALID_ARG) return 1;
  std::printf("c++ consumer ok: %s\n", ldnq_status_string(LDNQ_ERR_FORMAT));
  return 0;
}
