"""Opaque handle types and callback prototypes of the C API."""
import ctypes


class Tensor_(ctypes.Structure):
    pass


class Network_(ctypes.Structure):
    pass


class Checkpoint_(ctypes.Structure):
    pass


class Dataset_(ctypes.Structure):
    pass


class Transform_(ctypes.Structure):
    pass


class Subset_(ctypes.Structure):
    pass


class Loader_(ctypes.Structure):
    pass


class Quantizer_(ctypes.Structure):
    pass


class LayerResult_(ctypes.Structure):
    pass


class Report_(ctypes.Structure):
    pass


class Trainer_(ctypes.Structure):
    pass


class Comm_(ctypes.Structure):
    pass


_P = ctypes.POINTER
# int (*)(void *user_data, float *buf, int64_t count) and the double form
COMM_SUM_FLOAT_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, _P(ctypes.c_float),
                                     ctypes.c_int64)
COMM_SUM_DOUBLE_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, _P(ctypes.c_double),
                                      ctypes.c_int64)
# int (*)(void *user_data, void *buf, int64_t bytes, int root)
COMM_BROADCAST_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p,
                                     ctypes.c_int64, ctypes.c_int)
# int (*)(void *user_data, const char *layer, const ldnq_tensor *input)
TAP_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p, _P(Tensor_))
# int (*)(void *user_data, int64_t index, float *image, int32_t *label)
SAMPLE_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_int64,
                             _P(ctypes.c_float), _P(ctypes.c_int32))
# int (*)(void *user_data, int64_t done, int64_t total)
DATA_PROGRESS_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_int64,
                                    ctypes.c_int64)
# int (*)(void *user_data, int64_t index, const ldnq_tensor **batch)
ACTIVATION_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_int64,
                                 _P(_P(Tensor_)))
# int (*)(void *user_data, int64_t layer, int64_t num_layers, ldnq_quant_phase phase,
#         int64_t step, double value)   (ldnq_quant_progress_v2_fn)
QUANT_PROGRESS_V2_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_int64,
                                        ctypes.c_int64, ctypes.c_int, ctypes.c_int64,
                                        ctypes.c_double)
# The 0.2 form (int layer counts) of the deprecated ldnq_quantizer_run.
QUANT_PROGRESS_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_int, ctypes.c_int,
                                     ctypes.c_int, ctypes.c_int64, ctypes.c_double)
# int (*)(void *user_data, int64_t epoch, int64_t batch, int64_t batches, double loss)
TRAIN_PROGRESS_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_int64,
                                     ctypes.c_int64, ctypes.c_int64, ctypes.c_double)
# int (*)(void *user_data, int64_t epoch, double loss, double train_top1,
#         double test_top1, double seconds)
TRAIN_EPOCH_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_int64, ctypes.c_double,
                                  ctypes.c_double, ctypes.c_double, ctypes.c_double)
