/* Weight-layer enumeration (convolutions and fc, state-dict order). */
#include "nn/nn_impl.h"

static ldnq_status check(const ldnq_network *net, int index, const char *fn) {
  if (!net) return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "%s: network is NULL", fn);
  if (index < 0 || index >= net->nlayers)
    return ldnq__fail(NULL, LDNQ_ERR_RANGE,
                      "%s: layer index %d outside [0, %d)", fn, index, net->nlayers);
  return LDNQ_OK;
}

LDNQ_API ldnq_status ldnq_network_layer_count(const ldnq_network *net, int *count) {
  if (!net || !count)
    return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "ldnq_network_layer_count: NULL argument");
  *count = net->nlayers;
  return LDNQ_OK;
}

LDNQ_API ldnq_status ldnq_network_layer_name(const ldnq_network *net, int index,
                                             const char **name) {
  ldnq_status st = check(net, index, "ldnq_network_layer_name");
  if (st) return st;
  if (!name)
    return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG,
                      "ldnq_network_layer_name: name is NULL");
  *name = net->layers[index].name;
  return LDNQ_OK;
}

LDNQ_API ldnq_status ldnq_network_layer_attr(const ldnq_network *net, int index,
                                             ldnq_layer_attr attr, int *value) {
  ldnq_status st = check(net, index, "ldnq_network_layer_attr");
  if (st) return st;
  ldnq__errbuf *eb = NULL; /* const handle: the thread's message only */
  if (!value) return ldnq__fail(eb, LDNQ_ERR_INVALID_ARG, "ldnq_network_layer_attr: value is NULL");
  const nn_layer *l = &net->layers[index];
  switch (attr) {
    case LDNQ_LAYER_TYPE: *value = l->type; break;
    case LDNQ_LAYER_IN: *value = l->in; break;
    case LDNQ_LAYER_OUT: *value = l->out; break;
    case LDNQ_LAYER_KH: *value = l->kh; break;
    case LDNQ_LAYER_KW: *value = l->kw; break;
    case LDNQ_LAYER_STRIDE: *value = l->stride; break;
    case LDNQ_LAYER_PADDING: *value = l->pad; break;
    case LDNQ_LAYER_HAS_BIAS: *value = l->b >= 0; break;
    default:
      return ldnq__fail(eb, LDNQ_ERR_INVALID_ARG, "ldnq_network_layer_attr: unknown attribute %d",
                        (int)attr);
  }
  return LDNQ_OK;
}

int ldnq__network_layer_weight(const ldnq_network *net, int layer) {
  return (net && layer >= 0 && layer < net->nlayers) ? net->layers[layer].w : -1;
}

int ldnq__network_layer_bias(const ldnq_network *net, int layer) {
  return (net && layer >= 0 && layer < net->nlayers) ? net->layers[layer].b : -1;
}
