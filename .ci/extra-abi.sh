#!/usr/bin/env bash
# CI extra: the public ABI must match the committed baseline abi/libldnq.abi
# (docs/ABI.md). Additions are reported but allowed; changes and removals fail.
# Experimental functions (abi/libldnq.suppr) are not compared.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/abi-dump.sh build-abi/current.abi
set +e
abidiff --no-added-syms --suppressions abi/libldnq.suppr \
  abi/libldnq.abi build-abi/current.abi
rc=$?
set -e
# abidiff: bit 2 (4) = ABI change, bit 3 (8) = incompatible change; 1/2 = usage errors.
if [ $rc -ne 0 ]; then
  echo "abidiff exit status $rc: the public ABI differs from abi/libldnq.abi" >&2
  exit 1
fi
echo "ABI matches the baseline"
