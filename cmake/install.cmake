include(CMakePackageConfigHelpers)

install(TARGETS ${LDNQ_INSTALL_TARGETS} EXPORT ldnqTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES ${LDNQ_PUBLIC_HEADERS} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/ldnq)
install(EXPORT ldnqTargets NAMESPACE ldnq:: FILE ldnqTargets.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/ldnq)

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/ldnqConfig.cmake.in
  ${PROJECT_BINARY_DIR}/ldnqConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/ldnq)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/ldnqConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)
# ldnqBLAS.cmake finds OpenBLAS for the consumer the way it was found here.
install(FILES ${PROJECT_BINARY_DIR}/ldnqConfig.cmake ${PROJECT_BINARY_DIR}/ldnqConfigVersion.cmake
  ${PROJECT_SOURCE_DIR}/cmake/ldnqBLAS.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/ldnq)

# Path from <libdir>/pkgconfig back to the prefix.
file(RELATIVE_PATH LDNQ_PC_RELATIVE_PREFIX
  ${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR}/pkgconfig ${CMAKE_INSTALL_PREFIX})
string(REGEX REPLACE "/$" "" LDNQ_PC_RELATIVE_PREFIX "${LDNQ_PC_RELATIVE_PREFIX}")
# OpenBLAS: through its own .pc file when pkg-config found it, else by name.
if(LDNQ_BLAS_FOUND_BY STREQUAL "pkg-config")
  set(LDNQ_PC_REQUIRES_PRIVATE "openblas zlib libpng libjpeg")
  set(LDNQ_PC_LIBS_PRIVATE "-lpthread -lm")
else()
  set(LDNQ_PC_REQUIRES_PRIVATE "zlib libpng libjpeg")
  set(LDNQ_PC_LIBS_PRIVATE "-lopenblas -lpthread -lm")
endif()
configure_file(${PROJECT_SOURCE_DIR}/cmake/ldnq.pc.in ${PROJECT_BINARY_DIR}/ldnq.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/ldnq.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
