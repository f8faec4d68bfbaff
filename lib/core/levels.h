/* The level sets of L-DNQ, written once. `levels` L is 3, 5, 7, 9 or 11;
 * its codes are 0, +-1, +-2, +-4, ..., +-2^((L-3)/2) (a value is code x
 * alpha). The quantizer (quant/project.c, the option check), the file
 * formats (io/checkpoint.c, io/packed.c) and ldnq_levels_bits read this
 * table, so a new level count is one row here. */
#ifndef LDNQ_CORE_LEVELS_H
#define LDNQ_CORE_LEVELS_H

#include <stdint.h>

/* The allowed counts as messages print them. */
#define LDNQ__LEVELS_ALLOWED "3, 5, 7, 9, 11"
/* Most codes of any level count (the table below holds this many). */
#define LDNQ__LEVELS_MAX 11

/* Largest code magnitude of `levels` (1, 2, 4, 8, 16); 0 if not allowed. */
int ldnq__levels_max_code(int levels);
/* Bits per code in the packed format (2, 3, 3, 4, 4); 0 if not allowed. */
int ldnq__levels_bits(int levels);
/* Codes in storage order 0, +1, -1, +2, -2, ... into table; returns the
 * number of codes (= levels) or 0 if not allowed; bits per code in *bits
 * (may be NULL). */
int ldnq__levels_table(int levels, int8_t table[LDNQ__LEVELS_MAX], int *bits);

#endif
