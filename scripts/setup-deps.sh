#!/usr/bin/env bash
# Installs the Debian packages libldnq needs to build and test, where missing.
#   scripts/setup-deps.sh           build + test dependencies, Fashion-MNIST
#   scripts/setup-deps.sh --torch   also PyTorch (fixture generation, torch.load checks)
#   scripts/setup-deps.sh --extra   also tools for CI extras (abigail-tools, clang runtime,
#                                   Open MPI and mpi4py for tests/sh/mpi_cli.sh)
set -euo pipefail
pkgs=(build-essential cmake pkg-config libopenblas-dev zlib1g-dev libpng-dev
      libjpeg62-turbo-dev check dataset-fashion-mnist python3 python3-numpy xxd g++)
for a in "$@"; do
  case "$a" in
    --torch) pkgs+=(python3-torch python3-torchvision python3-pil) ;;
    --extra) pkgs+=(abigail-tools clang libclang-rt-14-dev valgrind python3-pil
                    libopenmpi-dev openmpi-bin python3-mpi4py) ;;
    *) echo "setup-deps.sh: unknown option $a" >&2; exit 2 ;;
  esac
done
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup-deps: all packages present"
  exit 0
fi
echo "setup-deps: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
