/* LAPACK routines the solver needs, called straight into OpenBLAS's Fortran
 * symbols (no LAPACKE dependency). The trailing size_t is gfortran's hidden
 * length of the character argument; passing it is harmless elsewhere. */
#ifndef LDNQ_QUANT_LAPACK_H
#define LDNQ_QUANT_LAPACK_H

#include <stddef.h>

void dpotrf_(const char *uplo, const int *n, double *a, const int *lda, int *info,
             size_t uplo_len);
void dpotrs_(const char *uplo, const int *n, const int *nrhs, const double *a,
             const int *lda, double *b, const int *ldb, int *info, size_t uplo_len);

void dpotri_(const char *uplo, const int *n, double *a, const int *lda, int *info,
             size_t uplo_len);

#endif
