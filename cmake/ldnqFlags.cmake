# Warning and sanitizer flags, applied per target (never to the whole
# directory, so a parent project embedding libldnq keeps its own flags).

# ldnq_target_flags(<target> [LIBRARY]): warnings (+ -Werror with LDNQ_WERROR)
# and, with LDNQ_SANITIZE, AddressSanitizer + UBSan on compile and link.
# LIBRARY adds the stricter checks that only the library's code obeys.
function(ldnq_target_flags target)
  cmake_parse_arguments(ARG "LIBRARY" "" "" ${ARGN})
  if(CMAKE_C_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(${target} PRIVATE -Wall -Wextra)
    if(ARG_LIBRARY)
      # Every non-static function has a prototype in a header.
      target_compile_options(${target} PRIVATE $<$<COMPILE_LANGUAGE:C>:-Wmissing-prototypes>)
    endif()
    if(LDNQ_WERROR)
      target_compile_options(${target} PRIVATE -Werror)
    endif()
    if(LDNQ_SANITIZE)
      target_compile_options(${target} PRIVATE -fsanitize=address,undefined
        -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
      target_link_options(${target} PRIVATE -fsanitize=address,undefined)
    endif()
  endif()
endfunction()

# Applies ldnq_target_flags to every target defined in `dir` and below, so
# the folders' own CMakeLists.txt need not repeat it.
function(ldnq_flags_for_directory dir)
  get_property(targets DIRECTORY ${dir} PROPERTY BUILDSYSTEM_TARGETS)
  foreach(t ${targets})
    get_target_property(type ${t} TYPE)
    if(NOT type STREQUAL "INTERFACE_LIBRARY" AND NOT type STREQUAL "UTILITY")
      ldnq_target_flags(${t})
    endif()
  endforeach()
  get_property(subdirs DIRECTORY ${dir} PROPERTY SUBDIRECTORIES)
  foreach(d ${subdirs})
    ldnq_flags_for_directory(${d})
  endforeach()
endfunction()
