/* Weight-layer enumeration (convolutions and fc, state-dict order). */
#include "core/option.h"
#include "nn/nn_impl.h"

static ldnq_status check(const ldnq_network *net, int index, const char *fn) {
  if (!net) return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "%s: network is NULL", fn);
  if (index < 0 || index >= net->nlayers)
    return ldnq__fail(NULL, LDNQ_ERR_RANGE,
                      "%s: layer index %d outside [0, %d)", fn, index, net->nlayers);
  return LDNQ_OK;
}

LDNQ_API ldnq_status ldnq_network_layer_count_v2(const ldnq_network *net, int64_t *count) {
  if (!net || !count) return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "%s: NULL argument", __func__);
  *count = net->nlayers;
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

#define ROW(id) LDNQ__ATTR(id, INT)
static const ldnq__attrdef attrs[] = {
    ROW(LDNQ_LA_TYPE), ROW(LDNQ_LA_IN),     ROW(LDNQ_LA_OUT),     ROW(LDNQ_LA_KH),
    ROW(LDNQ_LA_KW),   ROW(LDNQ_LA_STRIDE), ROW(LDNQ_LA_PADDING), ROW(LDNQ_LA_HAS_BIAS),
};
#undef ROW

/* Value of attribute `attr` (known) of layer l. */
static int64_t attr_value(const nn_layer *l, ldnq_layer_attr attr) {
  switch (attr) {
    case LDNQ_LA_TYPE: return l->type;
    case LDNQ_LA_IN: return l->in;
    case LDNQ_LA_OUT: return l->out;
    case LDNQ_LA_KH: return l->kh;
    case LDNQ_LA_KW: return l->kw;
    case LDNQ_LA_STRIDE: return l->stride;
    case LDNQ_LA_PADDING: return l->pad;
    case LDNQ_LA_HAS_BIAS: return l->b >= 0;
  }
  return 0;
}

LDNQ_API ldnq_status ldnq_network_layer_int(const ldnq_network *net, int index,
                                            ldnq_layer_attr attr, int64_t *value) {
  ldnq_status st = check(net, index, __func__);
  if (st) return st;
  if (!value) return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "%s: value is NULL", __func__);
  st = ldnq__attr_check(LDNQ__ATTRS(attrs), "layer", (int)attr,
                        LDNQ__OPT_INT, __func__, "none: every layer attribute is an integer");
  if (st == LDNQ_OK) *value = attr_value(&net->layers[index], attr);
  return st;
}

LDNQ_API ldnq_status ldnq_network_layer_attr(const ldnq_network *net, int index,
                                             ldnq_layer_attr attr, int *value) {
  int64_t v = 0;
  if (!value)
    return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "ldnq_network_layer_attr: value is NULL");
  ldnq_status st = ldnq_network_layer_int(net, index, attr, &v);
  if (st == LDNQ_OK) *value = (int)v;
  return st;
}

int ldnq__network_layer_weight(const ldnq_network *net, int layer) {
  return (net && layer >= 0 && layer < net->nlayers) ? net->layers[layer].w : -1;
}

int ldnq__network_layer_bias(const ldnq_network *net, int layer) {
  return (net && layer >= 0 && layer < net->nlayers) ? net->layers[layer].b : -1;
}
