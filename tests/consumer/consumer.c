/* Out-of-tree consumer: built against an INSTALLED libldnq by
 * tests/sh/install_consumer.sh (pkg-config and find_package). */
#include <stdio.h>
#include <ldnq/ldnq.h>

int main(void) {
  if (ldnq_version_number() != LDNQ_VERSION_NUMBER) {
    fprintf(stderr, "header/library version mismatch\n");
    return 1;
  }
  int64_t shape[1] = {4};
  ldnq_tensor *t = NULL;
  if (ldnq_tensor_create(1, shape, &t) != LDNQ_OK) {
    fprintf(stderr, "create failed: %s\n", ldnq_last_error());
    return 1;
  }
  ldnq_tensor_free(t);
  printf("consumer ok %s\n", ldnq_version_string());
  return 0;
}
