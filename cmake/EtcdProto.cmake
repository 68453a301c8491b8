# Generates C++ for etcd's v3 API from the file descriptors embedded in the pinned
# PyPI package etcd3 (requirements.txt; see tools/extract_etcd_descriptors.py), the way
# MilvusProto.cmake does it from pymilvus. No .proto file is committed.
execute_process(
  COMMAND "${KITE_PYTHON}" -c "import importlib.util,os;s=importlib.util.find_spec('etcd3');print(os.path.join(s.submodule_search_locations[0],'etcdrpc'))"
  OUTPUT_VARIABLE ETCD3_RPC_DIR OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE _rc)
if(NOT _rc EQUAL 0 OR NOT EXISTS "${ETCD3_RPC_DIR}/rpc_pb2.py")
  message(FATAL_ERROR "the etcd3 package (etcd's API descriptors) is not installed in ${KITE_PYTHON}: run scripts/setup.sh")
endif()
message(STATUS "etcd API from ${ETCD3_RPC_DIR}")

set(_egen "${CMAKE_BINARY_DIR}/etcd_proto")
set(_esrcs)
foreach(n kv auth rpc)
  list(APPEND _esrcs "${_egen}/${n}.pb.cc" "${_egen}/${n}.grpc.pb.cc")
endforeach()
add_custom_command(
  OUTPUT ${_esrcs}
  COMMAND ${CMAKE_COMMAND} -E make_directory "${_egen}"
  COMMAND "${KITE_PYTHON}" "${CMAKE_SOURCE_DIR}/tools/extract_etcd_descriptors.py" "${ETCD3_RPC_DIR}" "${_egen}/etcd.pb"
  COMMAND ${Protobuf_PROTOC_EXECUTABLE} --descriptor_set_in=${_egen}/etcd.pb --cpp_out=${_egen} --grpc_out=${_egen}
          --plugin=protoc-gen-grpc=${GRPC_CPP_PLUGIN} kv.proto auth.proto rpc.proto
  DEPENDS "${ETCD3_RPC_DIR}/rpc_pb2.py" "${ETCD3_RPC_DIR}/kv_pb2.py" "${ETCD3_RPC_DIR}/auth_pb2.py"
          "${CMAKE_SOURCE_DIR}/tools/extract_etcd_descriptors.py"
  COMMENT "Generating etcd API C++ from the etcd3 package's descriptors"
  VERBATIM)

add_library(etcd_proto STATIC ${_esrcs})
target_include_directories(etcd_proto SYSTEM PUBLIC "${_egen}")
target_link_libraries(etcd_proto PUBLIC protobuf::libprotobuf gRPC::grpc++)
target_compile_options(etcd_proto PRIVATE -w -O1 -g0)
