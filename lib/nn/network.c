/* Network handle: creation, copies, mode, tap, and the checked entry points
 * of forward/backward. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/comm.h"
#include "core/tensor.h"
#include "nn/nn_impl.h"

#define NULL_NET(fn) ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, fn ": network is NULL")

static const char *const arch_names[] = {NULL, "resnet20", "resnet32", "resnet56",
                                         "resnet18", "resnet34", "resnet50"};

LDNQ_API const char *ldnq_arch_name(ldnq_arch arch) {
  return (arch >= LDNQ_ARCH_RESNET20 && arch <= LDNQ_ARCH_RESNET50) ? arch_names[arch] : NULL;
}

LDNQ_API ldnq_status ldnq_arch_from_name(const char *name, ldnq_arch *out) {
  if (!name || !out)
    return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "ldnq_arch_from_name: NULL argument");
  for (int a = LDNQ_ARCH_RESNET20; a <= LDNQ_ARCH_RESNET50; a++)
    if (!strcmp(name, arch_names[a])) {
      *out = (ldnq_arch)a;
      return LDNQ_OK;
    }
  return ldnq__fail(NULL, LDNQ_ERR_NOT_FOUND,
                    "unknown architecture '%.200s' (resnet20, resnet32, resnet56, resnet18, "
                    "resnet34, resnet50)",
                    name);
}

/* Validated, built network with zeroed parameters (create and clone). */
static ldnq_status network_new(ldnq_arch arch, int in_channels, int num_classes,
                               ldnq_network **out) {
  if (!out) return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "ldnq_network_create: out is NULL");
  *out = NULL;
  if (!ldnq_arch_name(arch))
    return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "ldnq_network_create: unknown arch %d",
                      (int)arch);
  if (in_channels < 1 || in_channels > 64)
    return ldnq__fail(NULL, LDNQ_ERR_RANGE, "in_channels %d outside [1, 64]", in_channels);
  if (num_classes < 1 || num_classes > 100000)
    return ldnq__fail(NULL, LDNQ_ERR_RANGE, "num_classes %d outside [1, 100000]", num_classes);
  ldnq_network *net = ldnq__calloc(1, sizeof *net);
  if (!net) return ldnq__fail(NULL, LDNQ_ERR_NOMEM, "out of memory for a network");
  net->arch = arch;
  net->in_channels = in_channels;
  net->num_classes = num_classes;
  ldnq_status st = ldnq__nn_build(net);
  if (st) {
    ldnq__nn_destroy(net);
    ldnq__free(net);
    return st;
  }
  net->grad_enabled = 1;
  *out = net;
  return LDNQ_OK;
}

LDNQ_API ldnq_status ldnq_network_create(ldnq_arch arch, int in_channels, int num_classes,
                                         ldnq_network **out) {
  ldnq_status st = network_new(arch, in_channels, num_classes, out);
  if (st == LDNQ_OK) ldnq__nn_init_params(*out, 0);
  return st;
}

LDNQ_API void ldnq_network_free(ldnq_network *net) {
  if (!net) return;
  ldnq__nn_destroy(net);
  ldnq__free(net);
}

LDNQ_API const char *ldnq_network_errmsg(const ldnq_network *net) {
  return net ? net->err.msg : "";
}

LDNQ_API ldnq_status ldnq_network_errcode(const ldnq_network *net) {
  return net ? net->err.code : LDNQ_ERR_INVALID_ARG;
}

LDNQ_API ldnq_status ldnq_network_clone(const ldnq_network *net, ldnq_network **out) {
  if (out) *out = NULL;
  if (!net) return NULL_NET("ldnq_network_clone");
  if (!out) return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "ldnq_network_clone: out is NULL");
  ldnq_network *c = NULL;
  ldnq_status st = network_new(net->arch, net->in_channels, net->num_classes, &c);
  if (st) return st;
  for (int i = 0; i < net->nent; i++) {
    memcpy(c->ent[i].data, net->ent[i].data, (size_t)net->ent[i].numel * sizeof(float));
    c->ent[i].trainable = net->ent[i].trainable;
  }
  c->training = net->training;
  *out = c;
  return LDNQ_OK;
}

