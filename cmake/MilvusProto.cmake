# Generates C++ for the Milvus protocol from the file descriptors embedded in the
# pinned pymilvus package (see tools/extract_milvus_descriptors.py). No .proto file
# is committed: the pymilvus wheel in .venv is the single source of truth.

set(KITE_PYTHON "${CMAKE_SOURCE_DIR}/.venv/bin/python" CACHE FILEPATH "Python of the repo venv (has pymilvus)")
if(NOT EXISTS "${KITE_PYTHON}")
  message(FATAL_ERROR "${KITE_PYTHON} not found: run scripts/setup.sh first")
endif()
execute_process(
  COMMAND "${KITE_PYTHON}" -c "import importlib.util,os;s=importlib.util.find_spec('pymilvus');print(os.path.join(s.submodule_search_locations[0],'grpc_gen'))"
  OUTPUT_VARIABLE PYMILVUS_GRPC_GEN OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE _rc)
if(NOT _rc EQUAL 0 OR NOT EXISTS "${PYMILVUS_GRPC_GEN}/milvus_pb2.py")
  message(FATAL_ERROR "pymilvus not installed in ${KITE_PYTHON}: run scripts/setup.sh")
endif()
message(STATUS "Milvus protocol from ${PYMILVUS_GRPC_GEN}")

find_program(GRPC_CPP_PLUGIN grpc_cpp_plugin REQUIRED)
set(_gen "${CMAKE_BINARY_DIR}/milvus_proto")
set(_names common schema rg feder msg milvus)
set(_srcs)
set(_pb_inputs)
foreach(n ${_names})
  list(APPEND _srcs "${_gen}/${n}.pb.cc" "${_gen}/${n}.grpc.pb.cc")
  list(APPEND _pb_inputs "${PYMILVUS_GRPC_GEN}/${n}_pb2.py")
endforeach()

add_custom_command(
  OUTPUT ${_srcs} "${_gen}/milvus_service_defaults.h" "${_gen}/milvus.pb"
  COMMAND ${CMAKE_COMMAND} -E make_directory "${_gen}"
  COMMAND ${Protobuf_PROTOC_EXECUTABLE} --include_imports --descriptor_set_out=${_gen}/gpb.pb -I${Protobuf_INCLUDE_DIRS} google/protobuf/descriptor.proto
  COMMAND "${KITE_PYTHON}" "${CMAKE_SOURCE_DIR}/tools/extract_milvus_descriptors.py" "${PYMILVUS_GRPC_GEN}" "${_gen}/milvus.pb" "${_gen}/gpb.pb"
  COMMAND ${Protobuf_PROTOC_EXECUTABLE} --descriptor_set_in=${_gen}/milvus.pb --cpp_out=${_gen} --grpc_out=${_gen}
          --plugin=protoc-gen-grpc=${GRPC_CPP_PLUGIN} common.proto schema.proto rg.proto feder.proto msg.proto milvus.proto
  COMMAND "${KITE_PYTHON}" "${CMAKE_SOURCE_DIR}/tools/gen_service_defaults.py" "${_gen}/milvus.pb" "${_gen}/milvus_service_defaults.h"
  DEPENDS ${_pb_inputs} "${CMAKE_SOURCE_DIR}/tools/extract_milvus_descriptors.py" "${CMAKE_SOURCE_DIR}/tools/gen_service_defaults.py"
  COMMENT "Generating Milvus protocol C++ from pymilvus descriptors"
  VERBATIM)

add_library(milvus_proto STATIC ${_srcs})
target_include_directories(milvus_proto SYSTEM PUBLIC "${_gen}")
target_link_libraries(milvus_proto PUBLIC protobuf::libprotobuf gRPC::grpc++)
target_compile_options(milvus_proto PRIVATE -w -O1 -g0)
