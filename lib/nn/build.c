/* Architecture -> state-dict entries (PyTorch names and order), weight
 * layers and residual blocks. */
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "nn/nn_impl.h"

static int grow(void **p, int *cap, int need, size_t elem) {
  if (need <= *cap) return 0;
  int nc = *cap ? *cap * 2 : 64;
  while (nc < need) nc *= 2;
  void *q = ldnq__realloc(*p, (size_t)nc * elem);
  if (!q) return -1;
  memset((char *)q + (size_t)*cap * elem, 0, (size_t)(nc - *cap) * elem);
  *p = q;
  *cap = nc;
  return 0;
}

/* Appends an entry; returns its index or -1 (out of memory). */
static int add_entry(ldnq_network *net, const char *prefix, const char *suffix, int ndim,
                     const int64_t *shape, int is_buffer) {
  if (grow((void **)&net->ent, &net->ent_cap, net->nent + 1, sizeof *net->ent)) return -1;
  nn_entry *e = &net->ent[net->nent];
  char name[256];
  snprintf(name, sizeof name, "%s%s%s", prefix, *prefix ? "." : "", suffix);
  e->name = ldnq__strdup(name);
  if (!e->name) return -1;
  e->ndim = ndim;
  e->numel = 1;
  for (int i = 0; i < ndim; i++) {
    e->shape[i] = shape[i];
    e->numel *= shape[i];
  }
  e->is_buffer = is_buffer;
  e->trainable = !is_buffer;
  e->data = ldnq__calloc((size_t)e->numel, sizeof(float));
  if (!e->data) return -1;
  if (!is_buffer) {
    e->grad = ldnq__calloc((size_t)e->numel, sizeof(float));
    if (!e->grad) return -1;
  }
  return net->nent++;
}

static int add_layer(ldnq_network *net, const char *name, int type, int w, int b, int in,
                     int out, int k, int stride, int pad) {
  if (grow((void **)&net->layers, &net->layer_cap, net->nlayers + 1, sizeof *net->layers))
    return -1;
  nn_layer *l = &net->layers[net->nlayers];
  l->name = ldnq__strdup(name);
  if (!l->name) return -1;
  l->type = type;
  l->w = w;
  l->b = b;
  l->in = in;
  l->out = out;
  l->kh = l->kw = k;
  l->stride = stride;
  l->pad = pad;
  return net->nlayers++;
}

static int add_conv(ldnq_network *net, const char *name, int cin, int cout, int k, int stride,
                    int pad, nn_conv *c) {
  int64_t shape[4] = {cout, cin, k, k};
  c->w = add_entry(net, name, "weight", 4, shape, 0);
  if (c->w < 0) return -1;
  c->b = -1;
  c->cin = cin;
  c->cout = cout;
  c->k = k;
  c->stride = stride;
  c->pad = pad;
  c->layer = add_layer(net, name, LDNQ_LAYER_CONV2D, c->w, -1, cin, cout, k, stride, pad);
  return c->layer < 0 ? -1 : 0;
}

static int add_bn(ldnq_network *net, const char *name, int c, nn_bn *bn) {
  int64_t shape[1] = {c};
  static const char *const names[4] = {"weight", "bias", "running_mean", "running_var"};
  bn->c = c;
  for (int i = 0; i < 4; i++) {
    int idx = add_entry(net, name, names[i], 1, shape, i >= 2);
    if (idx < 0) return -1;
    if (i == 0) bn->w = idx;
  }
  if (add_entry(net, name, "num_batches_tracked", 0, NULL, 1) < 0) return -1;
  bn->mean = bn->invstd = NULL;
  return 0;
}

/* One residual block named "layerS.B". */
static int add_block(ldnq_network *net, nn_block *blk, const char *prefix, int cin, int planes,
                     int stride, int bottleneck) {
  char nm[128];
  int cout = bottleneck ? planes * 4 : planes;
  if (bottleneck) {
    blk->nconv = 3;
    const int ci[3] = {cin, planes, planes}, co[3] = {planes, planes, cout};
    const int k[3] = {1, 3, 1}, s[3] = {1, stride, 1}, p[3] = {0, 1, 0};
    for (int i = 0; i < 3; i++) {
      snprintf(nm, sizeof nm, "%s.conv%d", prefix, i + 1);
      if (add_conv(net, nm, ci[i], co[i], k[i], s[i], p[i], &blk->conv[i])) return -1;
      snprintf(nm, sizeof nm, "%s.bn%d", prefix, i + 1);
      if (add_bn(net, nm, co[i], &blk->bn[i])) return -1;
    }
  } else {
    blk->nconv = 2;
    for (int i = 0; i < 2; i++) {
      snprintf(nm, sizeof nm, "%s.conv%d", prefix, i + 1);
      if (add_conv(net, nm, i ? planes : cin, planes, 3, i ? 1 : stride, 1, &blk->conv[i]))
        return -1;
      snprintf(nm, sizeof nm, "%s.bn%d", prefix, i + 1);
      if (add_bn(net, nm, planes, &blk->bn[i])) return -1;
    }
  }
  blk->has_ds = stride != 1 || cin != cout;
  if (blk->has_ds) {
    snprintf(nm, sizeof nm, "%s.downsample.0", prefix);
    if (add_conv(net, nm, cin, cout, 1, stride, 0, &blk->ds)) return -1;
    snprintf(nm, sizeof nm, "%s.downsample.1", prefix);
    if (add_bn(net, nm, cout, &blk->dsbn)) return -1;
  }
  return 0;
}

