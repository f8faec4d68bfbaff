#!/usr/bin/env bash
# Writes the public ABI of libldnq.so to abi/libldnq.abi (the baseline
# .ci/extra-abi.sh compares against). Run it when the ABI changes on purpose.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/abi-dump.sh abi/libldnq.abi
echo "wrote abi/libldnq.abi"
