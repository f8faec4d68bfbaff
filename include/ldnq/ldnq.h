/* libldnq: layer-wise deep network quantization with limited data (L-DNQ).
 * Umbrella header: include this one. See docs/ for the guide and the ABI
 * policy; thread safety is stated in ldnq/common.h. */
#ifndef LDNQ_LDNQ_H
#define LDNQ_LDNQ_H

#include "common.h"
#include "comm.h"
#include "tensor.h"
#include "network.h"
#include "io.h"
#include "data.h"
#include "quant.h"
#include "train.h"

#endif
