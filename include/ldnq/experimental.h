/* libldnq: EXPERIMENTAL interfaces. Not part of the stable ABI: they may
 * change or disappear in any release (docs/ABI.md). Their symbols sit in
 * the version node LDNQ_EXPERIMENTAL (cmake/ldnq.map), outside the ABI
 * baseline. Not included by ldnq.h; include explicitly. */
#ifndef LDNQ_EXPERIMENTAL_H
#define LDNQ_EXPERIMENTAL_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Failure injection for tests: the nth library allocation from now (1 =
 * the next one) fails, once; nth <= 0 disables. Process-wide. */
LDNQ_API ldnq_status ldnq_debug_fail_alloc(long nth);
/* Number of library allocations currently live (process-wide). */
LDNQ_API ldnq_status ldnq_debug_live_allocations(long *out);

#ifdef __cplusplus
}
#endif
#endif
