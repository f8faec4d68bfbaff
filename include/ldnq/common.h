/* libldnq: common definitions (export macro, version, status codes, errors).
 *
 * Error rule (applies to every function of the library):
 *   - Every function that can fail returns an ldnq_status; the value says
 *     what kind of failure, a message says which value or name caused it.
 *   - ldnq_last_error() always holds the message of the calling thread's
 *     last failure, whatever the function.
 *   - A function ldnq_X_* that takes its ldnq_X handle non-const also
 *     records its failure on that handle: ldnq_X_errmsg() and
 *     ldnq_X_errcode() (ldnq_evaluate_v2 records on its loader). Every handle
 *     type with such a function has both (quantizer, trainer, network,
 *     checkpoint, dataset, loader, transform, tensor). The handles whose
 *     functions are all read-only (subset, layer result, quant report) have
 *     neither: use ldnq_last_error(). Constructors (_create, _open_*,
 *     _load, ...) have no handle yet and use ldnq_last_error().
 *   - A function that takes a const handle ("read-only") never writes the
 *     handle, not even its message: its failures go to ldnq_last_error()
 *     only, so it can run on a shared handle from several threads.
 *   - Information about a success (what a non-strict load skipped, ...)
 *     comes back through an out-parameter or a getter, never through the
 *     error channel. (The deprecated ldnq_network_load and
 *     ldnq_network_load_checkpoint are the one exception, kept for the ABI.)
 *   - Attribute getters (ldnq_layer_result_get_int/_double,
 *     ldnq_quant_report_layer_int/_double, ldnq_trainer_result_int/_double,
 *     ldnq_network_layer_int) are read-only: an unknown attribute or one of
 *     the other type is LDNQ_ERR_INVALID_ARG with a message naming it, in
 *     ldnq_last_error() only ("ldnq_quant_report_layer_int: report
 *     attribute LDNQ_QR_TOP1 (102) is real, not integer (use
 *     ldnq_quant_report_layer_double)"); the output is left as it was.
 *   - Failures leave outputs and handles as they were, unless the function
 *     documents otherwise; nothing aborts.
 *
 * Conventions of the interface (docs/ABI.md, 0.3.0):
 *   - A count of items (tensors, layers, samples, scales, batches, metadata
 *     keys) is int64_t, given through an int64_t * (the _v2 functions; the
 *     0.2 forms with int * are deprecated). Small bounded sizes stay int:
 *     dimensions (ndim, channels, classes), levels, bits, ranks, and the
 *     0-based index arguments of the name/attribute getters.
 *   - A progress callback is registered on its handle with a setter
 *     (ldnq_trainer_set_progress, ldnq_loader_set_progress,
 *     ldnq_quantizer_set_progress), not passed to each call: fn NULL
 *     removes it, user_data is borrowed until it is replaced or the handle
 *     is freed. ldnq_evaluate_v2 reports through its loader's.
 *
 * Thread safety (applies to the whole library):
 *   - Every function may be called from any thread.
 *   - Distinct handles may be used concurrently from different threads.
 *   - One handle must not be used by two threads at the same time, except
 *     for functions documented "read-only": those may run concurrently on
 *     one handle as long as no thread modifies it meanwhile. They report
 *     failures through ldnq_last_error() only, never the handle's errmsg.
 *     Objects commonly shared this way: a loaded ldnq_checkpoint (count,
 *     name, info, sum, get_quantized, format), a dataset (count, labels,
 *     ldnq_dataset_get), a layer result, a tensor's shape/data_const.
 *   - ldnq_last_error() is per thread; a handle's errmsg is per handle and
 *     written only by its non-const functions (the error rule above), so
 *     concurrent read-only calls never race on it.
 *   - Callbacks run on the thread that called into the library unless
 *     their documentation says otherwise.
 */
#ifndef LDNQ_COMMON_H
#define LDNQ_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(LDNQ_STATIC)
#  define LDNQ_API
#elif defined(__GNUC__)
#  define LDNQ_API __attribute__((visibility("default")))
#else
#  define LDNQ_API
#endif

/* Marks a function kept for ABI compatibility that new code should not
 * use; msg names the replacement. The symbol stays exported for the rest
 * of the SONAME major (docs/ABI.md). Define LDNQ_DISABLE_DEPRECATION_WARNINGS
 * to silence the warnings (the library's own sources build with it off:
 * the 0.2 forms are implemented there). */
#if defined(LDNQ_DISABLE_DEPRECATION_WARNINGS) || defined(LDNQ_BUILDING_LIBRARY)
#  define LDNQ_DEPRECATED(msg)
#elif defined(__cplusplus) && __cplusplus >= 201402L
#  define LDNQ_DEPRECATED(msg) [[deprecated(msg)]]
#elif defined(__GNUC__) || defined(__clang__)
#  define LDNQ_DEPRECATED(msg) __attribute__((deprecated(msg)))
#elif defined(_MSC_VER)
#  define LDNQ_DEPRECATED(msg) __declspec(deprecated(msg))
#else
#  define LDNQ_DEPRECATED(msg)
#endif

