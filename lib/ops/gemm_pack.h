/* Packing for ldnq__sgemm (gemm.c): copies a block of op(A) or op(B) into
 * the panel order the micro-kernels read, zero-padded to whole panels. */
#ifndef LDNQ_OPS_GEMM_PACK_H
#define LDNQ_OPS_GEMM_PACK_H

/* Rows [i0, i0+mc) x k [k0, k0+kc) of op(A) as ceil(mc/mr) panels of
 * kc * mr floats: dst[(p * kc + k) * mr + r] = op(A)(i0 + p*mr + r, k0 + k). */
void ldnq__gemm_pack_a(int transa, const float *A, int lda, int i0, int mc, int k0, int kc,
                       int mr, float *dst);
/* k [k0, k0+kc) x columns [j0, j0+nc) of op(B) as ceil(nc/nr) panels of
 * kc * nr floats: dst[(q * kc + k) * nr + c] = op(B)(k0 + k, j0 + q*nr + c). */
void ldnq__gemm_pack_b(int transb, const float *B, int ldb, int k0, int kc, int j0, int nc,
                       int nr, float *dst);

#endif
