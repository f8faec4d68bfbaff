/* libldnq: model files. PyTorch checkpoints (zip and legacy), safetensors
 * and libldnq's packed quantized format (.ldnq, docs/FORMATS.md).
 *
 * Files are untrusted input: every size and offset is checked, the pickle
 * reader interprets a whitelist of opcodes and globals and never runs
 * code, and memory use is bounded by a small multiple of the file size.
 * Writers are atomic: "<path>.tmp.<pid>", fsync, rename; no partial file is
 * left on any error.
 *
 * Functions marked read-only report failures through ldnq_last_error()
 * only (not ldnq_checkpoint_errmsg), so they can run concurrently on one
 * checkpoint.
 */
#ifndef LDNQ_IO_H
#define LDNQ_IO_H

#include "common.h"
#include "tensor.h"
#include "network.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A named collection of tensors in memory (a state dict). */
typedef struct ldnq_checkpoint ldnq_checkpoint;

typedef enum ldnq_format {
  LDNQ_FORMAT_NONE = 0,         /* created in memory, not loaded */
  LDNQ_FORMAT_PTH_ZIP = 1,      /* torch.save (zip, PyTorch >= 1.6) */
  LDNQ_FORMAT_PTH_LEGACY = 2,   /* torch.save(_use_new_zipfile_serialization=False); read only */
  LDNQ_FORMAT_SAFETENSORS = 3,
  LDNQ_FORMAT_LDNQ_PACKED = 4   /* .ldnq (docs/FORMATS.md) */
} ldnq_format;

/* Element type a tensor had in its file. Float types are held as float32
 * in memory; integer and bool types as int64. */
typedef enum ldnq_dtype {
  LDNQ_DTYPE_FLOAT32 = 1,
  LDNQ_DTYPE_FLOAT16 = 2,
  LDNQ_DTYPE_BFLOAT16 = 3,
  LDNQ_DTYPE_FLOAT64 = 4,
  LDNQ_DTYPE_INT64 = 5,
  LDNQ_DTYPE_INT32 = 6,
  LDNQ_DTYPE_INT16 = 7,
  LDNQ_DTYPE_INT8 = 8,
  LDNQ_DTYPE_UINT8 = 9,
  LDNQ_DTYPE_BOOL = 10,
  LDNQ_DTYPE_QUANTIZED = 11     /* levels + alpha (or one per output
                                   channel) + integer codes */
} ldnq_dtype;

/* "pth-zip", "pth-legacy", "safetensors", "ldnq", "none"; NULL for an
 * unknown value. Static strings. */
LDNQ_API const char *ldnq_format_name(ldnq_format format);
/* "float32", "float16", "bfloat16", "float64", "int64", ..., "bool",
 * "quantized"; NULL for an unknown value. Static strings. */
LDNQ_API const char *ldnq_dtype_name(ldnq_dtype dtype);
/* Format to write for a path, from its extension: .pth .pt .ckpt .bin ->
 * PTH_ZIP, .safetensors -> SAFETENSORS, .ldnq -> LDNQ_PACKED; anything
 * else LDNQ_ERR_INVALID_ARG. */
LDNQ_API ldnq_status ldnq_format_from_path(const char *path, ldnq_format *out);

/* Loads a file; the format is detected from its content. State dicts may
 * be the top-level dict or nested under "state_dict", "net" or "model"
 * (other entries are ignored); a leading "module." is removed from names.
 * The caller owns *out (ldnq_checkpoint_free). */
LDNQ_API ldnq_status ldnq_checkpoint_load(const char *path, ldnq_checkpoint **out);
/* Same from a buffer of `size` bytes (copied as needed; the caller keeps
 * ownership of `data`). */
LDNQ_API ldnq_status ldnq_checkpoint_load_memory(const void *data, size_t size,
                                                 ldnq_checkpoint **out);
/* New empty checkpoint (format LDNQ_FORMAT_NONE). The caller owns *out. */
LDNQ_API ldnq_status ldnq_checkpoint_create(ldnq_checkpoint **out);
/* Frees the checkpoint. Accepts NULL. */
LDNQ_API void ldnq_checkpoint_free(ldnq_checkpoint *ck);
/* Message of the last failure on this handle ("" if none); owned by the
 * handle. Accepts NULL (returns a static ""). */
LDNQ_API const char *ldnq_checkpoint_errmsg(const ldnq_checkpoint *ck);
/* Status of the last failure recorded on this handle (LDNQ_OK if none or
 * after a successful non-const call); LDNQ_ERR_INVALID_ARG for NULL. */
LDNQ_API ldnq_status ldnq_checkpoint_errcode(const ldnq_checkpoint *ck);

/* Format the checkpoint was loaded from. Read-only. */
LDNQ_API ldnq_status ldnq_checkpoint_format(const ldnq_checkpoint *ck, ldnq_format *out);
/* Number of tensors. Read-only. */
LDNQ_API ldnq_status ldnq_checkpoint_count_v2(const ldnq_checkpoint *ck, int64_t *count);
/* 0.2 form, as int. Read-only. */
LDNQ_DEPRECATED("use ldnq_checkpoint_count_v2 (counts are int64_t)")
LDNQ_API ldnq_status ldnq_checkpoint_count(const ldnq_checkpoint *ck, int *count);
/* Name of tensor `index` (0-based, file order); owned by the checkpoint,
 * valid until it is freed. Read-only. */
