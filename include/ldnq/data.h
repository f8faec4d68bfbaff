/* libldnq: datasets, transforms, limited subsets, batching, evaluation.
 *
 * Pipeline: a dataset yields samples (uint8 images for file formats, float
 * [C,H,W] for callback datasets); a transform turns one sample into a
 * float [C,H,W] tensor (torchvision semantics); a subset picks the limited
 * calibration set; a loader batches samples on background threads into
 * [N,C,H,W] float tensors and int32 labels; ldnq_evaluate_v2 measures top-1 /
 * top-5 accuracy of a network over a loader.
 *
 * Handles that refer to a dataset (subset views, loaders) keep it alive:
 * ldnq_dataset_free on the caller's handle is always safe. Functions
 * marked read-only report failures through ldnq_last_error() only (not
 * the handle's errmsg), so they can run concurrently.
 */
#ifndef LDNQ_DATA_H
#define LDNQ_DATA_H

#include "common.h"
#include "comm.h"
#include "tensor.h"
#include "network.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Progress of a long pass: `done` out of `total` units (batches). Return 0
 * to continue, nonzero to stop (the call then fails with
 * LDNQ_ERR_CANCELLED). Runs on the calling thread. */
typedef int (*ldnq_data_progress_fn)(void *user_data, int64_t done,
                                     int64_t total);

/* ---- Presets (normalisation and augmentation of the paper) ---- */
typedef enum ldnq_preset {
  LDNQ_PRESET_NONE = 0,          /* x/255 only (callback data: as is) */
  LDNQ_PRESET_CIFAR10 = 1,       /* mean (0.4914,0.4822,0.4465), std (0.2023,0.1994,0.2010) */
  LDNQ_PRESET_IMAGENET = 2,      /* mean (0.485,0.456,0.406), std (0.229,0.224,0.225) */
  LDNQ_PRESET_FASHION_MNIST = 3, /* x/255, mean 0.2860, std 0.3530, zero-pad 2 -> 1x32x32 */
  LDNQ_PRESET_MNIST = 4          /* as Fashion-MNIST with mean 0.1307, std 0.3081 */
} ldnq_preset;

typedef enum ldnq_split {
  LDNQ_SPLIT_TRAIN = 0,
  LDNQ_SPLIT_TEST = 1 /* test / validation */
} ldnq_split;

/* ---- Datasets ---- */
typedef struct ldnq_dataset ldnq_dataset;

/* IDX files (MNIST, Fashion-MNIST), each plain or gzip-compressed
 * (detected from the content). Images: magic 0x00000803 [N,H,W] uint8;
 * labels: 0x00000801 [N] uint8. N must agree. Loaded into memory. Preset
 * NONE (set one with ldnq_dataset_set_preset). Caller owns *out. */
LDNQ_API ldnq_status ldnq_dataset_open_idx(const char *images_path,
                                           const char *labels_path,
                                           ldnq_dataset **out);
/* CIFAR-10 binary version: `dir` holds data_batch_1..5.bin (train) or
 * test_batch.bin (test), directly or in a cifar-10-batches-bin/
 * subfolder. Records of 1 label byte + 3072 pixel bytes. Preset CIFAR10. */
LDNQ_API ldnq_status ldnq_dataset_open_cifar10(const char *dir,
                                               ldnq_split split,
                                               ldnq_dataset **out);
/* Image folder root/<class>/<...>/<file>: classes are the sub-folders of
 * root sorted by name (byte order, like torchvision ImageFolder), files
 * (JPEG or PNG, by content; names ending .jpg/.jpeg/.png, any case) sorted
 * per folder, sub-folders walked recursively. Every class folder must hold
 * at least one image (else LDNQ_ERR_NOT_FOUND). Images decode to RGB8.
 * Preset IMAGENET. */
LDNQ_API ldnq_status ldnq_dataset_open_imagefolder(const char *root,
                                                   ldnq_dataset **out);

/* Fills one sample: `image` has channels*height*width floats, [C,H,W];
 * `*label` must be set in [0, num_classes). Return 0 on success, nonzero
 * on failure (-> LDNQ_ERR_CALLBACK). May be called concurrently from
 * loader threads (set LDNQ_LOADER_THREADS to 0 to avoid that). */
typedef int (*ldnq_sample_fn)(void *user_data, int64_t index, float *image,
                              int32_t *label);
