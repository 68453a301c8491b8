# Apache Arrow C++ (libarrow + libparquet) for Parquet bulk import.
#
# Debian 12 packages no Arrow C++, so Kite links the C++ libraries that the
# pinned `pyarrow` wheel (requirements.txt, installed into .venv by
# scripts/setup.sh) ships with their headers: pyarrow.get_include() and
# pyarrow.get_library_dirs(). The wheel holds only the versioned files
# (libarrow.so.<so_version>), which are linked by full path; the executables
# get the wheel's directory in their RPATH, so nothing is installed system-wide.
#
# ABI: the manylinux_2_28 wheels are built with _GLIBCXX_USE_CXX11_ABI=1 (the
# new std::string), as Debian 12's GCC is by default; the configure step below
# refuses a wheel whose libarrow exports no cxx11-ABI symbol, and the Parquet
# e2e tests (tests/e2e/test_bulk_import_parquet.py) pass std::string values
# (error messages, field names) across the library boundary.
# Defines the imported targets Kite::arrow and Kite::parquet.

execute_process(
  COMMAND "${KITE_PYTHON}" -c
    "import pyarrow as pa; print(pa.get_include()); print(pa.get_library_dirs()[0]); print(pa.cpp_build_info.so_version); print(pa.__version__)"
  OUTPUT_VARIABLE _kite_pa_out
  RESULT_VARIABLE _kite_pa_rc
  OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT _kite_pa_rc EQUAL 0)
  message(FATAL_ERROR "pyarrow is not installed in ${KITE_PYTHON}: run scripts/setup.sh (requirements.txt pins it)")
endif()
string(REPLACE "\n" ";" _kite_pa_lines "${_kite_pa_out}")
list(GET _kite_pa_lines 0 KITE_ARROW_INCLUDE_DIR)
list(GET _kite_pa_lines 1 KITE_ARROW_LIB_DIR)
list(GET _kite_pa_lines 2 _kite_arrow_so)
list(GET _kite_pa_lines 3 KITE_ARROW_VERSION)

set(_kite_libarrow "${KITE_ARROW_LIB_DIR}/libarrow.so.${_kite_arrow_so}")
set(_kite_libparquet "${KITE_ARROW_LIB_DIR}/libparquet.so.${_kite_arrow_so}")
foreach(_f "${_kite_libarrow}" "${_kite_libparquet}" "${KITE_ARROW_INCLUDE_DIR}/parquet/arrow/reader.h")
  if(NOT EXISTS "${_f}")
    message(FATAL_ERROR "the pyarrow wheel lacks ${_f}")
  endif()
endforeach()

find_program(KITE_NM nm)
if(KITE_NM)
  execute_process(COMMAND "${KITE_NM}" -D --defined-only "${_kite_libarrow}"
                  OUTPUT_VARIABLE _kite_arrow_syms RESULT_VARIABLE _kite_nm_rc)
  if(_kite_nm_rc EQUAL 0 AND NOT _kite_arrow_syms MATCHES "__cxx11")
    message(FATAL_ERROR "${_kite_libarrow} was built with _GLIBCXX_USE_CXX11_ABI=0; Kite is built with the new ABI")
  endif()
endif()

add_library(Kite::arrow SHARED IMPORTED)
set_target_properties(Kite::arrow PROPERTIES
  IMPORTED_LOCATION "${_kite_libarrow}"
  INTERFACE_INCLUDE_DIRECTORIES "${KITE_ARROW_INCLUDE_DIR}")
add_library(Kite::parquet SHARED IMPORTED)
set_target_properties(Kite::parquet PROPERTIES
  IMPORTED_LOCATION "${_kite_libparquet}"
  INTERFACE_LINK_LIBRARIES Kite::arrow)
message(STATUS "Arrow C++ ${KITE_ARROW_VERSION} from the pyarrow wheel: ${KITE_ARROW_LIB_DIR}")
