/* Internal view of ldnq_checkpoint and the helpers the format readers and
 * writers share. */
#ifndef LDNQ_IO_CKPT_H
#define LDNQ_IO_CKPT_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/levels.h"
#include "ldnq/io.h"

#define LDNQ__NAME_MAX 1023
#define LDNQ__META_MAX 4096 /* metadata pairs per checkpoint */

typedef struct ldnq__ck_entry {
  char *name;
  ldnq_dtype dtype; /* dtype in the file */
  int ndim;
  int64_t shape[LDNQ_MAX_DIMS];
  int64_t numel;
  float *f32;       /* float dtypes and QUANTIZED (alpha * code) */
  int64_t *i64;     /* integer and bool dtypes */
  int8_t *codes;    /* QUANTIZED only */
  int levels;
  float alpha;      /* per channel: the mean of alphas */
  float *alphas;    /* QUANTIZED per channel: one scale per size[0] index
                       (value i = alphas[i / (numel / size[0])] * code);
                       NULL = one alpha for the tensor */
  int64_t nalphas;
} ldnq__ck_entry;

struct ldnq_checkpoint {
  ldnq__errbuf err;
  ldnq_format format;
  ldnq__ck_entry *e;
  int n, cap;
  int *hash;   /* open addressing over names: entry index or -1; NULL = scan */
  int hcap;    /* power of two, > 2 n */
  char **meta_key, **meta_val;
  int nmeta, capmeta;
};

/* Test hook (tests/fuzz): nonzero makes the zip and .ldnq readers ignore
 * CRC mismatches so mutated inputs reach the parsers behind the check.
 * Defined in checkpoint.c; 0 unless a fuzz target sets it. */
extern int ldnq__fuzz_skip_crc;

/* 1 for dtypes held as int64 in memory. */
int ldnq__dtype_is_int(ldnq_dtype d);
/* Bytes per element in files (0 for QUANTIZED / unknown). */
size_t ldnq__dtype_size(ldnq_dtype d);
/* Converts element `idx` of a raw little-endian array of dtype d. */
float ldnq__elem_f32(ldnq_dtype d, const uint8_t *base, int64_t idx);
int64_t ldnq__elem_i64(ldnq_dtype d, const uint8_t *base, int64_t idx);

/* Empty checkpoint (NULL on allocation failure). */
ldnq_checkpoint *ldnq__ck_alloc(void);
/* Appends an entry with zeroed storage for `dtype` (f32 or i64, plus codes
 * for QUANTIZED). Fails on a bad/duplicate name, bad shape, NOMEM. The
 * name is `name_len` bytes (not necessarily NUL-terminated). */
ldnq_status ldnq__ck_new_entry(ldnq_checkpoint *ck, const char *name, size_t name_len,
                               ldnq_dtype dtype, int ndim, const int64_t *shape,
                               ldnq__ck_entry **out);
/* Index of a named entry or -1 (hashed: loading N tensors is O(N)). */
int ldnq__ck_find(const ldnq_checkpoint *ck, const char *name);
/* Rebuilds the name index (after removals); on allocation failure lookups
 * fall back to a scan. */
void ldnq__ck_reindex(ldnq_checkpoint *ck);
/* Sets/replaces a metadata pair (lengths given; copied). */
ldnq_status ldnq__ck_meta_set(ldnq_checkpoint *ck, const char *k, size_t klen,
                              const char *v, size_t vlen);

/* Format sniffers: 1 when the first bytes look like the format (the zip
 * container's is in io/zip.h). */
int ldnq__legacy_sniff(const uint8_t *d, size_t size);
int ldnq__safetensors_sniff(const uint8_t *d, size_t size);
int ldnq__packed_sniff(const uint8_t *d, size_t size);

/* Format readers: parse a whole file image into an empty ck. */
ldnq_status ldnq__read_pth_zip(ldnq_checkpoint *ck, const uint8_t *data, size_t size);
ldnq_status ldnq__read_pth_legacy(ldnq_checkpoint *ck, const uint8_t *data, size_t size);
ldnq_status ldnq__read_safetensors(ldnq_checkpoint *ck, const uint8_t *data, size_t size);
ldnq_status ldnq__read_packed(ldnq_checkpoint *ck, const uint8_t *data, size_t size);

/* Format writers (to an open sink, see wfile.h). */
struct ldnq__wfile;
ldnq_status ldnq__write_pth_zip(const ldnq_checkpoint *ck, struct ldnq__wfile *w,
                                const char *archive_name);
ldnq_status ldnq__write_safetensors(const ldnq_checkpoint *ck, struct ldnq__wfile *w);
ldnq_status ldnq__write_packed(const ldnq_checkpoint *ck, struct ldnq__wfile *w);

#endif
