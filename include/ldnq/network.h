/* libldnq: built-in networks (CIFAR ResNet20/32/56, ImageNet ResNet18/34/50).
 *
 * Parameter and buffer names equal PyTorch state-dict keys
 * ("conv1.weight", "layer1.0.bn1.running_mean", "fc.bias", ...), in
 * state-dict order. BatchNorm's num_batches_tracked is exposed as a float32
 * scalar (0-D tensor) holding an integer value.
 */
#ifndef LDNQ_NETWORK_H
#define LDNQ_NETWORK_H

#include "common.h"
#include "tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ldnq_network ldnq_network;

typedef enum ldnq_arch {
  LDNQ_ARCH_RESNET20 = 1, /* CIFAR variant: 3x3 stem, 16/32/64 channels */
  LDNQ_ARCH_RESNET32 = 2,
  LDNQ_ARCH_RESNET56 = 3,
  LDNQ_ARCH_RESNET18 = 4, /* ImageNet variant, as torchvision */
  LDNQ_ARCH_RESNET34 = 5,
  LDNQ_ARCH_RESNET50 = 6
} ldnq_arch;

/* "resnet20" ... "resnet50" <-> enum. ldnq_arch_name returns NULL for an
 * unknown value; the string is static. */
LDNQ_API ldnq_status ldnq_arch_from_name(const char *name, ldnq_arch *out);
LDNQ_API const char *ldnq_arch_name(ldnq_arch arch);

/* Creates a network with PyTorch's default initialisation drawn from a
 * fixed seed (see ldnq_network_reset_parameters). in_channels in [1, 64],
 * num_classes in [1, 100000]. Eval mode. The caller owns *out. */
LDNQ_API ldnq_status ldnq_network_create(ldnq_arch arch, int in_channels,
                                         int num_classes, ldnq_network **out);
/* Frees the network. Accepts NULL. */
LDNQ_API void ldnq_network_free(ldnq_network *net);
/* Message of the last failure on this handle ("" if none); owned by the
 * handle, valid until its next call. Accepts NULL (returns a static "").*/
LDNQ_API const char *ldnq_network_errmsg(const ldnq_network *net);
/* Status of the last failure recorded on this handle (LDNQ_OK if none or
 * after a successful non-const call); LDNQ_ERR_INVALID_ARG for NULL. */
LDNQ_API ldnq_status ldnq_network_errcode(const ldnq_network *net);

/* Deep copy: parameters, buffers, trainable flags and mode (not the tap,
 * not gradients). The caller owns *out. */
LDNQ_API ldnq_status ldnq_network_clone(const ldnq_network *net,
                                        ldnq_network **out);
/* Architecture and sizes given at creation. Any pointer may be NULL. */
LDNQ_API ldnq_status ldnq_network_describe(const ldnq_network *net,
                                           ldnq_arch *arch, int *in_channels,
                                           int *num_classes);
/* Re-initialises all parameters (PyTorch default schemes) from `seed`,
 * resets BN statistics. */
LDNQ_API ldnq_status ldnq_network_reset_parameters(ldnq_network *net,
                                                   uint64_t seed);

/* ---- Parameters and buffers (state dict) ---- */
typedef enum ldnq_tensor_kind {
  LDNQ_KIND_PARAMETER = 0,
  LDNQ_KIND_BUFFER = 1
} ldnq_tensor_kind;

/* Number of state-dict entries (parameters and buffers). */
LDNQ_API ldnq_status ldnq_network_tensor_count_v2(const ldnq_network *net,
                                                  int64_t *count);
/* 0.2 form, as int. */
LDNQ_DEPRECATED("use ldnq_network_tensor_count_v2 (counts are int64_t)")
LDNQ_API ldnq_status ldnq_network_tensor_count(const ldnq_network *net,
                                               int *count);
/* Name of entry `index` (0-based, state-dict order). The string is owned
 * by the network and lives as long as it does. */
LDNQ_API ldnq_status ldnq_network_tensor_name(const ldnq_network *net,
                                              int index, const char **name);