/* Dataset backed by a callback. count in [1, 2^40], channels in [1, 64],
 * height and width in [1, 65536], num_classes in [1, 100000]. user_data is
 * borrowed and must outlive the dataset and its loaders. Preset NONE:
 * values pass through unchanged unless a transform normalises them. */
LDNQ_API ldnq_status ldnq_dataset_create_callback(
    int64_t count, int channels, int height, int width, int num_classes,
    ldnq_sample_fn fn, void *user_data, ldnq_dataset **out);

/* Opens a dataset from a spec string:
 *   "cifar10:DIR"          CIFAR-10 binary version
 *   "cifar10-py:DIR"       CIFAR-10 python version (cifar-10-batches-py)
 *   "mnist:DIR"            MNIST IDX files (train-/t10k-images-idx3-ubyte[.gz])
 *   "fashion-mnist[:DIR]"  Fashion-MNIST IDX files, default DIR
 *                          /usr/share/datasets/fashion-mnist
 *   "imagefolder:DIR"      DIR/train or DIR/val (else DIR/test, else DIR)
 * and sets the matching preset. Caller owns *out. */
LDNQ_API ldnq_status ldnq_dataset_open_spec(const char *spec, ldnq_split split,
                                            ldnq_dataset **out);

/* Releases the caller's reference. Accepts NULL. */
LDNQ_API void ldnq_dataset_free(ldnq_dataset *ds);
/* Last failure on this handle ("" if none); owned by the handle.
 * Accepts NULL (returns a static ""). */
LDNQ_API const char *ldnq_dataset_errmsg(const ldnq_dataset *ds);
/* Status of the last failure recorded on this handle (LDNQ_OK if none or
 * after a successful non-const call); LDNQ_ERR_INVALID_ARG for NULL. */
LDNQ_API ldnq_status ldnq_dataset_errcode(const ldnq_dataset *ds);

/* Number of samples. Read-only. */
LDNQ_API ldnq_status ldnq_dataset_count(const ldnq_dataset *ds, int64_t *out);
/* Number of classes (labels lie in [0, n)). Read-only. */
LDNQ_API ldnq_status ldnq_dataset_num_classes(const ldnq_dataset *ds,
                                              int *out);
/* Name of class `index` ("0".."9" for IDX and CIFAR-10 unless named, the
 * folder name for image folders); owned by the dataset. Read-only. */
LDNQ_API ldnq_status ldnq_dataset_class_name(const ldnq_dataset *ds,
                                             int index, const char **out);
/* Raw sample shape before transforms: channels, height, width. Height
 * and width are 0 when samples differ in size (image folders). Any
 * pointer may be NULL. Read-only. */
LDNQ_API ldnq_status ldnq_dataset_sample_shape(const ldnq_dataset *ds,
                                               int *channels, int *height,
                                               int *width);
/* Label of sample `index` without decoding the image. Read-only. */
LDNQ_API ldnq_status ldnq_dataset_label(const ldnq_dataset *ds, int64_t index,
                                        int32_t *out);
/* Preset used by loaders that have no explicit transforms. */
LDNQ_API ldnq_status ldnq_dataset_set_preset(ldnq_dataset *ds,
                                             ldnq_preset preset);
LDNQ_API ldnq_status ldnq_dataset_get_preset(const ldnq_dataset *ds,
                                             ldnq_preset *out);

/* Options of a dataset, all integers: [lo, hi] default, also queryable
 * with ldnq_dataset_option_bounds. */
typedef enum ldnq_dataset_option {
  /* 1 (default): JPEGs are decoded at a reduced size with libjpeg's DCT
   * scaling (1/2, 1/4 or 1/8) when the first step of the transform is a
   * resize whose target shorter side still fits; 0: always full size
   * (bit-exact with Pillow's decode + resize). */
  LDNQ_DATASET_JPEG_DCT_SCALING = 0 /* [0, 1] 1 */
} ldnq_dataset_option;
/* A value outside the bounds is LDNQ_ERR_RANGE (bounds in the message)
 * and leaves the option unchanged; an unknown key LDNQ_ERR_INVALID_ARG. */
LDNQ_API ldnq_status ldnq_dataset_set_option(ldnq_dataset *ds,
                                             ldnq_dataset_option option,
                                             int64_t value);
/* Current value. Read-only. */
LDNQ_API ldnq_status ldnq_dataset_get_option(const ldnq_dataset *ds,
                                             ldnq_dataset_option option,
                                             int64_t *value);