LDNQ_API ldnq_status ldnq_network_describe(const ldnq_network *net, ldnq_arch *arch,
                                           int *in_channels, int *num_classes) {
  if (!net) return NULL_NET("ldnq_network_describe");
  if (arch) *arch = net->arch;
  if (in_channels) *in_channels = net->in_channels;
  if (num_classes) *num_classes = net->num_classes;
  return LDNQ_OK;
}

LDNQ_API ldnq_status ldnq_network_reset_parameters(ldnq_network *net, uint64_t seed) {
  if (!net) return NULL_NET("ldnq_network_reset_parameters");
  ldnq__errbuf_clear(&net->err);
  ldnq__nn_init_params(net, seed);
  net->fwd_valid = 0;
  return LDNQ_OK;
}

LDNQ_API ldnq_status ldnq_network_set_training(ldnq_network *net, int training) {
  if (!net) return NULL_NET("ldnq_network_set_training");
  ldnq__errbuf_clear(&net->err);
  net->training = training != 0;
  return LDNQ_OK;
}

LDNQ_API ldnq_status ldnq_network_get_training(const ldnq_network *net, int *training) {
  if (!net) return NULL_NET("ldnq_network_get_training");
  if (!training)
    return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "ldnq_network_get_training: out is NULL");
  *training = net->training;
  return LDNQ_OK;
}

LDNQ_API ldnq_status ldnq_network_set_grad_enabled(ldnq_network *net, int enabled) {
  if (!net) return NULL_NET("ldnq_network_set_grad_enabled");
  ldnq__errbuf_clear(&net->err);
  net->grad_enabled = enabled != 0;
  return LDNQ_OK;
}

LDNQ_API ldnq_status ldnq_network_get_grad_enabled(const ldnq_network *net, int *enabled) {
  if (!net) return NULL_NET("ldnq_network_get_grad_enabled");
  if (!enabled)
    return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "ldnq_network_get_grad_enabled: out is NULL");
  *enabled = net->grad_enabled;
  return LDNQ_OK;
}

LDNQ_API ldnq_status ldnq_network_set_tap(ldnq_network *net, ldnq_tap_fn fn, void *user_data) {
  if (!net) return NULL_NET("ldnq_network_set_tap");
  ldnq__errbuf_clear(&net->err);
  net->tap = fn;
  net->tap_ud = fn ? user_data : NULL;
  return LDNQ_OK;
}

