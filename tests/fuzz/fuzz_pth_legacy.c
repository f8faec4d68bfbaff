/* Fuzz target: legacy PyTorch checkpoints (pickles + raw storages) through the format reader and, on success, every
 * accessor of the loaded checkpoint. */
#include "fuzz_reader.h"

LDNQ_FUZZ_TARGET(pth_legacy) { return ldnq_fuzz_reader(ldnq__read_pth_legacy, data, size, 0, 64); }
