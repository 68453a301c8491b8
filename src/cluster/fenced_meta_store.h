// FencedMetaStore: the meta store as the active coordinator writes it
// (mixCoord.enableActiveStandby). Every write (Commit, Txn) goes through the
// election's FencedTxn, so it is applied only while this process still holds
// the active key it was elected with; reads, leases and watches pass through.
//
// This is what makes a coordinator that lost its leadership without knowing
// it (paused past its lease, cut off from etcd) harmless: each of its
// catalog, segment-registry, TSO-window, binding and user writes fails with
// kFailedPrecondition "... is not the active mixcoord", and it exits on the
// loss it is told about next (ElectionOptions::on_lost).
//
// Sessions must not be registered through it: a stand-by registers its
// session before it is active (use the inner store).
#pragma once

#include <memory>

#include "cluster/election.h"
#include "storage/meta/meta_store.h"

namespace kite {

// `inner` and `election` must outlive the returned store.
std::unique_ptr<MetaStore> MakeFencedMetaStore(MetaStore* inner, Election* election);

}  // namespace kite
