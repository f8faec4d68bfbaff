/* Image folders root/<class>/...: torchvision ImageFolder's class order and
 * file order; JPEG/PNG recognised by content. */
#define _DEFAULT_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "core/alloc.h"
#include "data/dataset.h"

#define MAX_IMAGE_FILE ((size_t)1 << 30)
#define MAX_DEPTH 16

typedef struct strvec {
  char **v;
  size_t n, cap;
} strvec;

static int strvec_push(strvec *s, char *p) {
  if (!p) return -1;
  if (s->n == s->cap) {
    size_t nc = s->cap ? s->cap * 2 : 64;
    char **nv = ldnq__realloc(s->v, nc * sizeof(char *));
    if (!nv) {
      ldnq__free(p);
      return -1;
    }
    s->v = nv;
    s->cap = nc;
  }
  s->v[s->n++] = p;
  return 0;
}

static void strvec_free(strvec *s) {
  for (size_t i = 0; i < s->n; i++) ldnq__free(s->v[i]);
  ldnq__free(s->v);
  memset(s, 0, sizeof *s);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static char *join(const char *a, const char *b) {
  size_t na = strlen(a), nb = strlen(b);
  char *p = ldnq__malloc(na + nb + 2);
  if (p) {
    memcpy(p, a, na);
    p[na] = '/';
    memcpy(p + na + 1, b, nb + 1);
  }
  return p;
}

static int has_image_ext(const char *name) {
  const char *dot = strrchr(name, '.');
  return dot && (!strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg") || !strcasecmp(dot, ".png"));
}

/* Sorted entries of `dir`: sub-folders into *dirs, image files into *files. */
static ldnq_status list_dir(const char *dir, strvec *dirs, strvec *files) {
  DIR *d = opendir(dir);
  if (!d)
    return ldnq__fail(NULL, errno == ENOENT ? LDNQ_ERR_NOT_FOUND : LDNQ_ERR_IO, "cannot open folder '%s': %s",
                      dir, strerror(errno));
  ldnq_status st = LDNQ_OK;
  struct dirent *e;
  while (st == LDNQ_OK && (e = readdir(d))) {
    if (e->d_name[0] == '.' && (!e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2]))) continue;
    char *p = join(dir, e->d_name);
    struct stat sb;
    if (!p) st = ldnq__fail(NULL, LDNQ_ERR_NOMEM, "out of memory listing '%s'", dir);
    else if (stat(p, &sb) != 0) ldnq__free(p); /* dangling link: skip */
    else if (S_ISDIR(sb.st_mode) && dirs) {
      if (strvec_push(dirs, p)) st = ldnq__fail(NULL, LDNQ_ERR_NOMEM, "out of memory listing '%s'", dir);
    } else if (S_ISREG(sb.st_mode) && files && has_image_ext(e->d_name)) {
      if (strvec_push(files, p)) st = ldnq__fail(NULL, LDNQ_ERR_NOMEM, "out of memory listing '%s'", dir);
    } else
      ldnq__free(p);
  }
  closedir(d);
  if (dirs && dirs->n > 1) qsort(dirs->v, dirs->n, sizeof(char *), cmp_str);
  if (files && files->n > 1) qsort(files->v, files->n, sizeof(char *), cmp_str);
  return st;
}

/* Files of a class folder: this folder's files, then each sub-folder's in
 * name order (os.walk visits sorted roots). */
static ldnq_status walk(const char *dir, int depth, strvec *files) {
  if (depth > MAX_DEPTH) return ldnq__fail(NULL, LDNQ_ERR_LIMIT, "folders nested deeper than %d at '%s'", MAX_DEPTH, dir);
  strvec dirs = {0};
  ldnq_status st = list_dir(dir, &dirs, files);
  for (size_t i = 0; st == LDNQ_OK && i < dirs.n; i++) st = walk(dirs.v[i], depth + 1, files);
  strvec_free(&dirs);
  return st;
}

typedef struct folder_impl {
  strvec files;
} folder_impl;

