#!/usr/bin/env bash
# The argument parser shared by the ldnq tool and the example programs
# (examples/common/args.c): help with defaults and exit 0 for every program,
# `ldnq help CMD`, strict numbers, --opt=value, --, the unknown option named,
# only the missing required options named, the valid set of --levels.
# No data needed: every case fails (or prints help) before any work.
. "${BASH_SOURCE%/*}/lib.sh" args_cli
# expect RC PATTERN CMD...: exit code RC and stderr+stdout matching PATTERN (grep -E).
expect() {
  local rc=$1 pat=$2; shift 2
  "$@" >"$tmp/out" 2>&1; local got=$?
  [ "$got" -eq "$rc" ] || { bad "$* exited $got, want $rc"; cat "$tmp/out"; return; }
  grep -Eq -- "$pat" "$tmp/out" || { bad "$*: no '$pat' in:"; cat "$tmp/out"; }
}

# --help: exit 0, options listed with defaults, on stdout.
for c in quantize eval train info convert; do
  "$ldnq" "$c" --help >"$tmp/h" 2>"$tmp/e" || bad "ldnq $c --help exit $?"
  grep -q "^usage: ldnq $c" "$tmp/h" || bad "ldnq $c --help: no usage line"
  [ -s "$tmp/e" ] && bad "ldnq $c --help wrote to stderr"
  "$ldnq" help "$c" >"$tmp/h2" || bad "ldnq help $c exit $?"
  cmp -s "$tmp/h" "$tmp/h2" || bad "ldnq help $c differs from ldnq $c --help"
done
grep -q -- "--levels, --kbits L .*(default 3)" <("$ldnq" quantize --help) || bad "quantize help: --levels default"
grep -q -- "--lr X .*(default 0.1)" <("$ldnq" train --help) || bad "train help: --lr default"
grep -q -- "--batch N .*(default 128)" <("$ldnq" eval --help) || bad "eval help: --batch default"
expect 2 "ldnq help: unknown command 'bogus'" "$ldnq" help bogus
for p in cifar10_resnet imagenet_resnet custom_layer; do
  "$ex/$p" --help >"$tmp/h" 2>&1 || bad "$p --help exit $?"
  grep -q "^usage: $p" "$tmp/h" || bad "$p --help: no usage"
  grep -q "(default " "$tmp/h" || bad "$p --help: no defaults"
done
grep -q -- "--depth D .*{20, 32, 56} (default 20)" <("$ex/cifar10_resnet" --help) || bad "cifar10 help: depth"
grep -q -- "--batches B .*(default 40)" <("$ex/custom_layer" -h) || bad "custom_layer -h: batches"

# Strict numbers: trailing junk, overflow, empty, leading space.
expect 2 "ldnq train: --lr '0.1x': not a number" "$ldnq" train --arch resnet20 --data x --out o.pth --lr 0.1x
expect 2 "--epochs '99999999999999999999': out of range" "$ldnq" train --arch resnet20 --data x --out o.pth --epochs 99999999999999999999
expect 2 "--epochs '3.5': not an integer" "$ldnq" train --arch resnet20 --data x --out o.pth --epochs 3.5
expect 2 "--batch ' 8': not a number" "$ldnq" eval --arch resnet20 --init-seed 1 --data x --batch " 8"
expect 2 "--ratio '1e999': out of range" "$ldnq" quantize --arch resnet20 --weights w --data x --out o.ldnq --ratio 1e999
expect 2 "--ratio 'nan': out of range" "$ldnq" quantize --arch resnet20 --weights w --data x --out o.ldnq --ratio nan
expect 2 "custom_layer: --cin '4x'" "$ex/custom_layer" --cin 4x
expect 2 "cifar10_resnet: --depth '21': not allowed; valid: 20, 32, 56" "$ex/cifar10_resnet" eval --depth 21 --data x --weights w
# --levels: the valid set is named.
expect 2 "--levels '2': not allowed; valid: 3, 5, 7, 9, 11" "$ldnq" quantize --arch resnet20 --weights w --data x --out o.ldnq --levels 2
expect 2 "--levels '2': not allowed; valid: 3, 5, 7, 9, 11" "$ex/imagenet_resnet" quantize --weights w --data x --levels 2
# The unknown option is named (with a close match).
expect 2 "ldnq info: unknown option '--jsn' \(did you mean --json\?\)" "$ldnq" info x --jsn
expect 2 "unknown option '--bogus'" "$ex/custom_layer" --bogus
expect 2 "unknown option '--wieghts'.*--weights" "$ex/imagenet_resnet" eval --wieghts w
# Only the missing required options are named.
"$ldnq" quantize --arch resnet20 --data x >"$tmp/out" 2>&1; rc=$?
[ $rc -eq 2 ] || bad "missing options: exit $rc"
grep -q "missing required option(s): --weights, --out;" "$tmp/out" || { bad "missing options message"; cat "$tmp/out"; }
grep -q -- "--arch,\|--data," "$tmp/out" && bad "given options named as missing"
expect 2 "cifar10_resnet: missing required option\(s\): --weights;" "$ex/cifar10_resnet" quantize --data x
expect 2 "ldnq eval: give exactly one of --weights FILE and --init-seed N" "$ldnq" eval --arch resnet20 --data x
# --opt=value is the same as --opt value; a flag takes no value.
expect 2 "--levels '4': not allowed" "$ldnq" quantize --arch=resnet20 --weights=w --data=x --out=o.ldnq --levels=4
expect 2 "ldnq info: --json takes no value" "$ldnq" info x --json=1
expect 2 "--arch 'resnet99': not a valid value; valid: resnet20" "$ldnq" eval --arch=resnet99 --init-seed=1 --data=x
# `--`: what follows is positional, even when it starts with '-'.
expect 1 "ldnq info: .*--x" "$ldnq" info -- --x
expect 2 "unexpected argument 'extra'" "$ldnq" info a -- extra
expect 2 "ldnq convert: expected IN OUT" "$ldnq" convert onlyone
expect 2 "--out needs a value" "$ldnq" train --arch resnet20 --data x --out
# --help wins over earlier bad values and is printed before any value is stored.
"$ldnq" train --lr 0.5 --help | grep -q -- "--lr X .*(default 0.1)" || bad "help after --lr 0.5 shows 0.5"

finish
