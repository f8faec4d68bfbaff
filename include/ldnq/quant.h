/* libldnq: quant (to be filled by its module). */
#ifndef LDNQ_QUANT_H
#define LDNQ_QUANT_H

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
