# Which CUDA architectures a build compiles, chosen so that a source build takes the builder's
# time only for kernels the machine can run:
#   - CMAKE_CUDA_ARCHITECTURES given: exactly that list; the value "release" stands for the
#     release list below, so CI (scripts/test.sh) asks for every architecture without a copy of it;
#   - LTX2EFF_CUDA=ON without a list: the release list, every supported GPU generation + PTX;
#   - LTX2EFF_CUDA=AUTO (the default): the architectures of the GPUs visible now; with none
#     visible, no CUDA kernels at all (the CPU core and torch's fallbacks).
# Sets, in the caller's scope: LTX2EFF_CUDA_ARCHS (empty: build no CUDA) and
# LTX2EFF_CUDA_ARCH_REASON (one phrase for the build summary and `ltx2eff info`).

# Turing to Blackwell (sm75, 80, 86, 89, 90, 100, 120) as machine code, plus PTX of the newest
# for GPUs that come later (the driver compiles it on first use).
set(LTX2EFF_CUDA_RELEASE_ARCHS 75-real 80-real 86-real 89-real 90-real 100-real 120-real 120-virtual)

# The GPUs the driver shows: "major.minor, name" lines from nvidia-smi, honouring a
# CUDA_VISIBLE_DEVICES that hides them all. Sets <out_archs> ("86-real;...") and <out_names>.
function(ltx2eff_visible_gpus out_archs out_names)
  set(archs "")
  set(names "")
  if(DEFINED ENV{CUDA_VISIBLE_DEVICES} AND ("$ENV{CUDA_VISIBLE_DEVICES}" STREQUAL ""
                                            OR "$ENV{CUDA_VISIBLE_DEVICES}" STREQUAL "-1"))
    set(${out_archs} "" PARENT_SCOPE)
    set(${out_names} "" PARENT_SCOPE)
    return()
  endif()
  find_program(LTX2EFF_NVIDIA_SMI nvidia-smi)
  if(LTX2EFF_NVIDIA_SMI)
    execute_process(
      COMMAND "${LTX2EFF_NVIDIA_SMI}" --query-gpu=compute_cap,name --format=csv,noheader
      RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_QUIET TIMEOUT 30)
    if(rc EQUAL 0)
      string(REPLACE "\n" ";" lines "${out}")
      foreach(line IN LISTS lines)
        if(line MATCHES "^ *([0-9]+)\\.([0-9]+) *, *(.+)$")
          list(APPEND archs "${CMAKE_MATCH_1}${CMAKE_MATCH_2}-real")
          list(APPEND names "${CMAKE_MATCH_3}")
        endif()
      endforeach()
    endif()
  endif()
  list(REMOVE_DUPLICATES archs)
  list(REMOVE_DUPLICATES names)
  set(${out_archs} "${archs}" PARENT_SCOPE)
  set(${out_names} "${names}" PARENT_SCOPE)
endfunction()

# The architecture numbers this nvcc can compile for ("75;80;..."), from --list-gpu-code.
function(ltx2eff_nvcc_archs out)
  execute_process(COMMAND "${CMAKE_CUDA_COMPILER}" --list-gpu-code
                  RESULT_VARIABLE rc OUTPUT_VARIABLE text ERROR_QUIET TIMEOUT 60)
  set(numbers "")
  if(rc EQUAL 0)
    string(REGEX MATCHALL "sm_[0-9]+" codes "${text}")
    foreach(code IN LISTS codes)
      string(REPLACE "sm_" "" number "${code}")
      list(APPEND numbers "${number}")
    endforeach()
  endif()
  set(${out} "${numbers}" PARENT_SCOPE)
endfunction()

# Keeps the entries of <archs_var> ("86-real", "120-virtual", ...) that this nvcc supports;
# <dropped_var> gets the others. An nvcc that cannot list its codes keeps everything.
function(ltx2eff_keep_supported archs_var dropped_var)
  ltx2eff_nvcc_archs(supported)
  set(kept "")
  set(dropped "")
  foreach(arch IN LISTS ${archs_var})
    string(REGEX MATCH "^[0-9]+" number "${arch}")
    if(NOT supported OR NOT number OR number IN_LIST supported)
      list(APPEND kept "${arch}")
    else()
      list(APPEND dropped "${arch}")
    endif()
  endforeach()
  set(${archs_var} "${kept}" PARENT_SCOPE)
  set(${dropped_var} "${dropped}" PARENT_SCOPE)
endfunction()

# The release list, less what this nvcc cannot build, with <reason> as the choice's reason.
macro(_ltx2eff_take_release_list reason)
  set(LTX2EFF_CUDA_ARCHS ${LTX2EFF_CUDA_RELEASE_ARCHS})
  ltx2eff_keep_supported(LTX2EFF_CUDA_ARCHS _ltx2eff_dropped)
  set(LTX2EFF_CUDA_ARCH_REASON "${reason}")
  if(_ltx2eff_dropped)
    string(APPEND LTX2EFF_CUDA_ARCH_REASON "; this nvcc cannot build ${_ltx2eff_dropped}")
  endif()
