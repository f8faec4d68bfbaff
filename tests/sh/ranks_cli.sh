#!/usr/bin/env bash
# ldnq train / quantize / eval --ranks N: N data-parallel ranks as threads of
# one process (tools/mpi/ldnq_ranks.c), without MPI. The same loss curve as an
# independent program running ldnq_trainer_run on 2 threads through its own
# fake communicator (rank 0 adds rank 1's buffer to its own, then broadcasts);
# reproducible bitwise; evaluation counts equal to one process's; a failing
# rank ends the run with one message and no partial output. mpi_cli.sh
# compares --ranks with mpirun -np N.
. "${BASH_SOURCE%/*}/lib.sh" ranks_cli
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-Haswell} LDNQ_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
need cc timeout
make_weights "$tmp/w.pth"
idx train 256 1
idx t10k 50 2
data="mnist:$tmp/data"

cat >"$tmp/fake.c" <<'C'
/* ldnq train --no-eval --epochs 1 --batch 32 --lr 0.01 --threads 0 (its
 * defaults otherwise) on 2 ranks that are threads with a fake comm. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <ldnq/ldnq.h>
static pthread_barrier_t bar;
static void *bufs[2];
#define SUM(NAME, T)                                                   \
  static int NAME(void *ud, T *b, int64_t n) {                         \
    int r = *(int *)ud;                                                \
    bufs[r] = b;                                                       \
    pthread_barrier_wait(&bar);                                        \
    if (r == 0)                                                        \
      for (int64_t i = 0; i < n; i++) b[i] += ((T *)bufs[1])[i];       \
    pthread_barrier_wait(&bar);                                        \
    if (r == 1) memcpy(b, bufs[0], (size_t)n * sizeof *b);             \
    pthread_barrier_wait(&bar);                                        \
    return 0;                                                          \
  }
SUM(sum_f, float)
SUM(sum_d, double)
static int bcast(void *ud, void *b, int64_t bytes, int root) {
  int r = *(int *)ud;
  bufs[r] = b;
  pthread_barrier_wait(&bar);
  if (r != root) memcpy(b, bufs[root], (size_t)bytes);
  pthread_barrier_wait(&bar);
  return 0;
}
static const char *spec, *out;
static FILE *log_f;
static int on_batch(void *ud, int64_t e, int64_t b, int64_t n, double loss) {
  (void)n;
  if (*(int *)ud == 0) fprintf(log_f, "%lld %lld %.9g\n", (long long)e + 1, (long long)b + 1, loss);
  return 0;
}
static void *rank_main(void *p) {
  int *r = p, ch = 0, k = 0;
  ldnq_comm *c = NULL;
  ldnq_trainer *t = NULL;
  ldnq_dataset *ds = NULL;
  ldnq_network *net = NULL;
  ldnq_status st = ldnq_comm_create(*r, 2, sum_f, sum_d, bcast, r, &c);
  if (!st) st = ldnq_trainer_create(&t);
  if (!st) st = ldnq_trainer_set_int(t, LDNQ_T_EPOCHS, 1);
  if (!st) st = ldnq_trainer_set_int(t, LDNQ_T_BATCH, 32);
  if (!st) st = ldnq_trainer_set_int(t, LDNQ_T_SEED, 0);
  if (!st) st = ldnq_trainer_set_int(t, LDNQ_T_THREADS, 0);
  if (!st) st = ldnq_trainer_set_int(t, LDNQ_T_NESTEROV, 1);
  if (!st) st = ldnq_trainer_set_int(t, LDNQ_T_SCHEDULE, LDNQ_SCHEDULE_ONECYCLE);
  if (!st) st = ldnq_trainer_set_double(t, LDNQ_T_LR, 0.01);
  if (!st) st = ldnq_trainer_set_double(t, LDNQ_T_MOMENTUM, 0.9);
  if (!st) st = ldnq_trainer_set_double(t, LDNQ_T_WEIGHT_DECAY, 5e-4);
  if (!st) st = ldnq_trainer_set_comm(t, c);
  if (!st) st = ldnq_dataset_open_spec(spec, LDNQ_SPLIT_TRAIN, &ds);
  if (!st) st = ldnq_dataset_sample_shape(ds, &ch, NULL, NULL);
  if (!st) st = ldnq_dataset_num_classes(ds, &k);
  if (!st) st = ldnq_network_create(LDNQ_ARCH_RESNET20, ch, k, &net);
  if (!st) st = ldnq_network_reset_parameters(net, 0);
  if (!st) st = ldnq_trainer_set_progress(t, on_batch, r);
  if (!st) st = ldnq_trainer_run(t, net, ds, NULL, out, 0);
  if (st) fprintf(stderr, "rank %d: %s\n", *r, ldnq_last_error());
  ldnq_network_free(net);
  ldnq_dataset_free(ds);
  ldnq_trainer_free(t);
  ldnq_comm_free(c);
  *r = st ? -1 : *r;
  return NULL;
}
int main(int argc, char **argv) { /* SPEC OUT LOG */
  if (argc != 4 || !(log_f = fopen(argv[3], "w"))) return 2;
  spec = argv[1], out = argv[2];
  pthread_barrier_init(&bar, NULL, 2);
  int r[2] = {0, 1};
  pthread_t th[2];
  for (int i = 0; i < 2; i++) pthread_create(&th[i], NULL, rank_main, &r[i]);
  for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
  return fclose(log_f) != 0 || r[0] < 0 || r[1] < 0;
}
C
cc -std=c11 -pthread -I"$src/include" "$tmp/fake.c" -L"$bin" -lldnq -Wl,-rpath,"$bin" -o "$tmp/fake" ||
  bad "the fake-comm program does not build"

