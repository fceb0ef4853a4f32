# Finds LibTorch: the one inside the pinned PyPI torch wheel that scripts/install-deps.sh
# installs into one machine-wide virtual environment (/opt/lti/venv). Its CMake package is
# found through torch.utils.cmake_prefix_path, after anything CMAKE_PREFIX_PATH already names
# (so -DCMAKE_PREFIX_PATH=/path/to/libtorch still wins). LTI_TORCH_PYTHON picks another Python.
#
# A CUDA LibTorch's own TorchConfig needs the CUDA toolkit (nvcc) to be configured at all,
# although lti compiles no CUDA code. Where there is no nvcc (a laptop, or a GPU machine with
# only a driver and a torch wheel) LibTorch is imported from the wheel's files instead: the
# same libraries, headers and definitions, with the CUDA and NCCL headers the wheel's nvidia
# packages carry. LTI_TORCH_WITHOUT_TOOLKIT=ON forces that way.
#
# Sets TORCH_LIBRARIES, TORCH_INSTALL_PREFIX and Torch_VERSION either way.

set(LTI_TORCH_PYTHON "" CACHE FILEPATH "Python whose torch package provides LibTorch")
if(NOT LTI_TORCH_PYTHON)
  if(EXISTS /opt/lti/venv/bin/python)
    set(LTI_TORCH_PYTHON /opt/lti/venv/bin/python)
  else()
    find_program(LTI_TORCH_PYTHON_FOUND NAMES python3 python)
    set(LTI_TORCH_PYTHON "${LTI_TORCH_PYTHON_FOUND}")
  endif()
endif()
set(LTI_TORCH_PREFIX "")
if(LTI_TORCH_PYTHON)
  execute_process(
    COMMAND "${LTI_TORCH_PYTHON}" -c "import torch; print(torch.utils.cmake_prefix_path, end='')"
    OUTPUT_VARIABLE LTI_TORCH_PREFIX RESULT_VARIABLE LTI_TORCH_PYTHON_RESULT ERROR_QUIET)
  if(NOT LTI_TORCH_PYTHON_RESULT EQUAL 0)
    set(LTI_TORCH_PREFIX "")
  endif()
endif()

option(LTI_TORCH_WITHOUT_TOOLKIT "Import a CUDA LibTorch without TorchConfig (no nvcc needed)" OFF)
# A LibTorch named in CMAKE_PREFIX_PATH is always found through its TorchConfig.
set(lti_torch_named OFF)
foreach(dir ${CMAKE_PREFIX_PATH})
  if(EXISTS "${dir}/Torch/TorchConfig.cmake" OR EXISTS "${dir}/share/cmake/Torch/TorchConfig.cmake")
    set(lti_torch_named ON)
  endif()
endforeach()
set(lti_torch_manual OFF)
if(LTI_TORCH_PREFIX AND NOT lti_torch_named)
  get_filename_component(lti_torch_root "${LTI_TORCH_PREFIX}/../.." ABSOLUTE)
  if(EXISTS "${lti_torch_root}/lib/libtorch_cuda.so")
    find_program(LTI_NVCC nvcc HINTS ENV CUDA_HOME ENV CUDA_PATH PATH_SUFFIXES bin
                 PATHS /usr/local/cuda)
    if(LTI_TORCH_WITHOUT_TOOLKIT OR NOT LTI_NVCC)
      set(lti_torch_manual ON)
    endif()
  endif()
endif()

if(NOT lti_torch_manual)
  if(LTI_TORCH_PREFIX)
    list(APPEND CMAKE_PREFIX_PATH "${LTI_TORCH_PREFIX}")
  endif()
  find_package(Torch REQUIRED)
  return()
endif()

# --- a CUDA LibTorch from the wheel's files, without the toolkit
set(TORCH_INSTALL_PREFIX "${lti_torch_root}")
execute_process(
  COMMAND "${LTI_TORCH_PYTHON}" -c "import torch; print(torch.__version__.split('+')[0], end='')"
  OUTPUT_VARIABLE Torch_VERSION)
message(STATUS "No nvcc: importing the CUDA LibTorch ${Torch_VERSION} from its files")
file(GLOB lti_nvidia_includes LIST_DIRECTORIES true "${TORCH_INSTALL_PREFIX}/../nvidia/*/include")
add_library(lti_torch INTERFACE)
target_compile_features(lti_torch INTERFACE cxx_std_20)  # LibTorch 2.15's headers need C++20
target_include_directories(lti_torch SYSTEM INTERFACE
  "${TORCH_INSTALL_PREFIX}/include" "${TORCH_INSTALL_PREFIX}/include/torch/csrc/api/include"
  ${lti_nvidia_includes})
# What TorchConfig's targets define (torch_cpu's and torch_cuda's INTERFACE_COMPILE_DEFINITIONS).
target_compile_definitions(lti_torch INTERFACE
  USE_DISTRIBUTED USE_C10D_GLOO USE_RPC USE_TENSORPIPE USE_C10D_NCCL USE_NVSHMEM
  _GLIBCXX_USE_CXX11_ABI=1)
set(lti_torch_dir "${TORCH_INSTALL_PREFIX}/lib")
# --no-as-needed: lti calls nothing in libtorch_cuda.so directly, but loading it registers the
# CUDA backend.
target_link_libraries(lti_torch INTERFACE
  "${lti_torch_dir}/libtorch.so"
  "-Wl,--no-as-needed,${lti_torch_dir}/libtorch_cpu.so,${lti_torch_dir}/libtorch_cuda.so -Wl,--as-needed"
  "${lti_torch_dir}/libc10_cuda.so" "${lti_torch_dir}/libc10.so")
set(TORCH_LIBRARIES lti_torch)