ldnq_status ldnq__nn_build(ldnq_network *net) {
  int nstage, depth[4], width[4], bottleneck = 0;
  switch (net->arch) {
    case LDNQ_ARCH_RESNET20: case LDNQ_ARCH_RESNET32: case LDNQ_ARCH_RESNET56: {
      int n = net->arch == LDNQ_ARCH_RESNET20 ? 3 : net->arch == LDNQ_ARCH_RESNET32 ? 5 : 9;
      nstage = 3;
      for (int s = 0; s < 3; s++) {
        depth[s] = n;
        width[s] = 16 << s;
      }
      net->imagenet = 0;
      break;
    }
    case LDNQ_ARCH_RESNET18: case LDNQ_ARCH_RESNET34: case LDNQ_ARCH_RESNET50: {
      static const int d18[4] = {2, 2, 2, 2}, d34[4] = {3, 4, 6, 3};
      nstage = 4;
      for (int s = 0; s < 4; s++) {
        depth[s] = net->arch == LDNQ_ARCH_RESNET18 ? d18[s] : d34[s];
        width[s] = 64 << s;
      }
      bottleneck = net->arch == LDNQ_ARCH_RESNET50;
      net->imagenet = 1;
      break;
    }
    default:
      return ldnq__fail(&net->err, LDNQ_ERR_INVALID_ARG, "unknown architecture %d",
                        (int)net->arch);
  }
  int total = 0;
  for (int s = 0; s < nstage; s++) total += depth[s];
  net->blocks = ldnq__calloc((size_t)total, sizeof *net->blocks);
  if (!net->blocks) goto nomem;
  int c = net->imagenet ? 64 : 16;
  if (net->imagenet ? add_conv(net, "conv1", net->in_channels, 64, 7, 2, 3, &net->stem)
                    : add_conv(net, "conv1", net->in_channels, 16, 3, 1, 1, &net->stem))
    goto nomem;
  if (add_bn(net, "bn1", c, &net->stem_bn)) goto nomem;
  for (int s = 0; s < nstage; s++) {
    for (int b = 0; b < depth[s]; b++) {
      char prefix[64];
      snprintf(prefix, sizeof prefix, "layer%d.%d", s + 1, b);
      nn_block *blk = &net->blocks[net->nblocks++];
      int stride = (b == 0 && s > 0) ? 2 : 1;
      if (add_block(net, blk, prefix, c, width[s], stride, bottleneck)) goto nomem;
      c = bottleneck ? width[s] * 4 : width[s];
    }
  }
  net->fc_in = c;
  int64_t ws[2] = {net->num_classes, c}, bs[1] = {net->num_classes};
  net->fc_w = add_entry(net, "fc", "weight", 2, ws, 0);
  if (net->fc_w < 0) goto nomem;
  net->fc_b = add_entry(net, "fc", "bias", 1, bs, 0);
  if (net->fc_b < 0) goto nomem;
  net->fc_layer =
      add_layer(net, "fc", LDNQ_LAYER_LINEAR, net->fc_w, net->fc_b, c, net->num_classes, 1, 1, 0);
  if (net->fc_layer < 0) goto nomem;
  return LDNQ_OK;
nomem:
  return ldnq__fail(&net->err, LDNQ_ERR_NOMEM, "out of memory building %s",
                    ldnq_arch_name(net->arch));
}

void ldnq__nn_destroy(ldnq_network *net) {
  for (int i = 0; i < net->ent_cap; i++) {
    ldnq__free(net->ent ? net->ent[i].name : NULL);
    ldnq__free(net->ent ? net->ent[i].data : NULL);
    ldnq__free(net->ent ? net->ent[i].grad : NULL);
  }
  ldnq__free(net->ent);
  for (int i = 0; i < net->layer_cap && net->layers; i++) ldnq__free(net->layers[i].name);
  ldnq__free(net->layers);
  ldnq__free(net->blocks);
  ldnq__free(net->arena);
  ldnq__free(net->ws);
  ldnq__free(net->argmax);
  ldnq__nn_dist_release(net);
}
