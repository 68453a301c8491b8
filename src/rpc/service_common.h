// Helpers every file of MilvusService's handlers (milvus_service*.cc) shares.
#pragma once

#include <exception>
#include <string>

#include <grpcpp/grpcpp.h>

#include "common/status.h"

namespace kite::rpc {

// The database of a request: the request's own db_name, else the `dbname`
// metadata pymilvus attaches to every call, else "" (= default).
inline std::string DbName(const ::grpc::ServerContextBase* ctx, const std::string& req_db) {
  if (!req_db.empty()) return req_db;
  const auto& md = ctx->client_metadata();
  auto it = md.find("dbname");
  if (it != md.end()) return std::string(it->second.data(), it->second.size());
  return "";
}

// Runs a handler body; an escaped exception becomes an internal error.
template <typename Fn>
Status Guarded(Fn&& fn) {
  try {
    return fn();
  } catch (const std::exception& e) {
    return Internal("unexpected error: {}", e.what());
  }
}

}  // namespace kite::rpc
