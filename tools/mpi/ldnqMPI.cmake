# Data-parallel runs under mpirun (tools/mpi/, docs/CLUSTER.md) for the ldnq
# tool and the example programs; installed with the examples' sources, so
# their own build uses it too. Only these programs link MPI, and only when
# CMake finds it; libldnq never does.
#   ldnq_use_mpi(TARGET): TARGET gets ldnq_mpi_run.c and ldnq_ranks.c (the
#   in-process ranks; with or without MPI), and with MPI ldnq_mpi.c,
#   MPI::MPI_C and LDNQ_MPI=1.
option(LDNQ_WITH_MPI "Build the ldnq tool and the example programs with MPI when found" ON)
if(LDNQ_WITH_MPI AND NOT MPI_C_FOUND)
  find_package(MPI COMPONENTS C QUIET)
endif()
set(LDNQ_MPI_DIR ${CMAKE_CURRENT_LIST_DIR})
find_package(Threads REQUIRED)
if(LDNQ_WITH_MPI AND MPI_C_FOUND)
  message(STATUS "ldnq tool and examples: with MPI (${MPI_C_LIBRARIES})")
else()
  message(STATUS "ldnq tool and examples: without MPI")
endif()

function(ldnq_use_mpi target)
  target_sources(${target} PRIVATE ${LDNQ_MPI_DIR}/ldnq_mpi_run.c ${LDNQ_MPI_DIR}/ldnq_ranks.c)
  target_include_directories(${target} PRIVATE ${LDNQ_MPI_DIR})
  target_link_libraries(${target} PRIVATE Threads::Threads)
  if(LDNQ_WITH_MPI AND MPI_C_FOUND)
    target_sources(${target} PRIVATE ${LDNQ_MPI_DIR}/ldnq_mpi.c)
    target_link_libraries(${target} PRIVATE MPI::MPI_C)
    target_compile_definitions(${target} PRIVATE LDNQ_MPI=1)
  endif()
endfunction()
