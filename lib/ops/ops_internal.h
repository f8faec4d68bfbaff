/* Helpers shared by the lib/ops kernels only (not part of the ops.h
 * interface other modules code against). */
#ifndef LDNQ_OPS_OPS_INTERNAL_H
#define LDNQ_OPS_OPS_INTERNAL_H

#include <stddef.h>

#include "ops/ops.h"

/* im2col of one image into rows of stride ldc (>= oh*ow), so several images
 * can sit side by side in one cols matrix. */
void ldnq__im2col_ld(const ldnq__conv_geom *g, const float *x, float *cols, size_t ldc);
/* Output rows [oi0, oi1) only: cols has (oi1 - oi0) * ow columns. */
void ldnq__im2col_rows(const ldnq__conv_geom *g, const float *x, int oi0, int oi1, float *cols,
                       size_t ldc);
/* Adds the col2im of output rows [oi0, oi1) to dx (not cleared); padding
 * entries of cols may be set to zero. */
void ldnq__col2im_rows_acc(const ldnq__conv_geom *g, float *cols, size_t ldc, int oi0, int oi1,
                           float *dx);
/* dx[cin, h, w] (overwritten) = col2im of cols with row stride ldc. Entries
 * of cols that fall into the padding may be set to zero (scratch input). */
void ldnq__col2im_ld(const ldnq__conv_geom *g, float *cols, size_t ldc, float *dx);

/* db[co] += the sum of dy's row co (cout rows of n floats, ld apart), each
 * a float sum in order (conv2d.c; every conv path's bias gradient). */
void ldnq__bias_grad_acc(const float *dy, int cout, size_t n, size_t ld, float *db);

#define LDNQ__OPS_MAX_THREADS 16
/* Threads the kernels split work over now (ldnq_set_num_threads), at most
 * ldnq__ops_threads_max(). */
int ldnq__ops_threads(void);
/* The most threads any call will use: fixed at first use (from
 * ldnq_set_num_threads, LDNQ_NUM_THREADS or OpenBLAS's count); workspaces
 * are sized for every count up to it. */
int ldnq__ops_threads_max(void);
/* Whether `work` (flops, elements...) reaches `min`, the size below which
 * waking the pool's threads costs more than it saves. */
int ldnq__ops_parallel_worth(double work, double min);
/* Test hook: nonzero makes every size worth threads (so small test shapes
 * cover the threaded paths). Not thread-safe; set it before the kernels. */
void ldnq__ops_always_parallel(int on);
/* Runs fn(arg, t) for t in [0, nthreads), the caller being t = 0, on the
 * process-wide worker pool (parallel.c), and returns when all are done.
 * On the reference (OpenBLAS) kernel path OpenBLAS runs single-threaded
 * meanwhile. If the pool is busy or smaller, the caller runs the shares. */
void ldnq__parallel_run(int nthreads, void (*fn)(void *arg, int t), void *arg);

#endif
