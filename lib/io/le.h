/* Little-endian loads and stores on byte buffers (files are little-endian
 * whatever the host). */
#ifndef LDNQ_IO_LE_H
#define LDNQ_IO_LE_H

#include <stdint.h>
#include <string.h>

/* Writers dump in-memory arrays directly. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "libldnq's model file code assumes a little-endian host"
#endif

static inline uint16_t ldnq__le16(const uint8_t *p) {
  return (uint16_t)(p[0] | (p[1] << 8));
}
static inline uint32_t ldnq__le32(const uint8_t *p) {
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
         ((uint32_t)p[3] << 24);
}
static inline uint64_t ldnq__le64(const uint8_t *p) {
  return (uint64_t)ldnq__le32(p) | ((uint64_t)ldnq__le32(p + 4) << 32);
}
static inline void ldnq__put16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
}
static inline void ldnq__put32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static inline void ldnq__put64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static inline float ldnq__f32_from_bits(uint32_t u) {
  float f;
  memcpy(&f, &u, 4);
  return f;
}
static inline uint32_t ldnq__f32_bits(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  return u;
}

#endif