# 1. Training: --ranks 2 twice and the fake-comm program: the same bytes.
targs=(train --arch resnet20 --data "$data" --epochs 1 --batch 32 --lr 0.01 --threads 0 --no-eval)
for k in a b; do
  timeout 300 "$ldnq" "${targs[@]}" --ranks 2 --out "$tmp/r$k.pth" --loss-log "$tmp/r$k.loss" \
    >"$tmp/r$k.out" 2>"$tmp/r$k.err" || bad "train --ranks 2 ($k) failed: $(cat "$tmp/r$k.err")"
done
timeout 300 "$tmp/fake" "$data" "$tmp/f.pth" "$tmp/f.loss" || bad "the fake-comm training failed"
test "$(wc -l <"$tmp/ra.loss")" -eq 8 || bad "--loss-log has not 8 batches"
cmp "$tmp/ra.loss" "$tmp/rb.loss" || bad "two --ranks 2 runs differ"
cmp "$tmp/ra.pth" "$tmp/rb.pth" || bad "two --ranks 2 runs saved other weights"
cmp "$tmp/ra.loss" "$tmp/f.loss" || bad "--ranks 2 differs from the fake-comm run"
cmp "$tmp/ra.pth" "$tmp/f.pth" || bad "--ranks 2 saved other weights than the fake-comm run"
# printed once (rank 0)
test "$(grep -c "^epoch 1: loss" "$tmp/ra.err")" -eq 1 || bad "the epoch line is not printed once"
# One process (other summation order): batch 1 within 1e-5, not bitwise
# required; the 2-rank curve must still be a 2-rank one (a sum, not rank 0's).
"$ldnq" "${targs[@]}" --out "$tmp/one.pth" --loss-log "$tmp/one.loss" >/dev/null 2>&1 ||
  bad "one-process training failed"
b1=$(head -n 1 "$tmp/one.loss" | awk '{ print $3 }'); b2=$(head -n 1 "$tmp/ra.loss" | awk '{ print $3 }')
echo "batch 1 loss: one process $b1, --ranks 2 $b2"
awk -v a="$b1" -v b="$b2" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(a > 0 && d / a < 1e-5) }' ||
  bad "batch 1: $b1 vs $b2"

# 2. Quantization (default improved profile, small budget): --ranks 2 twice
#    gives the same file and figures (timings aside).
qargs=(quantize --arch resnet20 --weights "$tmp/w.pth" --data "$data" --levels 3 --ratio 0.125
       --hessian-batches 2 --cascade-batch 16 --cascade-epochs 1 --set hessian_batch_size=4 --json)
for k in a b; do
  timeout 300 "$ldnq" "${qargs[@]}" --ranks 2 --out "$tmp/q$k.ldnq" >"$tmp/q$k.json" 2>"$tmp/q$k.err" ||
    bad "quantize --ranks 2 ($k) failed: $(tail -n 3 "$tmp/q$k.err")"
  sed -E 's/"seconds": [0-9.]+/"seconds": T/g' "$tmp/q$k.json" >"$tmp/q$k.fig"
done
cmp "$tmp/qa.ldnq" "$tmp/qb.ldnq" || bad "two quantize --ranks 2 runs differ"
cmp "$tmp/qa.fig" "$tmp/qb.fig" || bad "two quantize --ranks 2 runs report other figures"
test "$(grep -c "^saved" "$tmp/qa.err")" -eq 1 || bad "saved is not printed once"
test ! -e "$tmp/qa.ldnq.state" || bad "a finished run left its state"

# 3. Evaluation: the counts of the whole set, as one process.
one=$("$ldnq" eval --arch resnet20 --weights "$tmp/w.pth" --data "$data" --batch 16 --json 2>/dev/null)
two=$("$ldnq" eval --arch resnet20 --weights "$tmp/w.pth" --data "$data" --batch 16 --json --ranks 2 \
      2>/dev/null)
echo "eval one: $one"; echo "eval two: $two"
[ "${one%%, \"seconds\"*}" = "${two%%, \"seconds\"*}" ] || bad "eval --ranks 2 figures differ"
[ "$(echo "$two" | wc -l)" -eq 1 ] || bad "eval --ranks 2 printed more than one line"

# 4. A failing rank ends the run: 33 images in batches of 32 leave the last
#    batch 1 image for 2 ranks: status 1, the message of a rank (both
#    meet the batch; each may report it), no log.
if timeout 300 "$ldnq" train --arch resnet20 --data "$data" --limit-train 33 --batch 32 --epochs 1 \
     --threads 0 --ranks 2 --out "$tmp/x.pth" --loss-log "$tmp/x.loss" >/dev/null 2>"$tmp/x.err"; then
  bad "a failing --ranks run exited 0"
fi
cat "$tmp/x.err"
grep -Eq "ldnq train \[rank [01] of 2\]: training: .*at least one sample per rank" "$tmp/x.err" ||
  bad "the error does not name the rank and the cause"
test ! -e "$tmp/x.loss" || bad "a failed run left a loss log"
test ! -e "$tmp/x.loss.tmp" || bad "a failed run left a temporary"
# Usage: out of range, and listed in --help.
"$ldnq" train --arch resnet20 --data "$data" --out "$tmp/y.pth" --ranks 0 2>/dev/null
[ $? -eq 2 ] || bad "--ranks 0 is not a usage error"
for c in train quantize eval; do
  "$ldnq" $c --help | grep -q -- "--ranks" || bad "ldnq $c --help does not list --ranks"
done
finish
