"""Loads libldnq and declares the C prototypes (ctypes only).

The library is found through $LDNQ_LIBRARY (a full path), else the dynamic
linker's search path under its SONAME (libldnq.so.0, which pins the ABI
major), else ctypes.util.find_library("ldnq"). Every prototype is declared
so ctypes converts and checks arguments; functions missing from an older
library resolve to None and raise UnsupportedError when used.
"""
import ctypes
import ctypes.util
import os

from . import _types as T

ABI_MAJOR = 0


def _candidates():
    env = os.environ.get("LDNQ_LIBRARY")
    if env:
        return [env]  # an explicit choice must not silently fall back
    names = ["libldnq.so.%d" % ABI_MAJOR]
    found = ctypes.util.find_library("ldnq")
    if found:
        names.append(found)
    return names


def _explain_env(path):
    """Why $LDNQ_LIBRARY cannot be used, or None when it looks right."""
    if os.path.isdir(path):
        inside = [f for f in ("libldnq.so.%d" % ABI_MAJOR, "libldnq.so")
                  if os.path.isfile(os.path.join(path, f))]
        hint = (" (it holds %s: LDNQ_LIBRARY=%s)" % (inside[0], os.path.join(path, inside[0]))
                if inside else "")
        return ("LDNQ_LIBRARY=%s is a folder; it must be the library file itself, e.g. "
                "PREFIX/lib/libldnq.so.%d or build/libldnq.so.%d%s" % (path, ABI_MAJOR, ABI_MAJOR, hint))
    if os.sep in path and not os.path.exists(path):  # a bare name is searched by the linker
        return ("LDNQ_LIBRARY=%s does not exist; set it to the full path of libldnq.so.%d "
                "(e.g. build/libldnq.so.%d) or unset it to search the system" % (path, ABI_MAJOR, ABI_MAJOR))
    return None


def _load():
    env = os.environ.get("LDNQ_LIBRARY")
    if env:
        why = _explain_env(env)
        if why:
            raise ImportError(why)
    errors = []
    for name in _candidates():
        try:
            handle = ctypes.CDLL(name)
        except OSError as e:
            errors.append("%s: %s" % (name, e))
            continue
        if not hasattr(handle, "ldnq_version_number"):
            errors.append("%s is not libldnq (no ldnq_version_number)" % name)
            continue
        return handle, name
    if env:
        raise ImportError("LDNQ_LIBRARY=%s cannot be loaded as libldnq: %s" % (env, "; ".join(errors)))
    raise ImportError("libldnq not found (set LDNQ_LIBRARY to the full path of libldnq.so.%d, "
                      "or put its folder on LD_LIBRARY_PATH): %s" % (ABI_MAJOR, "; ".join(errors)))


lib, lib_name = _load()


def loaded_path():
    """Full path of the libldnq actually mapped into this process."""
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                p = line.split()[-1]
                if "libldnq.so" in p and os.path.isabs(p):
                    return os.path.realpath(p)
    except OSError:
        pass
    return lib_name


c_int, c_int64, c_uint64, c_double, c_float = (ctypes.c_int, ctypes.c_int64, ctypes.c_uint64,
                                               ctypes.c_double, ctypes.c_float)
c_char_p, c_void_p, c_size_t, c_unsigned = (ctypes.c_char_p, ctypes.c_void_p, ctypes.c_size_t,
                                            ctypes.c_uint)
P = ctypes.POINTER
PP = lambda t: P(P(t))  # noqa: E731
S = c_int  # ldnq_status and every other C enum: int-sized on the supported ABIs
F32P, F64P, I64P, I32P, I8P = P(c_float), P(c_double), P(c_int64), P(ctypes.c_int32), P(ctypes.c_int8)
STRP = P(c_char_p)
TEN, NET, CK, DS, TR, SUB, LD, Q, RES, REP, TRN = (
    T.Tensor_, T.Network_, T.Checkpoint_, T.Dataset_, T.Transform_, T.Subset_, T.Loader_,
    T.Quantizer_, T.LayerResult_, T.Report_, T.Trainer_)

