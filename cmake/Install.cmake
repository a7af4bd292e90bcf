# Installs the library with a CMake package, so that consumers can write
# find_package(intr CONFIG) and link intr::intr.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(TARGETS intr intr_model EXPORT intrTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY lib/include/intr model/include/intr DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT intrTargets NAMESPACE intr:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/intr)

configure_package_config_file(cmake/intrConfig.cmake.in ${PROJECT_BINARY_DIR}/intrConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/intr)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/intrConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/intrConfig.cmake ${PROJECT_BINARY_DIR}/intrConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/intr)
