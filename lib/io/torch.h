/* Shared by the PyTorch checkpoint readers: the whitelist of globals and
 * the conversion of a pickled state dict into checkpoint entries. */
#ifndef LDNQ_IO_TORCH_H
#define LDNQ_IO_TORCH_H

#include "io/ckpt.h"
#include "io/pickle.h"

extern const char *const ldnq__torch_whitelist[];

/* Supplies the bytes of a storage by key. *owned (may stay NULL) is freed
 * by the caller with ldnq__free after use. */
typedef ldnq_status (*ldnq__storage_fn)(void *ctx, const char *key, size_t key_len,
                                        const uint8_t **p, size_t *n, uint8_t **owned);

/* dtype of a storage class global (torch.FloatStorage ...); 0 if unknown. */
ldnq_dtype ldnq__torch_storage_dtype(const ldnq__pk_node *cls);
/* Finds the state dict in `root` and adds every tensor to ck. Views with
 * stride 0 (expand()) can have more elements than their storage: all
 * tensors together may hold at most 8 x file_size + 2^20 elements, so a
 * small file cannot demand a huge allocation (LDNQ_ERR_LIMIT). */
ldnq_status ldnq__torch_collect(ldnq_checkpoint *ck, const ldnq__pk_node *root,
                                ldnq__storage_fn get, void *ctx, size_t file_size);

#endif
