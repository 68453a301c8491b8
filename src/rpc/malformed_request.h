// A gRPC server interceptor that gives a request which failed to parse the
// answer Milvus's Go server gives it: status INTERNAL with the message
// "grpc: error unmarshalling request: proto: cannot parse invalid wire-format
// data". gRPC C++ answers such a request INTERNAL with an empty message (its
// protobuf deserializer reports no reason), which tells a client nothing
// (issue 20 #18). Search, a callback method not seen by interceptors (see
// grpc_observer.h), parses its own bytes instead (milvus_service.cc).
//
// Install next to the observer: ServerBuilder::experimental()
// .SetInterceptorCreators(...) with MakeMalformedRequestInterceptorFactory().
#pragma once

#include <memory>

#include <grpcpp/support/server_interceptor.h>

namespace kite::rpc {

// The message of the status a malformed request is answered with.
inline constexpr char kUnmarshalError[] = "grpc: error unmarshalling request: proto: cannot parse invalid wire-format data";

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> MakeMalformedRequestInterceptorFactory();

}  // namespace kite::rpc
