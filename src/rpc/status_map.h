// Maps Kite's Status to Milvus's common.Status (merr code + legacy error_code).
// The only place where Milvus error numbers appear.
#pragma once

#include "common.pb.h"
#include "common/status.h"

namespace kite::rpc {

// Milvus merr code for a Kite status (0 for OK).
int32_t MilvusCode(const Status& st);
void ToMilvusStatus(const Status& st, ::milvus::proto::common::Status* out);

}  // namespace kite::rpc
