#include "rpc/status_map.h"

#include <gtest/gtest.h>
#include <utility>

// error_code is Milvus's deprecated legacy field; the tests check it on purpose.
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace kite::rpc {
namespace {

namespace mc = ::milvus::proto::common;

Status Err(StatusCode code, Reason reason) { return Status(code, reason, "boom"); }

TEST(StatusMapTest, MilvusCodePerReason) {
  struct Case {
    StatusCode code;
    Reason reason;
    int32_t want;
  };
  const Case cases[] = {
      {StatusCode::kNotFound, Reason::kCollectionNotFound, 100},
      {StatusCode::kFailedPrecondition, Reason::kCollectionNotLoaded, 101},
      {StatusCode::kResourceExhausted, Reason::kCollectionLimit, 102},
      {StatusCode::kNotFound, Reason::kPartitionNotFound, 200},
      {StatusCode::kNotFound, Reason::kIndexNotFound, 700},
      {StatusCode::kAlreadyExists, Reason::kIndexDuplicate, 702},
      {StatusCode::kNotFound, Reason::kDatabaseNotFound, 800},
      {StatusCode::kResourceExhausted, Reason::kDatabaseLimit, 801},
      {StatusCode::kInvalidArgument, Reason::kInvalidDatabaseName, 802},
      {StatusCode::kInvalidArgument, Reason::kMissingParameter, 1101},
      {StatusCode::kInvalidArgument, Reason::kParameterTooLarge, 1102},
      {StatusCode::kNotFound, Reason::kAliasNotFound, 1600},
      {StatusCode::kAlreadyExists, Reason::kAliasNameConflict, 1601},
      {StatusCode::kAlreadyExists, Reason::kAliasExists, 1602},
      {StatusCode::kNotFound, Reason::kFieldNotFound, 1700},
      {StatusCode::kInvalidArgument, Reason::kInvalidFieldName, 1701},
      {StatusCode::kInvalidArgument, Reason::kInvalidName, 1100},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(MilvusCode(Err(c.code, c.reason)), c.want) << "reason " << static_cast<int>(c.reason);
  }
}

TEST(StatusMapTest, ReasonWinsOverCode) {
  // The same reason maps to the same code whatever the domain code is.
  EXPECT_EQ(MilvusCode(Err(StatusCode::kInvalidArgument, Reason::kCollectionNotFound)), 100);
  EXPECT_EQ(MilvusCode(Err(StatusCode::kInternal, Reason::kDatabaseNotFound)), 800);
}

TEST(StatusMapTest, MilvusCodeWithoutReason) {
  EXPECT_EQ(MilvusCode(InvalidArgument("bad {}", 1)), 1100);
  EXPECT_EQ(MilvusCode(Err(StatusCode::kNotFound, Reason::kNone)), 1100);
  EXPECT_EQ(MilvusCode(Err(StatusCode::kAlreadyExists, Reason::kNone)), 1100);
  EXPECT_EQ(MilvusCode(Err(StatusCode::kFailedPrecondition, Reason::kNone)), 1100);
  EXPECT_EQ(MilvusCode(Err(StatusCode::kResourceExhausted, Reason::kNone)), 1102);
  EXPECT_EQ(MilvusCode(Err(StatusCode::kUnimplemented, Reason::kNone)), 10);
  EXPECT_EQ(MilvusCode(Internal("oops")), 5);
  EXPECT_EQ(MilvusCode(IOError("disk")), 5);
  EXPECT_EQ(MilvusCode(Corruption("bits")), 5);
  EXPECT_EQ(MilvusCode(Status::OK()), 0);
}

TEST(StatusMapTest, OkStatus) {
  mc::Status out;
  out.set_code(42);
  out.set_reason("stale");
  (*out.mutable_extra_info())["x"] = "y";
  ToMilvusStatus(Status::OK(), &out);
  EXPECT_EQ(out.code(), 0);
  EXPECT_EQ(out.error_code(), mc::Success);
  EXPECT_EQ(static_cast<int>(out.error_code()), 0);
  EXPECT_TRUE(out.reason().empty());
  EXPECT_TRUE(out.extra_info().empty());
}

TEST(StatusMapTest, CollectionNotFoundStatus) {
  mc::Status out;
  ToMilvusStatus(MakeStatus(StatusCode::kNotFound, Reason::kCollectionNotFound, "collection not found[collection={}]",
                            "c1"),
                 &out);
  EXPECT_EQ(out.code(), 100);
  EXPECT_EQ(out.error_code(), mc::CollectionNotExists);
  EXPECT_EQ(static_cast<int>(out.error_code()), 4);
  EXPECT_EQ(out.reason(), "collection not found[collection=c1]");
  EXPECT_FALSE(out.retriable());
  ASSERT_EQ(out.extra_info().count("is_input_error"), 1u);
  EXPECT_EQ(out.extra_info().at("is_input_error"), "true");
}

TEST(StatusMapTest, InvalidArgumentStatus) {
  mc::Status out;
  ToMilvusStatus(InvalidArgument("dim {} out of range", 0), &out);
  EXPECT_EQ(out.code(), 1100);
  EXPECT_EQ(out.error_code(), mc::IllegalArgument);
  EXPECT_EQ(static_cast<int>(out.error_code()), 5);
  EXPECT_EQ(out.reason(), "dim 0 out of range");
  EXPECT_EQ(out.extra_info().at("is_input_error"), "true");
}

TEST(StatusMapTest, LegacyErrorCodes) {
  mc::Status out;
  ToMilvusStatus(Err(StatusCode::kNotFound, Reason::kIndexNotFound), &out);
  EXPECT_EQ(out.error_code(), mc::IndexNotExist);
  ToMilvusStatus(Err(StatusCode::kNotFound, Reason::kPartitionNotFound), &out);
  EXPECT_EQ(out.error_code(), mc::MetaFailed);
  ToMilvusStatus(Err(StatusCode::kNotFound, Reason::kDatabaseNotFound), &out);
  EXPECT_EQ(out.code(), 800);
  EXPECT_EQ(out.error_code(), mc::UnexpectedError);
}

TEST(StatusMapTest, InputErrorFlagOnlyForUserErrors) {
  for (StatusCode c : {StatusCode::kInvalidArgument, StatusCode::kNotFound, StatusCode::kAlreadyExists,
                       StatusCode::kFailedPrecondition}) {
    mc::Status out;
    ToMilvusStatus(Err(c, Reason::kNone), &out);
    EXPECT_EQ(out.extra_info().count("is_input_error"), 1u) << static_cast<int>(c);
  }
  for (StatusCode c : {StatusCode::kInternal, StatusCode::kIOError, StatusCode::kCorruption,
                       StatusCode::kUnimplemented}) {
    mc::Status out;
    ToMilvusStatus(Err(c, Reason::kNone), &out);
    EXPECT_EQ(out.extra_info().count("is_input_error"), 0u) << static_cast<int>(c);
    EXPECT_NE(out.code(), 0);
    EXPECT_EQ(out.error_code(), mc::UnexpectedError);
  }
}

TEST(StatusMapTest, UnimplementedStatus) {
  mc::Status out;
  ToMilvusStatus(Err(StatusCode::kUnimplemented, Reason::kNone), &out);
  EXPECT_EQ(out.code(), 10);
  EXPECT_EQ(out.reason(), "boom");
}

TEST(StatusMapTest, ReusedOutputIsCleared) {
  mc::Status out;
  ToMilvusStatus(InvalidArgument("x"), &out);
  ASSERT_FALSE(out.extra_info().empty());
  ToMilvusStatus(Internal("y"), &out);
  EXPECT_EQ(out.code(), 5);
  EXPECT_EQ(out.reason(), "y");
  EXPECT_TRUE(out.extra_info().empty());
}

TEST(StatusMapTest, WalBackendDownIsRetriableServiceUnavailable) {
  mc::Status out;
  ToMilvusStatus(MakeStatus(StatusCode::kIOError, Reason::kServiceUnavailable, "service unavailable[reason=x]"),
                 &out);
  EXPECT_EQ(out.code(), 2);  // merr ErrServiceUnavailable
  EXPECT_TRUE(out.retriable());
  EXPECT_EQ(out.extra_info().count("is_input_error"), 0u);
  ToMilvusStatus(MakeStatus(StatusCode::kFailedPrecondition, Reason::kChannelNotAvailable, "fenced"), &out);
  EXPECT_EQ(out.code(), 503);  // merr ErrChannelNotAvailable
  EXPECT_FALSE(out.retriable());
}

}  // namespace
}  // namespace kite::rpc

