// The gRPC side of request observation: a server interceptor that times every
// call of the Milvus service and hands a RequestRecord to
// RequestObserver::Global() (common/request_observer.h) when it ends. The
// handlers (milvus_service.cc) know nothing about it.
//
// Per call it reads, without copying the messages:
//  * the request id from the `x-request-id` metadata (else makes one), sets it
//    as the thread's log request id while the handler runs, and echoes it
//    back in the initial metadata;
//  * db_name / collection_name from the request (protobuf reflection;
//    db falls back to pymilvus's `dbname` metadata);
//  * the Milvus status from the response (`status` field, or the response
//    itself when it is a common.Status), and rows / nq from MutationResult
//    and SearchResults.
// A transport-level failure (non-OK gRPC status) is recorded as failed.
//
// Install with ServerBuilder::experimental().SetInterceptorCreators(
//     MakeObserverInterceptorFactories()).
#pragma once

#include <memory>
#include <vector>

#include <grpcpp/support/server_interceptor.h>

namespace kite::rpc {

std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
MakeObserverInterceptorFactories();

}  // namespace kite::rpc
