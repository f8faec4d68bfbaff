# Finds OpenBLAS (BLAS + LAPACK + cblas.h) and defines the interface target
# ldnq_blas_deps. pkg-config first (Debian's openblas.pc); when it finds
# nothing, CMake's FindBLAS/FindLAPACK with the OpenBLAS vendor and a search
# for cblas.h. Used by the build and by the installed ldnqConfig.cmake, so
# a consumer finds the same library the build did.
# Sets LDNQ_BLAS_FOUND_BY to "pkg-config" or "FindBLAS".
if(TARGET ldnq::blas_deps)
  return()
endif()
set(LDNQ_BLAS_PROVIDER "auto" CACHE STRING "How to find OpenBLAS: auto, pkg-config or FindBLAS")
set_property(CACHE LDNQ_BLAS_PROVIDER PROPERTY STRINGS auto pkg-config FindBLAS)

set(_ldnq_blas_ok FALSE)
if(NOT LDNQ_BLAS_PROVIDER STREQUAL "FindBLAS")
  find_package(PkgConfig QUIET)
  if(PkgConfig_FOUND)
    pkg_check_modules(LDNQ_OPENBLAS QUIET IMPORTED_TARGET GLOBAL openblas)
    if(LDNQ_OPENBLAS_FOUND)
      add_library(ldnq::blas_deps INTERFACE IMPORTED GLOBAL)
      set_target_properties(ldnq::blas_deps PROPERTIES INTERFACE_LINK_LIBRARIES PkgConfig::LDNQ_OPENBLAS)
      set(LDNQ_BLAS_FOUND_BY "pkg-config")
      set(_ldnq_blas_ok TRUE)
    endif()
  endif()
  if(NOT _ldnq_blas_ok AND LDNQ_BLAS_PROVIDER STREQUAL "pkg-config")
    message(FATAL_ERROR "LDNQ_BLAS_PROVIDER=pkg-config but pkg-config finds no openblas")
  endif()
endif()
if(NOT _ldnq_blas_ok)
  set(BLA_VENDOR OpenBLAS)
  find_package(BLAS REQUIRED)
  find_package(LAPACK REQUIRED)
  find_path(LDNQ_CBLAS_INCLUDE_DIR cblas.h
    PATH_SUFFIXES openblas openblas-pthread openblas-openmp openblas-serial)
  if(NOT LDNQ_CBLAS_INCLUDE_DIR)
    message(FATAL_ERROR "OpenBLAS found by FindBLAS, but not its cblas.h (set LDNQ_CBLAS_INCLUDE_DIR)")
  endif()
  add_library(ldnq::blas_deps INTERFACE IMPORTED GLOBAL)
  set_target_properties(ldnq::blas_deps PROPERTIES
    INTERFACE_LINK_LIBRARIES "LAPACK::LAPACK;BLAS::BLAS"
    INTERFACE_INCLUDE_DIRECTORIES "${LDNQ_CBLAS_INCLUDE_DIR}")
  set(LDNQ_BLAS_FOUND_BY "FindBLAS")
endif()
unset(_ldnq_blas_ok)
