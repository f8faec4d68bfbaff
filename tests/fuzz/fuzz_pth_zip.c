/* Fuzz target: PyTorch zip checkpoints (torch.save) through the format reader and, on success, every
 * accessor of the loaded checkpoint. */
#include "fuzz_reader.h"

LDNQ_FUZZ_TARGET(pth_zip) { return ldnq_fuzz_reader(ldnq__read_pth_zip, data, size, 1, 2100 /* deflate */); }