LDNQ_API ldnq_status ldnq_checkpoint_name(const ldnq_checkpoint *ck, int index,
                                          const char **name);
/* Dtype in the file, rank and sizes (room for LDNQ_MAX_DIMS). Any output
 * may be NULL. Unknown name: LDNQ_ERR_NOT_FOUND. Read-only. */
LDNQ_API ldnq_status ldnq_checkpoint_info(const ldnq_checkpoint *ck, const char *name,
                                          ldnq_dtype *dtype, int *ndim, int64_t *shape);
/* Values as float32 (n must equal numel; quantized: alpha * code). */
LDNQ_API ldnq_status ldnq_checkpoint_read(const ldnq_checkpoint *ck, const char *name,
                                          float *dst, int64_t n);
/* Sum and sum of absolute values, in double, of the values as held in
 * memory (float32 or int64). Any output may be NULL. Read-only. */
LDNQ_API ldnq_status ldnq_checkpoint_sum(const ldnq_checkpoint *ck, const char *name,
                                         double *sum, double *sum_abs);

/* Adds a float32 tensor (copied). Names are 1..1023 bytes, no NUL; a name
 * already present is LDNQ_ERR_INVALID_ARG. Non-finite values are allowed. */
LDNQ_API ldnq_status ldnq_checkpoint_add(ldnq_checkpoint *ck, const char *name,
                                         const ldnq_tensor *value);
/* Adds an int64 tensor (copied), e.g. BatchNorm's num_batches_tracked. */
LDNQ_API ldnq_status ldnq_checkpoint_add_int64(ldnq_checkpoint *ck, const char *name,
                                               int ndim, const int64_t *shape,
                                               const int64_t *values);
/* Adds a quantized tensor: value[i] = alpha * codes[i]. levels in
 * {3, 5, 7, 9, 11}; codes (numel of them, copied) are the integer levels
 * 0, +-1, +-2, +-4, +-8, +-16 allowed for `levels` (docs/METHOD.md 1);
 * alpha finite and > 0. Saved packed in .ldnq, as floats elsewhere. */
LDNQ_API ldnq_status ldnq_checkpoint_add_quantized(ldnq_checkpoint *ck, const char *name,
                                                   int ndim, const int64_t *shape,
                                                   int levels, float alpha,
                                                   const int8_t *codes);
/* Turns an existing entry (any dtype) into a quantized one in place,
 * keeping its position and shape: n must equal its numel; levels, alpha
 * and codes as for ldnq_checkpoint_add_quantized. On error nothing changes.
 * Typical use: ldnq_checkpoint_from_network, then this per quantized layer,
 * then ldnq_checkpoint_save(..., LDNQ_FORMAT_LDNQ_PACKED). */
LDNQ_API ldnq_status ldnq_checkpoint_set_quantized(ldnq_checkpoint *ck, const char *name,
                                                   int levels, float alpha,
                                                   const int8_t *codes, int64_t n);
/* Per-channel variants: one scale per output channel, i.e. per index of
 * size[0] (PyTorch's weight layout [out, ...]; a bias [out] has one value
 * per channel): value[i] = alphas[i / (numel / size[0])] * codes[i].
 * alpha_count must equal size[0] (rank >= 1); alphas (copied) finite and
 * >= 0 (0 for an all-zero channel). levels and codes as above. Saved as
 * .ldnq kind 3 (docs/FORMATS.md), as floats elsewhere. */
LDNQ_API ldnq_status ldnq_checkpoint_add_quantized_per_channel(
    ldnq_checkpoint *ck, const char *name, int ndim, const int64_t *shape, int levels,
    const float *alphas, int64_t alpha_count, const int8_t *codes);
LDNQ_API ldnq_status ldnq_checkpoint_set_quantized_per_channel(
    ldnq_checkpoint *ck, const char *name, int levels, const float *alphas,
    int64_t alpha_count, const int8_t *codes, int64_t n);
/* Removes a named entry (later entries move up by one). */
LDNQ_API ldnq_status ldnq_checkpoint_remove(ldnq_checkpoint *ck, const char *name);
/* Levels, alpha and (if `codes` is not NULL) the n = numel codes of a
 * quantized entry. For a per-channel entry *alpha is the mean of its
 * scales (values are NOT alpha x code then: use
 * ldnq_checkpoint_get_quantized_alphas). Not quantized:
 * LDNQ_ERR_INVALID_ARG. Read-only. */
LDNQ_API ldnq_status ldnq_checkpoint_get_quantized(const ldnq_checkpoint *ck,
                                                   const char *name, int *levels,
                                                   float *alpha, int8_t *codes, int64_t n);
/* Scales of a quantized entry: *count (may be NULL) = 1 for one alpha per
 * tensor, size[0] per channel; if `alphas` is not NULL, n must equal that
 * count and the scales are copied. Not quantized: LDNQ_ERR_INVALID_ARG.
 * Read-only. */
