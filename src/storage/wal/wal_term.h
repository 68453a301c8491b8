// The one place a WAL channel's ownership term is handed out (wal.h,
// "Ownership and fencing"): each call raises the channel's term counter in
// the meta store (key kite/walterm/<channel>, docs/formats/meta_keys.md) with
// one atomic batch and returns the new term, so every open of a channel gets a
// term higher than any earlier one, across restarts.
//
// Standalone has one streaming node per meta store, so a process-wide mutex
// makes read-then-write atomic; the cluster mode will make this a
// compare-and-swap on etcd in this same function.
#pragma once

#include <string>

#include "common/status.h"
#include "storage/meta/meta_store.h"
#include "storage/wal/wal.h"

namespace kite {

Result<WalTerm> AcquireWalTerm(MetaStore* meta, const std::string& channel);

}  // namespace kite
