// FLAT and BIN_FLAT: "indexes" that keep nothing of their own and answer every
// search with flat::Search over the base column (exact; filter and nulls
// applied inside the scan). Their bytes are the header alone.
//
// Thread-safety and ownership as VectorIndex (vector_index.h).
#pragma once

#include <memory>
#include <string_view>

#include "index/index_util.h"
#include "index/vector_index.h"

namespace kite::index {

// `spec` already checked by the dispatcher (vector_index.cc).
Result<std::unique_ptr<VectorIndex>> BuildExactIndex(const internal::IndexSpec& spec, const Column& column);
// `body`: what follows the header in Serialize's bytes (nothing).
Result<std::unique_ptr<VectorIndex>> LoadExactIndex(const internal::IndexHeader& header, std::string_view body);

}  // namespace kite::index