LDNQ_API ldnq_status ldnq_network_forward(ldnq_network *net, const ldnq_tensor *input,
                                          ldnq_tensor *output) {
  if (!net) return NULL_NET("ldnq_network_forward");
  ldnq__errbuf_clear(&net->err);
  if (!input || !output)
    return ldnq__fail(&net->err, LDNQ_ERR_INVALID_ARG, "ldnq_network_forward: %s is NULL",
                      input ? "output" : "input");
  if (input->ndim != 4 || input->shape[1] != net->in_channels) {
    char got[160];
    size_t k = (size_t)snprintf(got, sizeof got, "[");
    for (int d = 0; d < input->ndim && k < sizeof got; d++)
      k += (size_t)snprintf(got + k, sizeof got - k, "%s%lld", d ? ", " : "", (long long)input->shape[d]);
    if (k < sizeof got) snprintf(got + k, sizeof got - k, "]");
    return ldnq__fail(&net->err, LDNQ_ERR_SHAPE, "input must be [N, %d, H, W], got %s",
                      net->in_channels, got);
  }
  for (int i = 0; i < 4; i++)
    if (input->shape[i] < 1 || input->shape[i] > INT_MAX / 64)
      return ldnq__fail(&net->err, input->shape[i] < 1 ? LDNQ_ERR_SHAPE : LDNQ_ERR_LIMIT,
                        "input dimension %d is %lld", i, (long long)input->shape[i]);
  /* Kernels index activations with int: keep every activation (at most
   * 64x the input's N*H*W elements in these architectures) below 2^31. */
  if (input->shape[0] * input->shape[2] * input->shape[3] > INT_MAX / 64)
    return ldnq__fail(&net->err, LDNQ_ERR_LIMIT,
                      "input [%lld, %lld, %lld, %lld] too large: N*H*W must be at most %d",
                      (long long)input->shape[0], (long long)input->shape[1],
                      (long long)input->shape[2], (long long)input->shape[3], INT_MAX / 64);
  int n = (int)input->shape[0], h = (int)input->shape[2], w = (int)input->shape[3];
  if (output->numel != (int64_t)n * net->num_classes)
    return ldnq__fail(&net->err, LDNQ_ERR_SHAPE,
                      "output has %lld elements, expected N*num_classes = %lld",
                      (long long)output->numel, (long long)n * net->num_classes);
  ldnq_status st = ldnq__nn_plan(net, n, h, w);
  if (st) return st;
  if (net->training && (int64_t)n * net->last_hw < 2)
    return ldnq__fail(&net->err, LDNQ_ERR_SHAPE,
                      "training mode needs more than one value per BN channel: use N > 1 "
                      "or a larger input");
  st = ldnq__nn_forward(net, input->data, output->data);
  if (st) return st;
  output->ndim = 2;
  output->shape[0] = n;
  output->shape[1] = net->num_classes;
  return LDNQ_OK;
}

LDNQ_API ldnq_status ldnq_network_backward(ldnq_network *net, const ldnq_tensor *grad_output,
                                           ldnq_tensor *grad_input) {
  if (!net) return NULL_NET("ldnq_network_backward");
  ldnq__errbuf_clear(&net->err);
  if (!grad_output)
    return ldnq__fail(&net->err, LDNQ_ERR_INVALID_ARG, "ldnq_network_backward: grad_output is NULL");
  if (!net->fwd_valid)
    return ldnq__fail(&net->err, LDNQ_ERR_STATE,
                      "backward needs a completed forward with gradients enabled "
                      "(ldnq_network_set_grad_enabled)");
  int64_t nout = (int64_t)net->rn * net->num_classes;
  if (grad_output->numel != nout)
    return ldnq__fail(&net->err, LDNQ_ERR_SHAPE, "grad_output has %lld elements, expected %lld",
                      (long long)grad_output->numel, (long long)nout);
  int64_t nin = (int64_t)net->rn * net->in_channels * net->rh * net->rw;
  if (grad_input && grad_input->numel != nin)
    return ldnq__fail(&net->err, LDNQ_ERR_SHAPE, "grad_input has %lld elements, expected %lld",
                      (long long)grad_input->numel, (long long)nin);
  for (int64_t i = 0; i < nout; i++)
    if (!isfinite(grad_output->data[i]))
      return ldnq__fail(&net->err, LDNQ_ERR_NUMERIC, "grad_output[%lld] is not finite",
                        (long long)i);
  return ldnq__nn_backward(net, grad_output->data, grad_input ? grad_input->data : NULL);
}

LDNQ_API ldnq_status ldnq_network_zero_grad(ldnq_network *net) {
  if (!net) return NULL_NET("ldnq_network_zero_grad");
  ldnq__errbuf_clear(&net->err);
  for (int i = 0; i < net->nent; i++)
    if (net->ent[i].grad) memset(net->ent[i].grad, 0, (size_t)net->ent[i].numel * sizeof(float));
  return LDNQ_OK;
}

void ldnq__network_set_comm(ldnq_network *net, const ldnq_comm *comm) {
  if (net) net->comm = comm;
}

struct ldnq__errbuf *ldnq__network_errbuf(ldnq_network *net) { return net ? &net->err : NULL; }