/* Bounds and default of an option; any pointer may be NULL. */
LDNQ_API ldnq_status ldnq_dataset_option_bounds(ldnq_dataset_option option,
                                                int64_t *lo, int64_t *hi,
                                                int64_t *default_value);

typedef struct ldnq_transform ldnq_transform;

/* One sample after `transform` (NULL: x/255 for images, as is for
 * callback data), random steps drawn from `seed`. *image is a new [C,H,W]
 * tensor owned by the caller; `label` may be NULL. Read-only. */
LDNQ_API ldnq_status ldnq_dataset_get(const ldnq_dataset *ds, int64_t index,
                                      const ldnq_transform *transform,
                                      uint64_t seed, ldnq_tensor **image,
                                      int32_t *label);

/* ---- Transforms ---- */
/* A sequence of steps applied in order, torchvision semantics. Steps
 * before the normalize step work on uint8 pixels (padding fills pixel 0);
 * normalize converts to float ((x/255 - mean)/std for uint8 pixels,
 * (x - mean)/std for float data); later steps work on floats (padding fills
 * 0.0). Without a normalize step the result is x/255. */

/* Empty transform (x/255 only). Caller owns *out. */
LDNQ_API ldnq_status ldnq_transform_create(ldnq_transform **out);
/* The paper's transform for a preset: train = 1 gives the augmenting
 * (train / limited-set) form, 0 the evaluation form. */
LDNQ_API ldnq_status ldnq_transform_create_preset(ldnq_preset preset,
                                                  int train,
                                                  ldnq_transform **out);
/* Accepts NULL. */
LDNQ_API void ldnq_transform_free(ldnq_transform *t);
/* Last failure of an ldnq_transform_add_* on this handle ("" if none);
 * owned by the handle. Accepts NULL (returns ""). */
LDNQ_API const char *ldnq_transform_errmsg(const ldnq_transform *t);
/* Status of the last failure recorded on this handle (LDNQ_OK if none or
 * after a successful non-const call); LDNQ_ERR_INVALID_ARG for NULL. */
LDNQ_API ldnq_status ldnq_transform_errcode(const ldnq_transform *t);
/* Deep copy. Caller owns *out. */
LDNQ_API ldnq_status ldnq_transform_copy(const ldnq_transform *t,
                                         ldnq_transform **out);

/* Resize so that the shorter side becomes `size` in [1, 65536] (the
 * longer one int(size*long/short)), bilinear with antialiasing as Pillow. */
LDNQ_API ldnq_status ldnq_transform_add_resize(ldnq_transform *t, int size);
/* Centre crop to height x width in [1, 65536] (zero-pads if larger). */
LDNQ_API ldnq_status ldnq_transform_add_center_crop(ldnq_transform *t,
                                                    int height, int width);
/* Random resized crop to size x size (size in [1, 65536]): area fraction
 * in [0.08, 1], aspect ratio in [3/4, 4/3] (log-uniform), 10 attempts then
 * a centre fallback, as torchvision; bilinear resize as Pillow. */
LDNQ_API ldnq_status ldnq_transform_add_random_resized_crop(ldnq_transform *t,
                                                            int size);
/* Zero padding of `pad` in [0, 4096] on every side, then a random
 * size x size crop (size in [1, 65536]). pad 0 with size = image size is a
 * no-op. */
LDNQ_API ldnq_status ldnq_transform_add_random_crop(ldnq_transform *t,
                                                    int size, int pad);
/* Zero padding of `pad` in [1, 4096] on every side. */
LDNQ_API ldnq_status ldnq_transform_add_pad(ldnq_transform *t, int pad);
/* Horizontal flip with probability p in [0, 1]. */
LDNQ_API ldnq_status ldnq_transform_add_hflip(ldnq_transform *t, double p);
/* Per-channel (x - mean)/std; `channels` in [1, 64] must match the
 * image's; std > 0; arrays copied. At most one normalize per transform. */
LDNQ_API ldnq_status ldnq_transform_add_normalize(ldnq_transform *t,
                                                  int channels,
                                                  const float *mean,
                                                  const float *std);

/* ---- Limited subsets ---- */
typedef struct ldnq_subset ldnq_subset;

/* Random subset of `ds` drawn from `seed`: `count` samples if count > 0,
 * else round(ratio * size) (ratio in (0, 1], default of the paper 0.01),
 * at least 1. class_balanced = 1 spreads the count evenly over classes
 * (remainder to the lowest class indices; a class with too few samples
 * gives all it has and the others make up the difference). Indices come
 * out sorted. Caller owns *out. */
