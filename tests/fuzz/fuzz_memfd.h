/* An in-memory file (memfd) with a path, for readers that take paths:
 * nothing touches the disk. */
#ifndef LDNQ_FUZZ_MEMFD_H
#define LDNQ_FUZZ_MEMFD_H

#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

/* Returns the fd (close it when done) and "/proc/self/fd/N" in path, or -1. */
static inline int ldnq_fuzz_memfd(const uint8_t *p, size_t n, char *path, size_t cap) {
  int fd = memfd_create("ldnq-fuzz", 0);
  if (fd < 0) return -1;
  size_t off = 0;
  while (off < n) {
    ssize_t w = write(fd, p + off, n - off);
    if (w <= 0) {
      close(fd);
      return -1;
    }
    off += (size_t)w;
  }
  snprintf(path, cap, "/proc/self/fd/%d", fd);
  return fd;
}

#endif
