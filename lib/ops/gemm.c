/* ldnq__sgemm: the BLIS loop nest around a packed micro-kernel, and the
 * run-time choice of kernel. Blocking: a kc x nr panel of B (<= 48 KB)
 * stays in L1 while the mc x kc block of A streams from L2 past it. */
#include <cblas.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ops/gemm.h"
#include "ops/gemm_nt.h"
#include "ops/gemm_pack.h"
#include "ops/gemm_ukr.h"

#define KC 256
#define MC 144  /* a multiple of every kernel's MR (8, 6, 4) */
#define NC 3072 /* a multiple of every kernel's NR (48, 16) */

static const char *const path_names[LDNQ__GEMM_NPATHS] = {"blas", "c", "avx2", "avx512"};

const char *ldnq__gemm_path_name(ldnq__gemm_path p) {
  return (unsigned)p < LDNQ__GEMM_NPATHS ? path_names[p] : "?";
}

static const ldnq__gemm_ukr *path_ukr(ldnq__gemm_path p) {
  switch (p) {
    case LDNQ__GEMM_C: return &ldnq__gemm_ukr_c;
    case LDNQ__GEMM_AVX2: return &ldnq__gemm_ukr_avx2;
    case LDNQ__GEMM_AVX512: return &ldnq__gemm_ukr_avx512;
    default: return NULL;
  }
}

int ldnq__gemm_supported(ldnq__gemm_path p) {
  switch (p) {
    case LDNQ__GEMM_BLAS:
    case LDNQ__GEMM_C: return 1;
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    case LDNQ__GEMM_AVX2:
      return ldnq__gemm_ukr_avx2.fn && __builtin_cpu_supports("avx2") &&
             __builtin_cpu_supports("fma");
    case LDNQ__GEMM_AVX512:
      return ldnq__gemm_ukr_avx512.fn && __builtin_cpu_supports("avx512f") &&
             __builtin_cpu_supports("fma");
#endif
    default: return 0;
  }
}

static pthread_once_t path_once = PTHREAD_ONCE_INIT;
static ldnq__gemm_path path_active = LDNQ__GEMM_BLAS;

/* AVX-512 where the CPU has it; otherwise OpenBLAS, whose AVX2 kernels are
 * at least as fast as ours (docs/PERFORMANCE.md). */
static void path_init(void) {
  path_active = ldnq__gemm_supported(LDNQ__GEMM_AVX512) ? LDNQ__GEMM_AVX512 : LDNQ__GEMM_BLAS;
  const char *env = getenv("LDNQ_KERNEL");
  if (!env) return;
  for (int p = 0; p < LDNQ__GEMM_NPATHS; p++)
    if (strcmp(env, path_names[p]) == 0 && ldnq__gemm_supported((ldnq__gemm_path)p))
      path_active = (ldnq__gemm_path)p;
}

ldnq__gemm_path ldnq__gemm_active(void) {
  pthread_once(&path_once, path_init);
  return path_active;
}

ldnq__gemm_path ldnq__gemm_force(ldnq__gemm_path p) {
  ldnq__gemm_path old = ldnq__gemm_active();
  if (ldnq__gemm_supported(p)) path_active = p;
  return old;
}

static int min_int(int a, int b) { return a < b ? a : b; }

size_t ldnq__gemm_pack_floats(int M, int N, int K) {
  size_t kc = (size_t)min_int(K > 0 ? K : 1, KC);
  size_t a = (size_t)(min_int(M > 0 ? M : 1, MC) + LDNQ__GEMM_MR_MAX) * kc;
  size_t b = (size_t)(min_int(N > 0 ? N : 1, NC) + LDNQ__GEMM_NR_MAX) * kc;
  return a + b + 32; /* + room to align both to 64 bytes */
}

static float *align64(float *p) {
  return (float *)(((uintptr_t)p + 63u) & ~(uintptr_t)63u);
}

/* C = beta * C where K == 0 leaves nothing to multiply. */
static void scale_c(int M, int N, float beta, float *C, int ldc) {
  for (int i = 0; i < M; i++)
    for (int j = 0; j < N; j++) C[(size_t)i * ldc + j] = beta == 0.0f ? 0.0f : beta * C[(size_t)i * ldc + j];
}

void ldnq__sgemm(int transa, int transb, int M, int N, int K, float alpha, const float *A,
                 int lda, const float *B, int ldb, float beta, float *C, int ldc, float *pack) {
  if (M <= 0 || N <= 0) return;
  const ldnq__gemm_ukr *u = path_ukr(ldnq__gemm_active());
  if (!u) {
    cblas_sgemm(CblasRowMajor, transa ? CblasTrans : CblasNoTrans,
                transb ? CblasTrans : CblasNoTrans, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    return;
  }
  if (K <= 0) {
    scale_c(M, N, beta, C, ldc);
    return;
  }
  const int mr = u->mr, nr = u->nr;
  const int kcmax = min_int(K, KC);
  float *pa = align64(pack);
  float *pb = align64(pa + (size_t)(min_int(M, MC) + LDNQ__GEMM_MR_MAX) * kcmax);
  for (int jc = 0; jc < N; jc += NC) {
    const int nc = min_int(N - jc, NC);
    for (int pc = 0; pc < K; pc += KC) {
      const int kc = min_int(K - pc, KC);
      const float bet = pc == 0 ? beta : 1.0f;
      ldnq__gemm_pack_b(transb, B, ldb, pc, kc, jc, nc, nr, pb);
      for (int ic = 0; ic < M; ic += MC) {
        const int mc = min_int(M - ic, MC);
        ldnq__gemm_pack_a(transa, A, lda, ic, mc, pc, kc, mr, pa);
        for (int jr = 0; jr < nc; jr += nr) {
          const float *bp = pb + (size_t)(jr / nr) * kc * nr;
          const int n = min_int(nc - jr, nr);
          for (int ir = 0; ir < mc; ir += mr) {
            const float *ap = pa + (size_t)(ir / mr) * kc * mr;
            float *c = C + (size_t)(ic + ir) * ldc + jc + jr;
            u->fn(kc, ap, bp, c, (size_t)ldc, alpha, bet, min_int(mc - ir, mr), n);
          }
        }
      }
    }
  }
}

void ldnq__sgemm_nt_acc(int M, int N, int P, const float *A, int lda, const float *B, int ldb,
                        float *C, int ldc, float *pack) {
  if (ldnq__gemm_active() == LDNQ__GEMM_AVX512 && ldnq__gemm_nt_avx512) {
    if (M > 0 && N > 0 && P > 0) ldnq__gemm_nt_avx512(M, N, P, A, lda, B, ldb, C, ldc);
    return;
  }
  ldnq__sgemm(0, 1, M, N, P, 1.0f, A, lda, B, ldb, 1.0f, C, ldc, pack);
}