# name: (restype, argtypes)
_PROTOS = {
    # common.h
    "ldnq_version_number": (ctypes.c_uint, []),
    "ldnq_version_string": (c_char_p, []),
    "ldnq_status_string": (c_char_p, [S]),
    "ldnq_last_error": (c_char_p, []),
    # tensor.h
    "ldnq_tensor_create": (S, [c_int, I64P, P(P(TEN))]),
    "ldnq_tensor_wrap": (S, [c_void_p, c_int, I64P, P(P(TEN))]),
    "ldnq_tensor_copy": (S, [P(TEN), P(P(TEN))]),
    "ldnq_tensor_free": (None, [P(TEN)]),
    "ldnq_tensor_shape": (S, [P(TEN), P(c_int), I64P]),
    "ldnq_tensor_numel": (S, [P(TEN), I64P]),
    "ldnq_tensor_data": (S, [P(TEN), P(F32P)]),
    "ldnq_tensor_reshape": (S, [P(TEN), c_int, I64P]),
    "ldnq_tensor_write": (S, [P(TEN), c_void_p, c_int64]),
    "ldnq_tensor_read": (S, [P(TEN), c_void_p, c_int64]),
    "ldnq_tensor_fill": (S, [P(TEN), c_float]),
    # network.h
    "ldnq_arch_from_name": (S, [c_char_p, P(c_int)]),
    "ldnq_arch_name": (c_char_p, [c_int]),
    "ldnq_network_create": (S, [c_int, c_int, c_int, P(P(NET))]),
    "ldnq_network_free": (None, [P(NET)]),
    "ldnq_network_errmsg": (c_char_p, [P(NET)]),
    "ldnq_network_clone": (S, [P(NET), P(P(NET))]),
    "ldnq_network_describe": (S, [P(NET), P(c_int), P(c_int), P(c_int)]),
    "ldnq_network_reset_parameters": (S, [P(NET), c_uint64]),
    "ldnq_network_tensor_count": (S, [P(NET), P(c_int)]),
    "ldnq_network_tensor_name": (S, [P(NET), c_int, STRP]),
    "ldnq_network_tensor_info": (S, [P(NET), c_char_p, P(c_int), P(c_int), I64P]),
    "ldnq_network_read": (S, [P(NET), c_char_p, c_void_p, c_int64]),
    "ldnq_network_write": (S, [P(NET), c_char_p, c_void_p, c_int64]),
    "ldnq_network_set_trainable": (S, [P(NET), c_char_p, c_int]),
    "ldnq_network_get_trainable": (S, [P(NET), c_char_p, P(c_int)]),
    "ldnq_network_set_training": (S, [P(NET), c_int]),
    "ldnq_network_get_training": (S, [P(NET), P(c_int)]),
    "ldnq_network_set_grad_enabled": (S, [P(NET), c_int]),
    "ldnq_network_get_grad_enabled": (S, [P(NET), P(c_int)]),
    "ldnq_network_forward": (S, [P(NET), P(TEN), P(TEN)]),
    "ldnq_network_backward": (S, [P(NET), P(TEN), P(TEN)]),
    "ldnq_network_zero_grad": (S, [P(NET)]),
    "ldnq_network_get_grad": (S, [P(NET), c_char_p, P(P(TEN))]),
    "ldnq_network_layer_count": (S, [P(NET), P(c_int)]),
    "ldnq_network_layer_name": (S, [P(NET), c_int, STRP]),
    "ldnq_network_layer_attr": (S, [P(NET), c_int, c_int, P(c_int)]),
    "ldnq_network_set_tap": (S, [P(NET), T.TAP_FN, c_void_p]),
    # io.h
    "ldnq_format_name": (c_char_p, [c_int]),
    "ldnq_dtype_name": (c_char_p, [c_int]),
    "ldnq_format_from_path": (S, [c_char_p, P(c_int)]),
    "ldnq_checkpoint_load": (S, [c_char_p, P(P(CK))]),
    "ldnq_checkpoint_load_memory": (S, [c_void_p, c_size_t, P(P(CK))]),
    "ldnq_checkpoint_create": (S, [P(P(CK))]),
    "ldnq_checkpoint_free": (None, [P(CK)]),
    "ldnq_checkpoint_errmsg": (c_char_p, [P(CK)]),
    "ldnq_checkpoint_format": (S, [P(CK), P(c_int)]),
    "ldnq_checkpoint_count": (S, [P(CK), P(c_int)]),
    "ldnq_checkpoint_name": (S, [P(CK), c_int, STRP]),
    "ldnq_checkpoint_info": (S, [P(CK), c_char_p, P(c_int), P(c_int), I64P]),
    "ldnq_checkpoint_read": (S, [P(CK), c_char_p, c_void_p, c_int64]),
    "ldnq_checkpoint_sum": (S, [P(CK), c_char_p, F64P, F64P]),
    "ldnq_checkpoint_add": (S, [P(CK), c_char_p, P(TEN)]),
    "ldnq_checkpoint_add_int64": (S, [P(CK), c_char_p, c_int, I64P, c_void_p]),
    "ldnq_checkpoint_add_quantized": (S, [P(CK), c_char_p, c_int, I64P, c_int, c_float,
                                          c_void_p]),
    "ldnq_checkpoint_set_quantized": (S, [P(CK), c_char_p, c_int, c_float, c_void_p, c_int64]),
    "ldnq_checkpoint_add_quantized_per_channel": (S, [P(CK), c_char_p, c_int, I64P, c_int,
                                                      c_void_p, c_int64, c_void_p]),
    "ldnq_checkpoint_set_quantized_per_channel": (S, [P(CK), c_char_p, c_int, c_void_p,
                                                      c_int64, c_void_p, c_int64]),
    "ldnq_checkpoint_get_quantized_alphas": (S, [P(CK), c_char_p, I64P, c_void_p, c_int64]),
    "ldnq_checkpoint_remove": (S, [P(CK), c_char_p]),
    "ldnq_checkpoint_get_quantized": (S, [P(CK), c_char_p, P(c_int), P(c_float), c_void_p,
                                          c_int64]),
    "ldnq_checkpoint_metadata_count": (S, [P(CK), P(c_int)]),
    "ldnq_checkpoint_metadata_get": (S, [P(CK), c_int, STRP, STRP]),
    "ldnq_checkpoint_metadata_set": (S, [P(CK), c_char_p, c_char_p]),
    "ldnq_checkpoint_save": (S, [P(CK), c_char_p, c_int]),
    "ldnq_network_load_checkpoint": (S, [P(NET), P(CK), c_unsigned]),
    "ldnq_network_load": (S, [P(NET), c_char_p, c_unsigned]),
    "ldnq_checkpoint_from_network": (S, [P(NET), P(P(CK))]),
    "ldnq_network_save": (S, [P(NET), c_char_p, c_int]),
    "ldnq_network_create_from_checkpoint": (S, [c_int, P(CK), P(P(NET))]),
    # data.h
    "ldnq_dataset_open_idx": (S, [c_char_p, c_char_p, P(P(DS))]),
    "ldnq_dataset_open_cifar10": (S, [c_char_p, c_int, P(P(DS))]),
    "ldnq_dataset_open_imagefolder": (S, [c_char_p, P(P(DS))]),
    "ldnq_dataset_create_callback": (S, [c_int64, c_int, c_int, c_int, c_int, T.SAMPLE_FN,
                                         c_void_p, P(P(DS))]),
    "ldnq_dataset_open_spec": (S, [c_char_p, c_int, P(P(DS))]),
    "ldnq_dataset_free": (None, [P(DS)]),
    "ldnq_dataset_errmsg": (c_char_p, [P(DS)]),
    "ldnq_dataset_count": (S, [P(DS), I64P]),
    "ldnq_dataset_num_classes": (S, [P(DS), P(c_int)]),
    "ldnq_dataset_class_name": (S, [P(DS), c_int, STRP]),
    "ldnq_dataset_sample_shape": (S, [P(DS), P(c_int), P(c_int), P(c_int)]),
    "ldnq_dataset_label": (S, [P(DS), c_int64, I32P]),
    "ldnq_dataset_set_preset": (S, [P(DS), c_int]),
    "ldnq_dataset_get_preset": (S, [P(DS), P(c_int)]),
    "ldnq_dataset_set_option": (S, [P(DS), c_int, c_int64]),
    "ldnq_dataset_get": (S, [P(DS), c_int64, P(TR), c_uint64, P(P(TEN)), I32P]),
    "ldnq_transform_create": (S, [P(P(TR))]),
    "ldnq_transform_create_preset": (S, [c_int, c_int, P(P(TR))]),
    "ldnq_transform_free": (None, [P(TR)]),
    "ldnq_transform_copy": (S, [P(TR), P(P(TR))]),
    "ldnq_transform_add_resize": (S, [P(TR), c_int]),
    "ldnq_transform_add_center_crop": (S, [P(TR), c_int, c_int]),
    "ldnq_transform_add_random_resized_crop": (S, [P(TR), c_int]),
    "ldnq_transform_add_random_crop": (S, [P(TR), c_int, c_int]),
    "ldnq_transform_add_pad": (S, [P(TR), c_int]),
    "ldnq_transform_add_hflip": (S, [P(TR), c_double]),
    "ldnq_transform_add_normalize": (S, [P(TR), c_int, c_void_p, c_void_p]),
    "ldnq_subset_sample": (S, [P(DS), c_double, c_int64, c_int, c_uint64, P(P(SUB))]),
    "ldnq_subset_create": (S, [c_int64, c_void_p, P(P(SUB))]),
    "ldnq_subset_free": (None, [P(SUB)]),
    "ldnq_subset_count": (S, [P(SUB), I64P]),
    "ldnq_subset_indices": (S, [P(SUB), P(I64P)]),
    "ldnq_subset_save": (S, [P(SUB), c_char_p]),
    "ldnq_subset_load": (S, [c_char_p, P(P(SUB))]),
    "ldnq_dataset_subset": (S, [P(DS), P(SUB), P(P(DS))]),
    "ldnq_loader_create": (S, [P(DS), c_int, P(P(LD))]),
    "ldnq_loader_free": (None, [P(LD)]),
    "ldnq_loader_errmsg": (c_char_p, [P(LD)]),
    "ldnq_loader_set_option": (S, [P(LD), c_int, c_int64]),
    "ldnq_loader_set_transforms": (S, [P(LD), P(TR), P(TR)]),
    "ldnq_loader_set_progress": (S, [P(LD), T.DATA_PROGRESS_FN, c_void_p]),
    "ldnq_loader_num_batches": (S, [P(LD), I64P]),
    "ldnq_loader_next": (S, [P(LD), P(P(TEN)), P(I32P), P(c_int)]),
    "ldnq_loader_reset": (S, [P(LD), c_int64]),
    "ldnq_evaluate": (S, [P(NET), P(LD), F64P, F64P, I64P, T.DATA_PROGRESS_FN, c_void_p]),
    # quant.h
    "ldnq_quantizer_create": (S, [P(P(Q))]),
    "ldnq_quantizer_free": (None, [P(Q)]),
    "ldnq_quantizer_errmsg": (c_char_p, [P(Q)]),
    "ldnq_quantizer_set_int": (S, [P(Q), c_int, c_int64]),
    "ldnq_quantizer_get_int": (S, [P(Q), c_int, I64P]),
    "ldnq_quantizer_set_double": (S, [P(Q), c_int, c_double]),
    "ldnq_quantizer_get_double": (S, [P(Q), c_int, F64P]),
    "ldnq_quantizer_param_bounds": (S, [c_int, F64P, F64P, F64P]),
    "ldnq_quantizer_param_type": (S, [c_int, P(c_int)]),
    "ldnq_quantizer_solve_conv": (S, [P(Q), c_int, c_int, c_int, c_int, c_int, c_int, c_void_p,
                                      T.ACTIVATION_FN, c_void_p, P(P(RES))]),
    "ldnq_quantizer_solve_linear": (S, [P(Q), c_int, c_int, c_int, c_void_p, c_void_p,
                                        T.ACTIVATION_FN, c_void_p, P(P(RES))]),
    "ldnq_quantizer_solve_hessian": (S, [P(Q), c_int, c_int, c_void_p, c_void_p, P(P(RES))]),
    "ldnq_layer_result_free": (None, [P(RES)]),
    "ldnq_layer_result_get_int": (S, [P(RES), c_int, I64P]),
    "ldnq_layer_result_get_double": (S, [P(RES), c_int, F64P]),
    "ldnq_layer_result_weights": (S, [P(RES), c_void_p, c_int64]),
    "ldnq_layer_result_bias": (S, [P(RES), c_void_p, c_int64]),
    "ldnq_layer_result_codes": (S, [P(RES), c_void_p, c_int64]),
    "ldnq_layer_result_bias_codes": (S, [P(RES), c_void_p, c_int64]),
    "ldnq_layer_result_matrix": (S, [P(RES), c_void_p, c_int64]),
    "ldnq_layer_result_alphas": (S, [P(RES), P(F64P), I64P]),
    # quant.h: whole-network pipeline
    "ldnq_quantizer_run": (S, [P(Q), P(NET), P(DS), P(LD), T.QUANT_PROGRESS_FN, c_void_p,
                               P(P(REP))]),
    "ldnq_quant_report_free": (None, [P(REP)]),
    "ldnq_quant_report_layer_count": (S, [P(REP), P(c_int)]),
    "ldnq_quant_report_layer_name": (S, [P(REP), c_int, STRP]),
    "ldnq_quant_report_layer_result": (S, [P(REP), c_int, P(P(RES))]),
    "ldnq_quant_report_layer_int": (S, [P(REP), c_int, c_int, I64P]),
    "ldnq_quant_report_layer_double": (S, [P(REP), c_int, c_int, F64P]),
    "ldnq_quant_report_summary": (S, [P(REP), F64P, F64P, F64P]),
    "ldnq_quant_report_json": (S, [P(REP), P(c_void_p)]),
    "ldnq_quant_report_table": (S, [P(REP), P(c_void_p)]),
    "ldnq_quant_string_free": (None, [c_void_p]),
    "ldnq_quant_report_checkpoint": (S, [P(REP), P(NET), P(P(CK))]),
    # train.h
    "ldnq_trainer_create": (S, [P(P(TRN))]),
    "ldnq_trainer_free": (None, [P(TRN)]),
    "ldnq_trainer_errmsg": (c_char_p, [P(TRN)]),
    "ldnq_trainer_set_int": (S, [P(TRN), c_int, c_int64]),
    "ldnq_trainer_get_int": (S, [P(TRN), c_int, I64P]),
    "ldnq_trainer_set_double": (S, [P(TRN), c_int, c_double]),
    "ldnq_trainer_get_double": (S, [P(TRN), c_int, F64P]),
    "ldnq_trainer_param_bounds": (S, [c_int, F64P, F64P, F64P]),
    "ldnq_trainer_param_type": (S, [c_int, P(c_int)]),
    "ldnq_trainer_lr": (S, [P(TRN), c_int64, c_int64, c_int64, F64P]),
    "ldnq_trainer_set_progress": (S, [P(TRN), T.TRAIN_PROGRESS_FN, c_void_p]),
    "ldnq_trainer_set_epoch_callback": (S, [P(TRN), T.TRAIN_EPOCH_FN, c_void_p]),
    "ldnq_trainer_run": (S, [P(TRN), P(NET), P(DS), P(DS), c_char_p, c_int]),
    "ldnq_trainer_result": (S, [P(TRN), c_int, F64P]),
    # experimental.h (not stable; used by the tests for leak accounting)
    "ldnq_debug_fail_alloc": (S, [ctypes.c_long]),
    "ldnq_debug_live_allocations": (S, [P(ctypes.c_long)]),
}


