/* Element types of model files and their conversion to float32 / int64. */
#include <string.h>

#include "io/ckpt.h"
#include "io/le.h"

int ldnq__dtype_is_int(ldnq_dtype d) {
  return d == LDNQ_DTYPE_INT64 || d == LDNQ_DTYPE_INT32 || d == LDNQ_DTYPE_INT16 ||
         d == LDNQ_DTYPE_INT8 || d == LDNQ_DTYPE_UINT8 || d == LDNQ_DTYPE_BOOL;
}

size_t ldnq__dtype_size(ldnq_dtype d) {
  switch (d) {
    case LDNQ_DTYPE_FLOAT32: case LDNQ_DTYPE_INT32: return 4;
    case LDNQ_DTYPE_FLOAT16: case LDNQ_DTYPE_BFLOAT16: case LDNQ_DTYPE_INT16: return 2;
    case LDNQ_DTYPE_FLOAT64: case LDNQ_DTYPE_INT64: return 8;
    case LDNQ_DTYPE_INT8: case LDNQ_DTYPE_UINT8: case LDNQ_DTYPE_BOOL: return 1;
    default: return 0;
  }
}

/* IEEE half -> float, exact (subnormals, infinities and NaN included). */
static float half_to_f32(uint16_t h) {
  uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 0x1f, man = h & 0x3ff, u;
  if (exp == 0x1f) {
    u = sign | 0x7f800000u | (man << 13);
  } else if (exp == 0) {
    if (man == 0) {
      u = sign;
    } else { /* subnormal: normalise */
      int e = -1;
      do {
        man <<= 1;
        e++;
      } while (!(man & 0x400));
      u = sign | ((uint32_t)(127 - 15 - e) << 23) | ((man & 0x3ff) << 13);
    }
  } else {
    u = sign | ((exp + 127 - 15) << 23) | (man << 13);
  }
  return ldnq__f32_from_bits(u);
}

float ldnq__elem_f32(ldnq_dtype d, const uint8_t *base, int64_t idx) {
  const uint8_t *p = base + (size_t)idx * ldnq__dtype_size(d);
  switch (d) {
    case LDNQ_DTYPE_FLOAT32: return ldnq__f32_from_bits(ldnq__le32(p));
    case LDNQ_DTYPE_FLOAT16: return half_to_f32(ldnq__le16(p));
    case LDNQ_DTYPE_BFLOAT16: return ldnq__f32_from_bits((uint32_t)ldnq__le16(p) << 16);
    case LDNQ_DTYPE_FLOAT64: {
      uint64_t u = ldnq__le64(p);
      double v;
      memcpy(&v, &u, 8);
      return (float)v;
    }
    default: return (float)ldnq__elem_i64(d, base, idx);
  }
}

int64_t ldnq__elem_i64(ldnq_dtype d, const uint8_t *base, int64_t idx) {
  const uint8_t *p = base + (size_t)idx * ldnq__dtype_size(d);
  switch (d) {
    case LDNQ_DTYPE_INT64: return (int64_t)ldnq__le64(p);
    case LDNQ_DTYPE_INT32: return (int32_t)ldnq__le32(p);
    case LDNQ_DTYPE_INT16: return (int16_t)ldnq__le16(p);
    case LDNQ_DTYPE_INT8: return (int8_t)p[0];
    case LDNQ_DTYPE_UINT8: return p[0];
    case LDNQ_DTYPE_BOOL: return p[0] != 0;
    default: return 0;
  }
}

LDNQ_API const char *ldnq_dtype_name(ldnq_dtype d) {
  static const char *names[] = {NULL,    "float32", "float16", "bfloat16", "float64", "int64",
                                "int32", "int16",   "int8",    "uint8",    "bool",    "quantized"};
  if ((int)d < 1 || (int)d > 11) return NULL;
  return names[d];
}

LDNQ_API const char *ldnq_format_name(ldnq_format f) {
  switch (f) {
    case LDNQ_FORMAT_NONE: return "none";
    case LDNQ_FORMAT_PTH_ZIP: return "pth-zip";
    case LDNQ_FORMAT_PTH_LEGACY: return "pth-legacy";
    case LDNQ_FORMAT_SAFETENSORS: return "safetensors";
    case LDNQ_FORMAT_LDNQ_PACKED: return "ldnq";
  }
  return NULL;
}