LDNQ_API ldnq_status ldnq_subset_sample(const ldnq_dataset *ds, double ratio,
                                        int64_t count, int class_balanced,
                                        uint64_t seed, ldnq_subset **out);
/* Subset from explicit indices (copied; each in [0, 2^40)). */
LDNQ_API ldnq_status ldnq_subset_create(int64_t count, const int64_t *indices,
                                        ldnq_subset **out);
/* Accepts NULL. */
LDNQ_API void ldnq_subset_free(ldnq_subset *s);
LDNQ_API ldnq_status ldnq_subset_count(const ldnq_subset *s, int64_t *out);
/* Borrowed pointer to the indices, valid while the subset lives. */
LDNQ_API ldnq_status ldnq_subset_indices(const ldnq_subset *s,
                                         const int64_t **out);
/* Saves as a small text file ("ldnq-subset 1", count, one index a line),
 * atomically (temporary file, fsync, rename). */
LDNQ_API ldnq_status ldnq_subset_save(const ldnq_subset *s, const char *path);
/* Loads a file written by ldnq_subset_save. Caller owns *out. */
LDNQ_API ldnq_status ldnq_subset_load(const char *path, ldnq_subset **out);
/* Dataset view of `ds` restricted to the subset's indices (each must be
 * < the dataset's count, else LDNQ_ERR_RANGE). Keeps `ds` alive; inherits
 * its preset and classes. Caller owns *out. */
LDNQ_API ldnq_status ldnq_dataset_subset(ldnq_dataset *ds,
                                         const ldnq_subset *s,
                                         ldnq_dataset **out);

/* ---- Batching ---- */
typedef struct ldnq_loader ldnq_loader;

/* Options of a loader, all integers: [lo, hi] default, also queryable
 * with ldnq_loader_option_bounds. */
typedef enum ldnq_loader_option {
  LDNQ_LOADER_SHUFFLE = 0,     /* [0, 1] 0: new order each epoch */
  LDNQ_LOADER_DROP_LAST = 1,   /* [0, 1] 0: drop incomplete last batch */
  LDNQ_LOADER_AUGMENT = 2,     /* [0, 1] 0: train (1) or eval transform */
  LDNQ_LOADER_THREADS = 3,     /* [0, 64] 2; 0 = caller's thread */
  LDNQ_LOADER_QUEUE_DEPTH = 4, /* [1, 64] 4: batches ready ahead */
  LDNQ_LOADER_SEED = 5         /* [INT64_MIN, INT64_MAX] 0 (used as uint64) */
} ldnq_loader_option;

/* Loader over `ds` (kept alive by the loader) with batch_size in
 * [1, 65536]. Transforms default to the dataset's preset. Options are set
 * before the first ldnq_loader_next_v2 of an epoch (else LDNQ_ERR_STATE).
 * Caller owns *out. */
LDNQ_API ldnq_status ldnq_loader_create(ldnq_dataset *ds, int batch_size,
                                        ldnq_loader **out);
/* Stops background threads (also mid-epoch) and frees. Accepts NULL. */
LDNQ_API void ldnq_loader_free(ldnq_loader *l);
/* Last failure on this handle ("" if none); owned by the handle.
 * Accepts NULL (returns a static ""). */
LDNQ_API const char *ldnq_loader_errmsg(const ldnq_loader *l);
/* Status of the last failure recorded on this handle (LDNQ_OK if none or
 * after a successful non-const call); LDNQ_ERR_INVALID_ARG for NULL. */
LDNQ_API ldnq_status ldnq_loader_errcode(const ldnq_loader *l);
/* A value outside the bounds is LDNQ_ERR_RANGE (bounds in the message)
 * and leaves the option unchanged; an unknown key LDNQ_ERR_INVALID_ARG;
 * during an epoch LDNQ_ERR_STATE. */
LDNQ_API ldnq_status ldnq_loader_set_option(ldnq_loader *l,
                                            ldnq_loader_option option,
                                            int64_t value);
/* Current value. Read-only. */
LDNQ_API ldnq_status ldnq_loader_get_option(const ldnq_loader *l,
                                            ldnq_loader_option option,
                                            int64_t *value);
