#!/usr/bin/env bash
# Every public header is self-contained and clean: included ALONE (and twice, for the include
# guard) it compiles as C11 and as C++11/C++17 with -Wall -Wextra -Werror -pedantic; C++ sees the
# declarations with C linkage (a call links against libldnq.so without mangling).
. "${BASH_SOURCE%/*}/lib.sh" cxx_headers
set -e
command -v c++ >/dev/null || { echo "no C++ compiler: skip"; exit 77; }
n=0
for h in "$src"/include/ldnq/*.h; do
  name=$(basename "$h")
  printf '#include <ldnq/%s>\n#include <ldnq/%s>\nint ldnq_header_check_%s;\n' \
    "$name" "$name" "${name%.h}" > "$tmp/one.c"
  cp "$tmp/one.c" "$tmp/one.cpp"
  cc -std=c11 -Wall -Wextra -Werror -pedantic -I"$src/include" -c "$tmp/one.c" -o "$tmp/c.o" \
    || { echo "FAIL: $name as C11"; exit 1; }
  cc -std=c11 -Wall -Wextra -Werror -pedantic -DLDNQ_STATIC -I"$src/include" -c "$tmp/one.c" \
    -o "$tmp/c.o" || { echo "FAIL: $name as C11 with LDNQ_STATIC"; exit 1; }
  for std in c++11 c++17; do
    c++ -std=$std -Wall -Wextra -Werror -pedantic -I"$src/include" -c "$tmp/one.cpp" \
      -o "$tmp/cxx.o" || { echo "FAIL: $name as $std"; exit 1; }
  done
  n=$((n + 1))
done
[ "$n" -ge 8 ] || { echo "only $n headers found"; exit 1; }
# Enums cross the ABI by value and through pointers (ldnq_arch *out ...): the library and its
# callers must agree that each is int-sized (true unless built with -fshort-enums).
enums=$(sed -n 's/^typedef enum \(ldnq_[a-z0-9_]*\) {.*/\1/p' "$src"/include/ldnq/*.h)
[ "$(echo "$enums" | wc -w)" -ge 15 ] || { echo "enum scan found too few: $enums"; exit 1; }
{ echo '#include <ldnq/ldnq.h>'
  for e in $enums; do echo "_Static_assert(sizeof($e) == sizeof(int), \"$e is not int-sized\");"; done
} > "$tmp/enums.c"
cc -std=c11 -Wall -Wextra -Werror -pedantic -I"$src/include" -c "$tmp/enums.c" -o "$tmp/enums.o"
sed 's/_Static_assert/static_assert/' "$tmp/enums.c" > "$tmp/enums.cpp"
c++ -std=c++11 -Wall -Wextra -Werror -pedantic -I"$src/include" -c "$tmp/enums.cpp" \
  -o "$tmp/enums.o"
# C linkage: no function declared in the headers is mangled in a C++ object that calls it.
c++ -std=c++11 -Wall -Wextra -Werror -pedantic -I"$src/include" \
  "$src/tests/consumer/consumer.cpp" -L"$bin" -lldnq -Wl,-rpath,"$bin" -o "$tmp/consumer"
if nm -u "$tmp/consumer" | grep -q '_Z.*ldnq_'; then
  echo "FAIL: mangled ldnq symbols:"; nm -u "$tmp/consumer" | grep '_Z.*ldnq_'; exit 1
fi
"$tmp/consumer" | tee "$tmp/out.txt"
grep -q "c++ consumer ok" "$tmp/out.txt"
echo "cxx headers: $n headers alone as C11, C++11, C++17; $(echo "$enums" | wc -w) enums int-sized: ok"
