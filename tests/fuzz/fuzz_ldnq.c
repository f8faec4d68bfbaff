/* Fuzz target: .ldnq packed files through the format reader and, on success, every
 * accessor of the loaded checkpoint. */
#include "fuzz_reader.h"

LDNQ_FUZZ_TARGET(ldnq) { return ldnq_fuzz_reader(ldnq__read_packed, data, size, 1, 64); }
