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
//
// The hot path (Search, a callback method) is observed by its handler with a
// CallObservation instead: the interception machinery costs ~40 us of CPU per
// call, a third of an HNSW search (measured in bench/results/2026-12-02-*.md),
// so the factory skips the methods that ObservedInline() names.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/server_context.h>
#include <grpcpp/support/server_interceptor.h>

#include "common/call_context.h"
#include "common/request_observer.h"

namespace kite::rpc {

std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
MakeObserverInterceptorFactories();

// Whether the full method name ("/milvus.proto.milvus.MilvusService/Search")
// is observed by its handler rather than by the interceptor.
bool ObservedInline(const char* method);

// What the interceptor records, for one call observed by its handler.
// Construct it when the call starts (it reads the request id and `dbname`
// metadata and echoes the id back); Enter/Leave bracket the code that runs
// on a thread (they set and clear the thread's log request id); Finish
// records the outcome exactly once.
class CallObservation {
 public:
  CallObservation(std::string function_name, grpc::ServerContextBase* ctx);
  void Enter();
  void Leave();
  // db / collection from the request (db falls back to the metadata); code
  // and reason of the Milvus status; nq of a successful search.
  void Finish(const std::string& db, const std::string& collection, int32_t code, const std::string& reason,
              int64_t nq);

 private:
  std::chrono::steady_clock::time_point start_;
  RequestRecord rec_;
  std::string metadata_db_;
  CallContext call_;  // deadline from the client, caller from Admit: restored by Enter on another thread
};

}  // namespace kite::rpc
