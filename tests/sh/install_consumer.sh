#!/usr/bin/env bash
# Installs the build tree into a temporary prefix, then builds and runs an
# out-of-tree program against the INSTALLED copy: with pkg-config (shared and
# static), with find_package(ldnq CONFIG), and as C++.
. "${BASH_SOURCE%/*}/lib.sh" install_consumer
set -e
prefix=$tmp/prefix
cmake --install "$bin" --prefix "$prefix" > "$tmp/install.log"
libdir=$(ls -d "$prefix"/lib*/ | head -1); libdir=${libdir%/}
test -f "$prefix/include/ldnq/ldnq.h"
test -L "$libdir/libldnq.so"
test -f "$libdir/libldnq.a"
soname=$(objdump -p "$libdir/libldnq.so" | awk '/SONAME/{print $2}')
[ "$soname" = "libldnq.so.0" ] || { echo "bad SONAME $soname"; exit 1; }
export PKG_CONFIG_PATH=$libdir/pkgconfig
# 1. pkg-config, shared
cc -std=c11 -Wall -Wextra -Werror "$src/tests/consumer/consumer.c" \
   $(pkg-config --cflags --libs ldnq) -Wl,-rpath,"$libdir" -o "$tmp/pc_shared"
"$tmp/pc_shared" | grep -q "consumer ok"
# 2. pkg-config, static: the archive plus the private dependencies from --static
cc -std=c11 -Wall -Wextra -Werror -DLDNQ_STATIC "$src/tests/consumer/consumer.c" \
   $(pkg-config --cflags ldnq) "$libdir/libldnq.a" \
   $(pkg-config --static --libs ldnq | sed 's/-lldnq\b//') -o "$tmp/pc_static"
"$tmp/pc_static" | grep -q "consumer ok"
if ldd "$tmp/pc_static" | grep -q libldnq; then echo "static consumer links libldnq.so"; exit 1; fi
# 3. find_package(ldnq CONFIG)
cmake -S "$src/tests/consumer" -B "$tmp/cmake-build" -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_BUILD_RPATH="$libdir" > "$tmp/cmake.log"
cmake --build "$tmp/cmake-build" > "$tmp/cmake-build.log"
"$tmp/cmake-build/consumer_shared" | grep -q "consumer ok"
"$tmp/cmake-build/consumer_static" | grep -q "consumer ok"
# 4. C++
if command -v c++ >/dev/null; then
  c++ -std=c++11 -Wall -Wextra -Werror -pedantic "$src/tests/consumer/consumer.cpp" \
      $(pkg-config --cflags --libs ldnq) -Wl,-rpath,"$libdir" -o "$tmp/cxx"
  "$tmp/cxx" | grep -q "c++ consumer ok"
fi
# 5. The installed tool runs from the prefix without LD_LIBRARY_PATH (RUNPATH
#    relative to the binary), also after the prefix was moved.
rp=$(readelf -d "$prefix/bin/ldnq" | sed -n 's/.*R\(UN\)\?PATH.*\[\(.*\)\]/\2/p')
case $rp in '$ORIGIN/'*) ;; *) echo "ldnq RUNPATH is '$rp', want \$ORIGIN/..."; exit 1 ;; esac
env -u LD_LIBRARY_PATH "$prefix/bin/ldnq" --version | grep -q "^ldnq "
mv "$prefix" "$tmp/moved"
trap 'mv "$tmp/moved" "$prefix" 2>/dev/null || true' EXIT
env -u LD_LIBRARY_PATH "$tmp/moved/bin/ldnq" --version | grep -q "^ldnq "
env -u LD_LIBRARY_PATH "$tmp/moved/bin/ldnq" help info | grep -q "^usage: ldnq info"
ldd "$tmp/moved/bin/ldnq" | grep "libldnq" | grep -q "$tmp/moved/" || { echo "moved ldnq uses another libldnq"; exit 1; }
mv "$tmp/moved" "$prefix"; trap - EXIT
# 6. The installed example sources build against the installed package and run.
ex=$prefix/share/ldnq/examples
for f in CMakeLists.txt custom_layer.c cifar10_resnet.c imagenet_resnet.c common/args.c common/args.h; do
  test -f "$ex/$f" || { echo "not installed: share/ldnq/examples/$f"; exit 1; }
done
cmake -S "$ex" -B "$tmp/examples-build" -DCMAKE_PREFIX_PATH="$prefix" > "$tmp/examples-cmake.log"
cmake --build "$tmp/examples-build" > "$tmp/examples-build.log"
"$tmp/examples-build/custom_layer" --help | grep -q "^usage: custom_layer"
"$tmp/examples-build/custom_layer" --cin 2 --cout 4 --batches 3 | grep -q "^layer error: projection"
"$tmp/examples-build/cifar10_resnet" --help | grep -q "^usage: cifar10_resnet"
ldd "$tmp/examples-build/custom_layer" | grep libldnq | grep -q "$prefix" || { echo "examples use another libldnq"; exit 1; }
echo "install consumer: pkg-config shared+static, find_package shared+static, C++, relocatable ldnq, installed examples: ok"
