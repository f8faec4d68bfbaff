/* Dataset spec strings ("cifar10:DIR", "fashion-mnist", ...) shared by the
 * CLI, the quantizer and the examples. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "data/dataset.h"

#define FASHION_MNIST_DEFAULT "/usr/share/datasets/fashion-mnist"

static int exists(const char *p, int want_dir) {
  struct stat sb;
  return stat(p, &sb) == 0 && (want_dir ? S_ISDIR(sb.st_mode) : S_ISREG(sb.st_mode));
}

/* DIR/<stem>[.gz] -> path, preferring whichever exists (.gz first). */
static void idx_path(char *out, size_t n, const char *dir, const char *stem) {
  snprintf(out, n, "%s/%s.gz", dir, stem);
  if (exists(out, 0)) return;
  snprintf(out, n, "%s/%s", dir, stem);
}

static ldnq_status open_idx_dir(const char *dir, ldnq_split split, ldnq_preset preset, ldnq_dataset **out) {
  char img[4200], lab[4200];
  const char *p = split == LDNQ_SPLIT_TRAIN ? "train" : "t10k";
  char stem[64];
  snprintf(stem, sizeof stem, "%s-images-idx3-ubyte", p);
  idx_path(img, sizeof img, dir, stem);
  snprintf(stem, sizeof stem, "%s-labels-idx1-ubyte", p);
  idx_path(lab, sizeof lab, dir, stem);
  ldnq_status st = ldnq_dataset_open_idx(img, lab, out);
  if (st == LDNQ_OK) (*out)->preset = preset;
  return st;
}

static ldnq_status open_folder(const char *dir, ldnq_split split, ldnq_dataset **out) {
  static const char *train[] = {"train", NULL}, *test[] = {"val", "test", NULL};
  char p[4200];
  for (const char **s = split == LDNQ_SPLIT_TRAIN ? train : test; *s; s++) {
    snprintf(p, sizeof p, "%s/%s", dir, *s);
    if (exists(p, 1)) return ldnq_dataset_open_imagefolder(p, out);
  }
  return ldnq_dataset_open_imagefolder(dir, out);
}

LDNQ_API ldnq_status ldnq_dataset_open_spec(const char *spec, ldnq_split split, ldnq_dataset **out) {
  if (!spec || !out) return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "ldnq_dataset_open_spec: NULL argument");
  *out = NULL;
  if (split != LDNQ_SPLIT_TRAIN && split != LDNQ_SPLIT_TEST)
    return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "unknown split %d", (int)split);
  const char *colon = strchr(spec, ':');
  size_t kl = colon ? (size_t)(colon - spec) : strlen(spec);
  const char *dir = colon ? colon + 1 : NULL;
  if (dir && strlen(dir) > 4000) return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "dataset path too long");
#define KIND(s) (kl == strlen(s) && !strncmp(spec, s, kl))
  if (KIND("fashion-mnist"))
    return open_idx_dir(dir && *dir ? dir : FASHION_MNIST_DEFAULT, split, LDNQ_PRESET_FASHION_MNIST, out);
  if (!dir || !*dir) {
    if (KIND("cifar10") || KIND("cifar10-py") || KIND("mnist") || KIND("imagefolder"))
      return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "dataset spec '%s' needs a folder: '%.*s:DIR'", spec, (int)kl, spec);
  } else if (KIND("cifar10")) {
    return ldnq_dataset_open_cifar10(dir, split, out);
  } else if (KIND("cifar10-py")) {
    return ldnq__open_cifar10_py(dir, split, out);
  } else if (KIND("mnist")) {
    return open_idx_dir(dir, split, LDNQ_PRESET_MNIST, out);
  } else if (KIND("imagefolder")) {
    return open_folder(dir, split, out);
  }
#undef KIND
  return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG,
                    "unknown dataset spec '%s' (cifar10:DIR, cifar10-py:DIR, mnist:DIR, fashion-mnist[:DIR], "
                    "imagefolder:DIR)", spec);
}