namespace kite::rpc {
namespace {

// Resource-group, import, loaded-collection and privilege errors carry a
// Reason per merr leaf; the code follows the Reason, never the text.
TEST(StatusMapTest, MerrLeafReasonsNameTheirCodes) {
  const std::pair<Reason, int32_t> kCases[] = {
      {Reason::kCollectionLoaded, 104},
      {Reason::kResourceGroupNotFound, 300},
      {Reason::kResourceGroupAlreadyExist, 301},
      {Reason::kResourceGroupReachLimit, 302},
      {Reason::kResourceGroupIllegalConfig, 303},
      {Reason::kResourceGroupNodeNotEnough, 304},
      {Reason::kResourceGroupServiceAvailable, 305},
      {Reason::kImportFailed, 2100},
      {Reason::kPrivilegeNotAuthenticated, 1400},
      {Reason::kPrivilegeNotPermitted, 1401},
  };
  for (const auto& [reason, code] : kCases) {
    EXPECT_EQ(MilvusCode(MakeStatus(StatusCode::kFailedPrecondition, reason, "x")), code) << code;
  }
  mc::Status out;
  ToMilvusStatus(MakeStatus(StatusCode::kIOError, Reason::kResourceGroupServiceAvailable,
                            "resource group service available"),
                 &out);
  EXPECT_TRUE(out.retriable());  // merr ErrResourceGroupServiceAvailable is retriable
  ToMilvusStatus(MakeStatus(StatusCode::kNotFound, Reason::kResourceGroupNotFound, "resource group not found[rg=a]"),
                 &out);
  EXPECT_FALSE(out.retriable());
}

// The text alone names no code: a message that merely reads like a merr leaf
// (a user's string quoted back, a wrapped plain error) keeps its own code.
TEST(StatusMapTest, MerrLeafTextsWithoutReasonKeepTheirDomainCode) {
  EXPECT_EQ(MilvusCode(MakeStatus(StatusCode::kNotFound, Reason::kNone, "resource group not found[rg=a]")), 1100);
  EXPECT_EQ(MilvusCode(InvalidArgument("x: importing data failed")), 1100);
  EXPECT_EQ(MilvusCode(MakeStatus(StatusCode::kFailedPrecondition, Reason::kNone, "x: privilege not permitted")), 1100);
  EXPECT_EQ(MilvusCode(MakeStatus(StatusCode::kIOError, Reason::kNone, "resource group service available")), 5);
  EXPECT_EQ(MilvusCode(Unclassified("call query coordinator LoadCollection: resource group not found[rg=a]")), 65535);
}

}  // namespace
}  // namespace kite::rpc