LDNQ_API ldnq_status ldnq_checkpoint_get_quantized_alphas(const ldnq_checkpoint *ck,
                                                          const char *name, int64_t *count,
                                                          float *alphas, int64_t n);

/* String metadata (safetensors "__metadata__"; also kept by .ldnq).
 * Keys are unique; set replaces. Strings are owned by the checkpoint and
 * valid until it is freed or their key is set again. */
LDNQ_API ldnq_status ldnq_checkpoint_metadata_count_v2(const ldnq_checkpoint *ck,
                                                       int64_t *count);
/* 0.2 form, as int. Read-only. */
LDNQ_DEPRECATED("use ldnq_checkpoint_metadata_count_v2 (counts are int64_t)")
LDNQ_API ldnq_status ldnq_checkpoint_metadata_count(const ldnq_checkpoint *ck, int *count);
LDNQ_API ldnq_status ldnq_checkpoint_metadata_get(const ldnq_checkpoint *ck, int index,
                                                  const char **key, const char **value);
LDNQ_API ldnq_status ldnq_checkpoint_metadata_set(ldnq_checkpoint *ck, const char *key,
                                                  const char *value);

/* Writes the checkpoint. PTH_ZIP: a torch.save-compatible zip (float32
 * and int64 tensors, an OrderedDict); SAFETENSORS: F32/I64; LDNQ_PACKED:
 * quantized entries packed, others float32/int64. PTH_LEGACY cannot be
 * written (LDNQ_ERR_UNSUPPORTED). Atomic. Read-only on ck (except its
 * message). */
LDNQ_API ldnq_status ldnq_checkpoint_save(ldnq_checkpoint *ck, const char *path,
                                          ldnq_format format);

/* ---- Networks ---- */

/* Flags of ldnq_network_load*. */
#define LDNQ_LOAD_NON_STRICT 1u

/* Copies the checkpoint's tensors into the network by name. Strict
 * (default): a missing key, an unexpected key or a shape mismatch is an
 * error and the network is left unchanged. The status: tensor names of
 * another architecture (e.g. resnet32 weights for a resnet20) give
 * LDNQ_ERR_ARCH_MISMATCH; otherwise a shape mismatch (other classes or
 * channels) LDNQ_ERR_SHAPE, then missing keys LDNQ_ERR_NOT_FOUND, then
 * unexpected keys LDNQ_ERR_FORMAT. The message (ldnq_network_errmsg and
 * ldnq_last_error) is short: the counts, the first few names (with both
 * shapes), and a guess of the file's architecture. Float values of
 * integer entries (num_batches_tracked) are converted.
 * LDNQ_LOAD_NON_STRICT loads what matches and, on success,
 * writes what it skipped into skipped[skipped_size] ("skipped (shape
 * mismatch): ...; not in checkpoint: ...; unused: ...", "" if nothing,
 * cut to fit and at most about 900 bytes); skipped may be NULL. Non-finite
 * values are rejected (LDNQ_ERR_NUMERIC), network unchanged. */
LDNQ_API ldnq_status ldnq_network_load_checkpoint_v2(ldnq_network *net,
                                                     const ldnq_checkpoint *ck,
                                                     unsigned flags, char *skipped,
                                                     size_t skipped_size);
/* ldnq_checkpoint_load + ldnq_network_load_checkpoint_v2. */
LDNQ_API ldnq_status ldnq_network_load_v2(ldnq_network *net, const char *path,
                                          unsigned flags, char *skipped,
                                          size_t skipped_size);
/* 0.2 forms: as the _v2 functions without `skipped`; on success they put
 * the skipped names into ldnq_last_error() instead, which mixes success
 * information into the error channel. Kept for the ABI. */
LDNQ_DEPRECATED("use ldnq_network_load_checkpoint_v2 (skipped names as an out-parameter)")
LDNQ_API ldnq_status ldnq_network_load_checkpoint(ldnq_network *net,
                                                  const ldnq_checkpoint *ck,
                                                  unsigned flags);
LDNQ_DEPRECATED("use ldnq_network_load_v2 (skipped names as an out-parameter)")
LDNQ_API ldnq_status ldnq_network_load(ldnq_network *net, const char *path, unsigned flags);
/* Copy of every state-dict entry (num_batches_tracked as int64). The
 * caller owns *out. */
LDNQ_API ldnq_status ldnq_checkpoint_from_network(const ldnq_network *net,
                                                  ldnq_checkpoint **out);
/* ldnq_checkpoint_from_network + ldnq_checkpoint_save. */
LDNQ_API ldnq_status ldnq_network_save(const ldnq_network *net, const char *path,
                                       ldnq_format format);
/* Creates an `arch` network sized from the checkpoint (in_channels from
 * conv1.weight dim 1, num_classes from fc.weight dim 0) and loads it
 * strictly. The caller owns *out. */
LDNQ_API ldnq_status ldnq_network_create_from_checkpoint(ldnq_arch arch,
                                                         const ldnq_checkpoint *ck,
                                                         ldnq_network **out);

#ifdef __cplusplus
}
#endif
#endif
