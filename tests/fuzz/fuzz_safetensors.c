/* Fuzz target: safetensors files through the format reader and, on success, every
 * accessor of the loaded checkpoint. */
#include "fuzz_reader.h"

LDNQ_FUZZ_TARGET(safetensors) { return ldnq_fuzz_reader(ldnq__read_safetensors, data, size, 0, 64); }
