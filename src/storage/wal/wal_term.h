// The one place a WAL channel's ownership term is handed out (wal.h,
// "Ownership and fencing"): each call raises the channel's term counter in
// the meta store (key kite/walterm/<channel>, docs/formats/meta_keys.md) with
// one atomic batch and returns the new term, so every open of a channel gets a
// term higher than any earlier one, across restarts.
//
// The raise is a compare-and-swap on the key's mod revision (MetaStore::Txn),
// so it is atomic across processes sharing one meta store (etcd), not only
// within one.
#pragma once

#include <string>

#include "common/status.h"
#include "storage/meta/meta_store.h"
#include "storage/wal/wal.h"

namespace kite {

Result<WalTerm> AcquireWalTerm(MetaStore* meta, const std::string& channel);

}  // namespace kite