static ldnq_status folder_load(const ldnq_dataset *ds, int64_t index, int hint, ldnq__img *im,
                               int32_t *label) {
  const folder_impl *f = ds->impl;
  *label = ds->labels[index];
  if (!im) return LDNQ_OK;
  const char *path = f->files.v[index];
  uint8_t *buf = NULL;
  size_t n = 0;
  ldnq_status st = ldnq__read_file(path, 0, MAX_IMAGE_FILE, &buf, &n);
  if (st != LDNQ_OK) return st;
  if (n >= 3 && buf[0] == 0xFF && buf[1] == 0xD8 && buf[2] == 0xFF)
    st = ldnq__decode_jpeg(buf, n, hint, im);
  else if (n >= 8 && !memcmp(buf, "\x89PNG\r\n\x1a\n", 8))
    st = ldnq__decode_png(buf, n, im);
  else
    st = ldnq__fail(NULL, LDNQ_ERR_FORMAT, "'%s' is neither a JPEG nor a PNG file", path);
  ldnq__free(buf);
  if (st != LDNQ_OK) {
    /* Name the file: decoders do not know it. */
    char msg[LDNQ__ERRMSG_SIZE];
    snprintf(msg, sizeof msg, "%s", ldnq__tls_message());
    if (!strstr(msg, path)) ldnq__fail(NULL, st, "'%s': %s", path, msg);
  }
  return st;
}

static void folder_destroy(ldnq_dataset *ds) {
  folder_impl *f = ds->impl;
  if (!f) return;
  strvec_free(&f->files);
  ldnq__free(f);
}

static const ldnq__dataset_vt folder_vt = {folder_load, folder_destroy};

LDNQ_API ldnq_status ldnq_dataset_open_imagefolder(const char *root, ldnq_dataset **out) {
  if (!root || !out) return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "ldnq_dataset_open_imagefolder: NULL argument");
  *out = NULL;
  strvec classes = {0};
  folder_impl *f = ldnq__calloc(1, sizeof *f);
  ldnq_dataset *ds = NULL;
  int32_t *labels = NULL;
  size_t lcap = 0;
  ldnq_status st = f ? list_dir(root, &classes, NULL) : ldnq__fail(NULL, LDNQ_ERR_NOMEM, "out of memory");
  if (st == LDNQ_OK && classes.n == 0) st = ldnq__fail(NULL, LDNQ_ERR_NOT_FOUND, "'%s' has no class folders", root);
  if (st == LDNQ_OK && classes.n > 100000) st = ldnq__fail(NULL, LDNQ_ERR_LIMIT, "'%s' has more than 100000 classes", root);
  for (size_t c = 0; st == LDNQ_OK && c < classes.n; c++) {
    size_t before = f->files.n;
    st = walk(classes.v[c], 0, &f->files);
    if (st == LDNQ_OK && f->files.n == before)
      st = ldnq__fail(NULL, LDNQ_ERR_NOT_FOUND, "class folder '%s' holds no .jpg/.jpeg/.png file", classes.v[c]);
    if (st == LDNQ_OK && f->files.n > lcap) {
      size_t nc = f->files.cap;
      int32_t *nl = ldnq__realloc(labels, nc * sizeof(int32_t));
      if (!nl) st = ldnq__fail(NULL, LDNQ_ERR_NOMEM, "out of memory listing '%s'", root);
      else {
        labels = nl;
        lcap = nc;
      }
    }
    for (size_t i = before; st == LDNQ_OK && i < f->files.n; i++) labels[i] = (int32_t)c;
  }
  if (st == LDNQ_OK) st = ldnq__dataset_new(&folder_vt, &ds);
  if (st != LDNQ_OK) {
    strvec_free(&classes);
    if (f) strvec_free(&f->files);
    ldnq__free(f);
    ldnq__free(labels);
    return st;
  }
  /* Class names are the folder names, without the root prefix. */
  size_t skip = strlen(root) + 1;
  for (size_t c = 0; c < classes.n; c++) memmove(classes.v[c], classes.v[c] + skip, strlen(classes.v[c] + skip) + 1);
  ds->impl = f;
  ds->labels = labels;
  ds->class_names = classes.v;
  ds->num_classes = (int)classes.n;
  ds->count = (int64_t)f->files.n;
  ds->c = 3;
  ds->preset = LDNQ_PRESET_IMAGENET;
  *out = ds;
  return LDNQ_OK;
}