endmacro()

# The choice itself; call after check_language(CUDA) found a compiler. <explicit_archs> is the
# list the builder gave (empty when none).
macro(ltx2eff_choose_cuda_archs explicit_archs)
  set(LTX2EFF_CUDA_ARCHS "")
  set(LTX2EFF_CUDA_ARCH_REASON "")
  if("${explicit_archs}" STREQUAL "release")
    _ltx2eff_take_release_list("the release list, asked for with CMAKE_CUDA_ARCHITECTURES=release")
    # CMake itself knows no "release": enable_language(CUDA) and the targets get the list.
    set(CMAKE_CUDA_ARCHITECTURES "${LTX2EFF_CUDA_ARCHS}" CACHE STRING "CUDA architectures" FORCE)
  elseif(NOT "${explicit_archs}" STREQUAL "")
    set(LTX2EFF_CUDA_ARCHS ${explicit_archs})
    set(LTX2EFF_CUDA_ARCH_REASON "asked for with CMAKE_CUDA_ARCHITECTURES")
  elseif(LTX2EFF_CUDA STREQUAL "ON")
    _ltx2eff_take_release_list("the release list (LTX2EFF_CUDA=ON)")
  else()
    ltx2eff_visible_gpus(_ltx2eff_gpu_archs _ltx2eff_gpu_names)
    if(_ltx2eff_gpu_archs)
      set(LTX2EFF_CUDA_ARCHS ${_ltx2eff_gpu_archs})
      ltx2eff_keep_supported(LTX2EFF_CUDA_ARCHS _ltx2eff_dropped)
      string(REPLACE ";" ", " _ltx2eff_names "${_ltx2eff_gpu_names}")
      set(LTX2EFF_CUDA_ARCH_REASON "the GPU visible at build time (${_ltx2eff_names})")
      if(_ltx2eff_dropped)
        message(WARNING "ltx2eff: this nvcc (${CMAKE_CUDA_COMPILER}) cannot compile for "
                        "${_ltx2eff_dropped}, the visible GPU's architecture; a newer CUDA "
                        "toolkit can. Those GPUs get the torch fallbacks.")
      endif()
    endif()
  endif()
endmacro()

# The build summary: which kernels were built and how to change that.
function(ltx2eff_report_kernels)
  if(LTX2EFF_HAVE_CUDA)
    set(what "CPU kernels + CUDA kernels for ${CMAKE_CUDA_ARCHITECTURES}, ${LTX2EFF_CUDA_ARCH_REASON}")
  else()
    set(what "CPU kernels only (${LTX2EFF_CUDA_ARCH_REASON})")
  endif()
  message(STATUS "ltx2eff: building ${what}")
  message(STATUS "ltx2eff: to change it: -DCMAKE_CUDA_ARCHITECTURES=\"86-real\" (one GPU), "
                 "-DLTX2EFF_CUDA=ON or -DCMAKE_CUDA_ARCHITECTURES=release (every supported GPU: "
                 "${LTX2EFF_CUDA_RELEASE_ARCHS}), "
                 "-DLTX2EFF_CUDA=OFF (CPU only); with pip: -Ccmake.define.NAME=VALUE")
endfunction()

# Writes the header src/build_info.cpp reads: this run's kernels as C string literals.
function(ltx2eff_write_build_config path hopper_kernel)
  macro(_ltx2eff_c_text out text)
    string(REPLACE "\\" "\\\\" _t "${text}")
    string(REPLACE "\"" "\\\"" _t "${_t}")
    string(REPLACE ";" "," ${out} "${_t}")
  endmacro()
  set(type "${CMAKE_BUILD_TYPE}")
  if(CMAKE_CONFIGURATION_TYPES)
    set(type "multi-config")
  endif()
  _ltx2eff_c_text(LTX2EFF_BUILD_TYPE_TEXT "${type}")
  if(LTX2EFF_HAVE_CUDA)
    _ltx2eff_c_text(LTX2EFF_CUDA_COMPILER_TEXT "${CMAKE_CUDA_COMPILER_ID} ${CMAKE_CUDA_COMPILER_VERSION}")
    _ltx2eff_c_text(LTX2EFF_CUDA_ARCHS_TEXT "${CMAKE_CUDA_ARCHITECTURES}")
  else()
    set(LTX2EFF_CUDA_COMPILER_TEXT "")
    set(LTX2EFF_CUDA_ARCHS_TEXT "")
  endif()
  _ltx2eff_c_text(LTX2EFF_CUDA_ARCH_REASON_TEXT "${LTX2EFF_CUDA_ARCH_REASON}")
  set(LTX2EFF_HOPPER_KERNEL_VALUE ${hopper_kernel})
  configure_file("${PROJECT_SOURCE_DIR}/cpp/src/build_config.hpp.in" "${path}" @ONLY)
endfunction()

# CMakeLists.txt includes this module only; the source fingerprint every Python build installs
# comes with it.
include(SourceHash)
