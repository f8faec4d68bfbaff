/* libldnq: io (to be filled by its module). */
#ifndef LDNQ_IO_H
#define LDNQ_IO_H

#include "common.h"
#include "tensor.h"
#include "network.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifdef __cplusplus
}
#endif
#endif