# Added in 0.3 (docs/ABI.md, node LDNQ_0.3); older libraries resolve them to _Missing.
_PROTOS.update({
    "ldnq_tensor_errmsg": (c_char_p, [P(TEN)]),
    "ldnq_tensor_errcode": (S, [P(TEN)]),
    "ldnq_network_errcode": (S, [P(NET)]),
    "ldnq_network_layer_int": (S, [P(NET), c_int, c_int, I64P]),
    "ldnq_checkpoint_errcode": (S, [P(CK)]),
    "ldnq_network_load_checkpoint_v2": (S, [P(NET), P(CK), c_unsigned, c_char_p, c_size_t]),
    "ldnq_network_load_v2": (S, [P(NET), c_char_p, c_unsigned, c_char_p, c_size_t]),
    "ldnq_dataset_errcode": (S, [P(DS)]),
    "ldnq_dataset_get_option": (S, [P(DS), c_int, I64P]),
    "ldnq_dataset_option_bounds": (S, [c_int, I64P, I64P, I64P]),
    "ldnq_transform_errmsg": (c_char_p, [P(TR)]),
    "ldnq_transform_errcode": (S, [P(TR)]),
    "ldnq_loader_errcode": (S, [P(LD)]),
    "ldnq_loader_get_option": (S, [P(LD), c_int, I64P]),
    "ldnq_loader_option_bounds": (S, [c_int, I64P, I64P, I64P]),
    "ldnq_levels_bits": (S, [c_int, P(c_int)]),
    "ldnq_set_num_threads": (S, [c_int]),
    "ldnq_get_num_threads": (c_int, []),
    "ldnq_quantizer_errcode": (S, [P(Q)]),
    "ldnq_trainer_errcode": (S, [P(TRN)]),
    "ldnq_trainer_result_int": (S, [P(TRN), c_int, I64P]),
    "ldnq_trainer_result_double": (S, [P(TRN), c_int, F64P]),
    "ldnq_quantizer_param_name": (S, [c_int, STRP]),
    "ldnq_quantizer_profile_default": (S, [c_int, c_int, F64P]),
    "ldnq_comm_create": (S, [c_int, c_int, T.COMM_SUM_FLOAT_FN, T.COMM_SUM_DOUBLE_FN,
                             T.COMM_BROADCAST_FN, c_void_p, P(P(T.Comm_))]),
    "ldnq_comm_free": (None, [P(T.Comm_)]),
    "ldnq_comm_rank": (S, [P(T.Comm_), P(c_int)]),
    "ldnq_comm_size": (S, [P(T.Comm_), P(c_int)]),
    "ldnq_loader_set_comm": (S, [P(LD), P(T.Comm_)]),
    "ldnq_trainer_set_comm": (S, [P(TRN), P(T.Comm_)]),
    "ldnq_quantizer_set_state_path": (S, [P(Q), c_char_p, c_unsigned]),
    "ldnq_quantizer_resumed_layers": (S, [P(Q), P(c_int)]),
    "ldnq_quantizer_set_comm": (S, [P(Q), P(T.Comm_)]),
    # one count type (int64_t) and progress set on the handle: the _v2 forms
    "ldnq_checkpoint_count_v2": (S, [P(CK), I64P]),
    "ldnq_checkpoint_metadata_count_v2": (S, [P(CK), I64P]),
    "ldnq_network_tensor_count_v2": (S, [P(NET), I64P]),
    "ldnq_network_layer_count_v2": (S, [P(NET), I64P]),
    "ldnq_quant_report_layer_count_v2": (S, [P(REP), I64P]),
    "ldnq_quantizer_resumed_layers_v2": (S, [P(Q), I64P]),
    "ldnq_loader_next_v2": (S, [P(LD), P(P(TEN)), P(I32P), I64P]),
    "ldnq_quantizer_set_progress": (S, [P(Q), T.QUANT_PROGRESS_V2_FN, c_void_p]),
    "ldnq_quantizer_run_v2": (S, [P(Q), P(NET), P(DS), P(LD), P(P(REP))]),
    "ldnq_evaluate_v2": (S, [P(NET), P(LD), F64P, F64P, I64P]),
})


class _Missing:
    """Stands for a function the loaded library does not export."""

    def __init__(self, name):
        self.name = name

    def __bool__(self):
        return False

    def __call__(self, *args):
        from .errors import UnsupportedError, Status
        raise UnsupportedError(Status.UNSUPPORTED,
                               "%s is not exported by %s" % (self.name, lib_name))


class _Fns:
    pass


fn = _Fns()
for _name, (_res, _args) in _PROTOS.items():
    try:
        _f = getattr(lib, _name)
    except AttributeError:
        setattr(fn, _name[5:], _Missing(_name))
        continue
    _f.restype = _res
    _f.argtypes = _args
    setattr(fn, _name[5:], _f)  # fn.tensor_create is ldnq_tensor_create
