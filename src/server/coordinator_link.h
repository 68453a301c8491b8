// CoordinatorLink: a role process's hold on the coordinator's services
// (segment meta, TSO, query side: coord_grpc.h, role_grpc.h; the streaming
// side and the channel the catalog clients of catalog_grpc.h call on) that
// follows the ACTIVE coordinator.
//
// The coordinator is found through its session in etcd: the active key
// session/mixcoord (the election's, with mixCoord.enableActiveStandby, or the
// exclusive session of a single coordinator); the candidates' own sessions
// (session/mixcoord-<id>) are never used, a stand-by serves nothing. A thread
// watches that key and, when another coordinator takes over, points the
// interfaces at its address: calls made after that go to the new one, calls
// in flight finish (or fail) on the old channel, and while no coordinator is
// active calls fail as an unreachable peer ("role peer unavailable"), which
// the callers already retry (a flush backs off, a write is refused with a
// retriable code).
//
// The interfaces returned live as long as the link; thread-safe.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "common/status.h"
#include "roles/api/role_api.h"
#include "roles/api/segment_meta_api.h"
#include "server/config.h"
#include "storage/meta/meta_store.h"

namespace kite {

class CoordinatorLink {
 public:
  // Waits up to `wait` for an active coordinator (a node may start first).
  // `meta` must outlive the link.
  static Result<std::unique_ptr<CoordinatorLink>> Start(MetaStore* meta, const ServerConfig& config,
                                                        std::chrono::milliseconds wait);
  virtual ~CoordinatorLink() = default;

  virtual SegmentMetaApi* segment_meta() = 0;
  virtual TsoApi* tso() = 0;
  virtual QueryNodeApi* query() = 0;
  // The coordinator's streaming side (its streaming node, or its view of the
  // streaming node processes): what a proxy process writes and reads through.
  virtual StreamingNodeApi* streaming() = 0;
  // The channel to the active coordinator (null while none is known): a
  // ChannelSource for the clients of catalog_grpc.h.
  virtual std::shared_ptr<grpc::Channel> channel() const = 0;
  // The active coordinator's address as last seen ("" while none is).
  virtual std::string address() const = 0;
  // How many times the link moved to another coordinator (for tests/metrics).
  virtual int64_t moves() const = 0;
};

}  // namespace kite