/* The version is written here only: CMakeLists.txt reads these three
 * lines (the project version, the pkg-config and package files). */
#define LDNQ_VERSION_MAJOR 0
#define LDNQ_VERSION_MINOR 3
#define LDNQ_VERSION_PATCH 0
/* MAJOR*10000 + MINOR*100 + PATCH, as returned by ldnq_version_number(). */
#define LDNQ_VERSION_NUMBER \
  (LDNQ_VERSION_MAJOR * 10000 + LDNQ_VERSION_MINOR * 100 + LDNQ_VERSION_PATCH)
#define LDNQ__QUOTE(x) #x
#define LDNQ__EXPAND_AND_QUOTE(x) LDNQ__QUOTE(x)
/* "MAJOR.MINOR.PATCH" of the header, as returned by ldnq_version_string(). */
#define LDNQ_VERSION_STRING                                     \
  LDNQ__EXPAND_AND_QUOTE(LDNQ_VERSION_MAJOR) "." LDNQ__EXPAND_AND_QUOTE( \
      LDNQ_VERSION_MINOR) "." LDNQ__EXPAND_AND_QUOTE(LDNQ_VERSION_PATCH)

/* Version of the library actually linked (may differ from the header's). */
LDNQ_API unsigned ldnq_version_number(void);
/* "MAJOR.MINOR.PATCH"; static storage, never freed. */
LDNQ_API const char *ldnq_version_string(void);

/* Status codes. Values are fixed forever and never reused. */
typedef enum ldnq_status {
  LDNQ_OK = 0,
  LDNQ_ERR_INVALID_ARG = 1,  /* NULL handle/pointer, bad enum, bad name format */
  LDNQ_ERR_NOMEM = 2,        /* allocation failed */
  LDNQ_ERR_SHAPE = 3,        /* tensor shape or size does not fit */
  LDNQ_ERR_NOT_FOUND = 4,    /* unknown parameter/layer/key name, missing file */
  LDNQ_ERR_IO = 5,           /* read/write/rename failed */
  LDNQ_ERR_FORMAT = 6,       /* file or data is malformed or not understood */
  LDNQ_ERR_UNSUPPORTED = 7,  /* valid but not supported (dtype, opcode, arch) */
  LDNQ_ERR_RANGE = 8,        /* option value outside its documented bounds */
  LDNQ_ERR_NUMERIC = 9,      /* non-finite values, failed factorization */
  LDNQ_ERR_CANCELLED = 10,   /* a callback asked to stop */
  LDNQ_ERR_STATE = 11,       /* call not valid in the handle's current state */
  LDNQ_ERR_LIMIT = 12,       /* a declared size exceeds a safety limit or the file */
  LDNQ_ERR_CALLBACK = 13,    /* a user callback reported a failure */
  LDNQ_ERR_INTERNAL = 14,    /* a bug in libldnq; please report it */
  LDNQ_ERR_LABEL = 15,       /* a label outside the network's (or dataset's) classes */
  LDNQ_ERR_ARCH_MISMATCH = 16, /* weights of another architecture than the network's */
  LDNQ_ERR_STATE_MISMATCH = 17 /* a saved run state of another run (other weights, data
                                  or settings: ldnq_quantizer_set_state_path) */
} ldnq_status;

/* Compute threads (process-wide, all handles): the convolution, batch-norm
 * and elementwise kernels split their work over a pool of n threads, the
 * caller's included. The most threads any call can use is fixed the first
 * time the kernels run (or by the first ldnq_set_num_threads before that):
 * LDNQ_NUM_THREADS if set, else OpenBLAS's thread count. Afterwards n can
 * be changed at any time within [1, that maximum]; more gives
 * LDNQ_ERR_STATE. n outside [1, 16] gives LDNQ_ERR_RANGE. libldnq leaves
 * OpenBLAS's own thread count alone, except on the reference kernel path
 * (LDNQ_KERNEL=blas), where it sets it to 1 during each parallel kernel
 * call and restores it after. Between calls the pool threads wait spinning
 * (and yielding the core to any other runnable thread) for up to 200 us,
 * then sleep; LDNQ_SPIN_US (0 to 1000000, read when the pool starts) sets
 * that time, 0 sleeps at once. */
LDNQ_API ldnq_status ldnq_set_num_threads(int n);
/* The compute threads in use now. */
LDNQ_API int ldnq_get_num_threads(void);

/* Short English description of a status ("invalid argument"); static
 * storage. Unknown values give "unknown status". */
LDNQ_API const char *ldnq_status_string(ldnq_status status);

/* Detailed message of the last failure on the calling thread (any
 * function, with or without a handle; see the error rule above). "" if
 * none yet. The pointer stays valid until the next libldnq call on this
 * thread. */
LDNQ_API const char *ldnq_last_error(void);

/* Maximum tensor rank handled by the library. Callers size shape buffers
 * with it, so it is part of the ABI: fixed within a SONAME major. */
#define LDNQ_MAX_DIMS 8

#ifdef __cplusplus
}
#endif
#endif
