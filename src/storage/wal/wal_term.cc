#include "storage/wal/wal_term.h"

#include <charconv>
#include <mutex>

namespace kite {

Result<WalTerm> AcquireWalTerm(MetaStore* meta, const std::string& channel) {
  static std::mutex mu;
  std::lock_guard lock(mu);
  const std::string key = "kite/walterm/" + channel;
  KITE_ASSIGN_OR_RETURN(std::optional<std::string> stored, meta->Get(key));
  WalTerm term = 0;
  if (stored) {
    auto [end, ec] = std::from_chars(stored->data(), stored->data() + stored->size(), term);
    if (ec != std::errc() || end != stored->data() + stored->size()) {
      return Corruption("meta key {} holds '{}', not a decimal WAL term", key, *stored);
    }
  }
  ++term;
  MetaBatch batch;
  batch.Put(key, std::to_string(term));
  KITE_RETURN_IF_ERROR(meta->Commit(batch));
  return term;
}

}  // namespace kite