/* Kind, rank and sizes of a named entry. Any output may be NULL; `shape`
 * receives *ndim values (room for LDNQ_MAX_DIMS is always enough). */
LDNQ_API ldnq_status ldnq_network_tensor_info(const ldnq_network *net,
                                              const char *name,
                                              ldnq_tensor_kind *kind,
                                              int *ndim, int64_t *shape);
/* Copy of a named entry. The caller owns *out. */
LDNQ_API ldnq_status ldnq_network_get(const ldnq_network *net,
                                      const char *name, ldnq_tensor **out);
/* Replaces a named entry's values; `value` must have exactly its shape.
 * Non-finite values are rejected (LDNQ_ERR_NUMERIC) and nothing changes. */
LDNQ_API ldnq_status ldnq_network_set(ldnq_network *net, const char *name,
                                      const ldnq_tensor *value);
/* Raw copies of n floats (n must equal the entry's numel). */
LDNQ_API ldnq_status ldnq_network_read(const ldnq_network *net,
                                       const char *name, float *dst,
                                       int64_t n);
LDNQ_API ldnq_status ldnq_network_write(ldnq_network *net, const char *name,
                                        const float *src, int64_t n);

/* Per-parameter trainable flag (default 1). Frozen parameters get no
 * gradient. Buffers are never trainable (LDNQ_ERR_INVALID_ARG). */
LDNQ_API ldnq_status ldnq_network_set_trainable(ldnq_network *net,
                                                const char *name,
                                                int trainable);
LDNQ_API ldnq_status ldnq_network_get_trainable(const ldnq_network *net,
                                                const char *name,
                                                int *trainable);

/* ---- Running ---- */
/* 1: training mode (BN uses batch statistics and updates running ones);
 * 0: eval mode. */
LDNQ_API ldnq_status ldnq_network_set_training(ldnq_network *net,
                                               int training);
LDNQ_API ldnq_status ldnq_network_get_training(const ldnq_network *net,
                                               int *training);

/* Gradient tracking (default 1). With 0, like torch.no_grad(), forward
 * keeps nothing for backward and needs far less memory (four buffers of the
 * largest activation instead of every activation); a backward after such a
 * forward fails with LDNQ_ERR_STATE. Modes and the tap work as usual. Not
 * copied by ldnq_network_clone (a clone starts with 1). */
LDNQ_API ldnq_status ldnq_network_set_grad_enabled(ldnq_network *net,
                                                   int enabled);
LDNQ_API ldnq_status ldnq_network_get_grad_enabled(const ldnq_network *net,
                                                   int *enabled);

/* Forward pass. `input` is [N, in_channels, H, W] (H, W large enough for
 * the architecture); `output` is a caller tensor with N*num_classes
 * elements, reshaped to [N, num_classes] and overwritten with the logits.
 * Keeps what backward needs until the next forward (unless gradients are
 * disabled). In training mode every BN channel needs more than one value
 * (N * H * W of its input > 1), else LDNQ_ERR_SHAPE. */
LDNQ_API ldnq_status ldnq_network_forward(ldnq_network *net,
                                          const ldnq_tensor *input,
                                          ldnq_tensor *output);

/* Backward pass for the last forward: `grad_output` is dLoss/dlogits
 * [N, num_classes]. Parameter gradients are ACCUMULATED (as PyTorch) for
 * trainable parameters. `grad_input` may be NULL, else it receives
 * dLoss/dinput (numel must equal the input's). */
LDNQ_API ldnq_status ldnq_network_backward(ldnq_network *net,
                                           const ldnq_tensor *grad_output,
                                           ldnq_tensor *grad_input);
/* Sets all parameter gradients to zero. */
LDNQ_API ldnq_status ldnq_network_zero_grad(ldnq_network *net);
/* Copy of a parameter's gradient (zeros if none accumulated). The caller
 * owns *out. */
