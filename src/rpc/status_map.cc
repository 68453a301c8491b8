#include "rpc/status_map.h"

#include <string_view>
#include <utility>

#include "common/call_context.h"

namespace kite::rpc {

namespace mc = ::milvus::proto::common;

int32_t MilvusCode(const Status& st) {
  if (st.ok()) return 0;
  switch (st.reason()) {
    case Reason::kCollectionNotFound: return 100;
    case Reason::kCollectionNotLoaded: return 101;
    case Reason::kCollectionLimit: return 102;
    case Reason::kIllegalSchema: return 105;
    case Reason::kPartitionNotFound: return 200;
    case Reason::kPartitionNotLoaded: return 202;
    case Reason::kIndexNotFound: return 700;
    case Reason::kIndexNotSupported: return 1100;
    case Reason::kIndexDuplicate: return 702;
    case Reason::kDatabaseNotFound: return 800;
    case Reason::kDatabaseLimit: return 801;
    case Reason::kInvalidDatabaseName: return 802;
    case Reason::kMissingParameter: return 1101;
    case Reason::kParameterTooLarge: return 1102;
    case Reason::kAliasNotFound: return 1600;
    case Reason::kAliasNameConflict: return 1601;
    case Reason::kAliasExists: return 1602;
    case Reason::kFieldNotFound: return 1700;
    case Reason::kInvalidFieldName: return 1701;
    case Reason::kInvalidName: return 1100;
    case Reason::kDataDirInUse: return 5;
    case Reason::kUnclassified: return 65535;
    case Reason::kDiskFull: return 7;  // ErrServiceDiskLimitExceeded
    case Reason::kServiceUnavailable: return 2;  // ErrServiceUnavailable
    case Reason::kChannelNotAvailable: return 503;  // ErrChannelNotAvailable
    case Reason::kCollectionLoaded: return 104;
    case Reason::kResourceGroupNotFound: return 300;
    case Reason::kResourceGroupAlreadyExist: return 301;
    case Reason::kResourceGroupReachLimit: return 302;
    case Reason::kResourceGroupIllegalConfig: return 303;
    case Reason::kResourceGroupNodeNotEnough: return 304;
    case Reason::kResourceGroupServiceAvailable: return 305;
    case Reason::kImportFailed: return 2100;
    case Reason::kPrivilegeNotAuthenticated: return 1400;
    case Reason::kPrivilegeNotPermitted: return 1401;
    case Reason::kNone: break;
  }
  switch (st.code()) {
    case StatusCode::kInvalidArgument:
    case StatusCode::kNotFound:
    case StatusCode::kAlreadyExists:
    case StatusCode::kFailedPrecondition: return 1100;
    case StatusCode::kResourceExhausted: return 1102;
    case StatusCode::kUnimplemented: return 10;
    // merr.TimeoutCode for an expired deadline (context.DeadlineExceeded), else merr.CanceledCode.
    case StatusCode::kCancelled: return st.message() == kDeadlineExceededMessage ? 10001 : 10000;
    default: return 5;  // internal
  }
}

namespace {

mc::ErrorCode LegacyCode(int32_t code) {
  switch (code) {
    case 0: return mc::Success;
    case 100: return mc::CollectionNotExists;
    case 1100:
    case 1101:
    case 1102: return mc::IllegalArgument;
    case 200:
    case 400: return mc::MetaFailed;
    case 700: return mc::IndexNotExist;
    default: return mc::UnexpectedError;
  }
}

bool IsInputError(const Status& st) {
  return st.code() == StatusCode::kInvalidArgument || st.code() == StatusCode::kNotFound ||
         st.code() == StatusCode::kAlreadyExists || st.code() == StatusCode::kFailedPrecondition;
}

}  // namespace

void ToMilvusStatus(const Status& st, mc::Status* out) {
  out->Clear();
  if (st.ok()) return;
  int32_t code = MilvusCode(st);
  out->set_code(code);
  out->set_error_code(LegacyCode(code));
  out->set_reason(st.message());
  out->set_retriable(st.Is(Reason::kServiceUnavailable) || st.Is(Reason::kResourceGroupServiceAvailable));  // merr: both retriable
  if (IsInputError(st)) (*out->mutable_extra_info())["is_input_error"] = "true";
}

}  // namespace kite::rpc
