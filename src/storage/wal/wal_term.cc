#include "storage/wal/wal_term.h"

#include <charconv>

namespace kite {

Result<WalTerm> AcquireWalTerm(MetaStore* meta, const std::string& channel) {
  const std::string key = "kite/walterm/" + channel;
  // Read the counter with its revision, write counter + 1 only if nobody
  // wrote it in between (compare-and-swap on the mod revision; 0 = absent):
  // two processes opening the channel on one shared meta store (etcd) can
  // never be handed the same term. A lost race reads again.
  for (int attempt = 0; attempt < 64; ++attempt) {
    KITE_ASSIGN_OR_RETURN(MetaRead read, meta->Read(key, /*prefix=*/false));
    WalTerm term = 0;
    int64_t revision = 0;
    if (!read.kvs.empty()) {
      const std::string& stored = read.kvs[0].value;
      auto [end, ec] = std::from_chars(stored.data(), stored.data() + stored.size(), term);
      if (ec != std::errc() || end != stored.data() + stored.size()) {
        return Corruption("meta key {} holds '{}', not a decimal WAL term", key, stored);
      }
      revision = read.kvs[0].mod_revision;
    }
    ++term;
    MetaBatch batch;
    batch.RequireModRevision(key, revision);
    batch.Put(key, std::to_string(term));
    KITE_ASSIGN_OR_RETURN(MetaTxnResult r, meta->Txn(batch));
    if (r.succeeded) return term;
  }
  return MakeStatus(StatusCode::kIOError, Reason::kServiceUnavailable,
                    "WAL channel {}: could not take an ownership term (64 concurrent updates of {})", channel, key);
}

}  // namespace kite