LDNQ_API ldnq_status ldnq_network_get_grad(const ldnq_network *net,
                                           const char *name,
                                           ldnq_tensor **out);

/* ---- Weight layers (convolutions and the linear layer) ---- */
typedef enum ldnq_layer_type {
  LDNQ_LAYER_CONV2D = 1,
  LDNQ_LAYER_LINEAR = 2
} ldnq_layer_type;

/* Attributes of a weight layer, all integers (ldnq_network_layer_int). */
typedef enum ldnq_layer_attr {
  LDNQ_LA_TYPE = 0,         /* ldnq_layer_type */
  LDNQ_LA_IN = 1,           /* input channels / in_features */
  LDNQ_LA_OUT = 2,          /* output channels / out_features */
  LDNQ_LA_KH = 3,           /* kernel height (1 for linear) */
  LDNQ_LA_KW = 4,           /* kernel width (1 for linear) */
  LDNQ_LA_STRIDE = 5,       /* (1 for linear) */
  LDNQ_LA_PADDING = 6,      /* zero padding on each side (0 for linear) */
  LDNQ_LA_HAS_BIAS = 7,     /* 0 or 1 */
  /* 0.2 names, same values: they shared the LDNQ_LAYER_ prefix with
   * ldnq_layer_type's values. Prefer LDNQ_LA_*. */
  LDNQ_LAYER_TYPE = LDNQ_LA_TYPE,
  LDNQ_LAYER_IN = LDNQ_LA_IN,
  LDNQ_LAYER_OUT = LDNQ_LA_OUT,
  LDNQ_LAYER_KH = LDNQ_LA_KH,
  LDNQ_LAYER_KW = LDNQ_LA_KW,
  LDNQ_LAYER_STRIDE = LDNQ_LA_STRIDE,
  LDNQ_LAYER_PADDING = LDNQ_LA_PADDING,
  LDNQ_LAYER_HAS_BIAS = LDNQ_LA_HAS_BIAS
} ldnq_layer_attr;

/* Weight layers in state-dict order of their weights. */
LDNQ_API ldnq_status ldnq_network_layer_count_v2(const ldnq_network *net,
                                                 int64_t *count);
/* 0.2 form, as int. */
LDNQ_DEPRECATED("use ldnq_network_layer_count_v2 (counts are int64_t)")
LDNQ_API ldnq_status ldnq_network_layer_count(const ldnq_network *net,
                                              int *count);
/* Layer name without ".weight" ("layer1.0.conv1", "fc"); owned by net. */
LDNQ_API ldnq_status ldnq_network_layer_name(const ldnq_network *net,
                                             int index, const char **name);
/* An attribute of weight layer `index` (all are integers). Read-only. */
LDNQ_API ldnq_status ldnq_network_layer_int(const ldnq_network *net, int index,
                                            ldnq_layer_attr attr, int64_t *value);
/* 0.2 form, as int. Read-only. */
LDNQ_DEPRECATED("use ldnq_network_layer_int (int64_t, like every attribute getter)")
LDNQ_API ldnq_status ldnq_network_layer_attr(const ldnq_network *net,
                                             int index, ldnq_layer_attr attr,
                                             int *value);

/* Activation tap: during forward, called with the INPUT activation of
 * every weight layer, just before that layer runs, in execution order.
 * `input` is [N, C, H, W] for a convolution and [N, in_features] for the
 * linear layer; it is borrowed for the duration of the call only. Return
 * 0 to continue; nonzero makes forward fail with LDNQ_ERR_CANCELLED (in
 * training mode the BN layers that already ran have updated their running
 * statistics). fn NULL removes the tap. user_data is borrowed: it must stay
 * valid until the tap is replaced or removed or the network is freed. */
typedef int (*ldnq_tap_fn)(void *user_data, const char *layer,
                           const ldnq_tensor *input);
LDNQ_API ldnq_status ldnq_network_set_tap(ldnq_network *net, ldnq_tap_fn fn,
                                          void *user_data);

#ifdef __cplusplus
}
#endif
#endif
