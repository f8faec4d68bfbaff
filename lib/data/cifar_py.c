/* CIFAR-10 python version (pickled dicts of numpy arrays). Needs the pickle
 * reader of lib/io, which has not landed on this branch yet. */
#include "data/dataset.h"

ldnq_status ldnq__open_cifar10_py(const char *dir, ldnq_split split, ldnq_dataset **out) {
  (void)split;
  *out = NULL;
  return ldnq__fail(NULL, LDNQ_ERR_UNSUPPORTED,
                    "cifar10-py:%s: the CIFAR-10 python version needs the pickle reader (not in this build); "
                    "use the binary version (cifar10:DIR)", dir);
}
