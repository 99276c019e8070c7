# Installs ltx2_efficient/_source_hash.txt next to the compiled module: the fingerprint of the
# sources this build compiled and packaged (cmake/source_hash.py). install.py compares it with the
# pack it runs in, so a pack update that keeps the version number still replaces the compiled
# code, and a wheel in the release's wheelhouse says which sources it was built from. Computed at
# configure time, which scikit-build-core runs on every build.
if(LTX2EFF_BUILD_PYTHON)
  # scikit-build-core passes the interpreter it builds for; a plain CMake run may not.
  set(_ltx2eff_hash_python "${Python_EXECUTABLE}")
  if(NOT _ltx2eff_hash_python)
    find_program(LTX2EFF_HASH_PYTHON NAMES python3 python)
    set(_ltx2eff_hash_python "${LTX2EFF_HASH_PYTHON}")
  endif()
  execute_process(
    COMMAND "${_ltx2eff_hash_python}" "${CMAKE_CURRENT_LIST_DIR}/source_hash.py" "${PROJECT_SOURCE_DIR}"
    RESULT_VARIABLE _ltx2eff_hash_rc OUTPUT_VARIABLE LTX2EFF_SOURCE_HASH
    ERROR_VARIABLE _ltx2eff_hash_error OUTPUT_STRIP_TRAILING_WHITESPACE TIMEOUT 120)
  if(NOT _ltx2eff_hash_rc EQUAL 0 OR NOT LTX2EFF_SOURCE_HASH MATCHES "^[0-9a-f]+$")
    # Without it install.py rebuilds the package on its next run instead of trusting it.
    message(WARNING "ltx2eff: could not compute the source hash with ${_ltx2eff_hash_python} "
                    "(${_ltx2eff_hash_rc}): ${_ltx2eff_hash_error}")
  else()
    file(CONFIGURE OUTPUT "${PROJECT_BINARY_DIR}/ltx2eff/_source_hash.txt"
         CONTENT "${LTX2EFF_SOURCE_HASH}\n")
    install(FILES "${PROJECT_BINARY_DIR}/ltx2eff/_source_hash.txt" DESTINATION ltx2_efficient)
    message(STATUS "ltx2eff: source hash ${LTX2EFF_SOURCE_HASH}")
  endif()
endif()