/* Bounds and default of an option; any pointer may be NULL. */
LDNQ_API ldnq_status ldnq_loader_option_bounds(ldnq_loader_option option,
                                               int64_t *lo, int64_t *hi,
                                               int64_t *default_value);
/* Replaces the train and/or eval transform (copied; NULL keeps the
 * current one). */
LDNQ_API ldnq_status ldnq_loader_set_transforms(ldnq_loader *l,
                                                const ldnq_transform *train,
                                                const ldnq_transform *eval);
/* Progress per delivered batch of an epoch; fn NULL removes it. A nonzero
 * return makes ldnq_loader_next_v2 fail with LDNQ_ERR_CANCELLED. user_data is
 * borrowed until the progress is replaced or the loader is freed. */
LDNQ_API ldnq_status ldnq_loader_set_progress(ldnq_loader *l,
                                              ldnq_data_progress_fn fn,
                                              void *user_data);
/* Data-parallel loading (ldnq/comm.h): every batch of batch_size (a
 * global batch, from the one shuffle all ranks compute from the same
 * seed) is split into comm's size contiguous shares and this loader
 * delivers only share rank (its own n). ldnq_evaluate_v2 on such a loader
 * sums its counts over the ranks. comm is borrowed until replaced (NULL:
 * the whole batch, the default). Between epochs only (else
 * LDNQ_ERR_STATE); a batch size below the rank count is LDNQ_ERR_RANGE.
 * A short last batch may leave a rank no share: that rank's epoch then
 * has one batch fewer. */
LDNQ_API ldnq_status ldnq_loader_set_comm(ldnq_loader *l, const ldnq_comm *comm);
/* Batches per epoch given the current options (on this rank). */
LDNQ_API ldnq_status ldnq_loader_num_batches(const ldnq_loader *l,
                                             int64_t *out);
/* Next batch of the current epoch. *images ([n,C,H,W]) and *labels (n
 * int32) are owned by the loader and valid until the next call on it.
 * At the end of an epoch *n is 0 (and the pointers NULL); the following
 * call starts the next epoch. Every transformed sample must have the
 * same shape (else LDNQ_ERR_SHAPE). Order and augmentation depend only on
 * seed, epoch and options, not on the thread count. */
LDNQ_API ldnq_status ldnq_loader_next_v2(ldnq_loader *l, const ldnq_tensor **images,
                                         const int32_t **labels, int64_t *n);
/* 0.2 form, n as int. */
LDNQ_DEPRECATED("use ldnq_loader_next_v2 (counts are int64_t)")
LDNQ_API ldnq_status ldnq_loader_next(ldnq_loader *l, const ldnq_tensor **images,
                                      const int32_t **labels, int *n);
/* Abandons the current epoch (stopping workers) so that the next call
 * starts epoch `epoch` (>= 0). */
LDNQ_API ldnq_status ldnq_loader_reset(ldnq_loader *l, int64_t epoch);

/* ---- Evaluation ---- */
/* Runs one full epoch of `loader` (restarted at its current epoch number)
 * through `net` in eval mode (the previous mode is restored) and returns
 * top-1 and top-5 accuracy in percent (top-5 counts top-min(5, classes)).
 * Progress: the loader's (ldnq_loader_set_progress), once per batch as
 * it is delivered; a nonzero return cancels (LDNQ_ERR_CANCELLED).
 * `images` may be NULL. Labels the network cannot output (the dataset's labels, or its declared
 * class count when labels are known only by decoding, exceed the network's
 * classes) are LDNQ_ERR_LABEL before any batch is run.
 * With a communicator on the loader (ldnq_loader_set_comm) every rank
 * evaluates its shares and gets the figures of the whole set (a
 * collective: all ranks call it; images counts all ranks' images).
 */
LDNQ_API ldnq_status ldnq_evaluate_v2(ldnq_network *net, ldnq_loader *loader,
                                      double *top1, double *top5,
                                      int64_t *images);
/* 0.2 form: a progress argument (may be NULL) called after each batch is
 * scored, besides the loader's own. */
LDNQ_DEPRECATED("use ldnq_loader_set_progress + ldnq_evaluate_v2")
LDNQ_API ldnq_status ldnq_evaluate(ldnq_network *net, ldnq_loader *loader,
                                   double *top1, double *top5,
                                   int64_t *images,
                                   ldnq_data_progress_fn progress,
                                   void *user_data);

#ifdef __cplusplus
}
#endif
#endif
