#include "common/grpc/status.h"

#include "common/errors/errors.h"
#include "gtest/gtest.h"

namespace signpost::grpcutil {
namespace {

TEST(StatusTest, FieldErrorsBecomeInvalidArgumentWithEveryViolation) {
  errors::FieldErrors errors;
  errors.Add("referral.victim.age", "must be between 0 and 130");
  errors.Add("referral.source", "is required");
  grpc::Status s = ToGrpcStatus(errors.ToStatus());
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  google::rpc::BadRequest bad;
  ASSERT_TRUE(ExtractBadRequest(s, &bad));
  ASSERT_EQ(bad.field_violations_size(), 2);
  EXPECT_EQ(bad.field_violations(0).field(), "referral.victim.age");
  EXPECT_EQ(bad.field_violations(0).description(), "must be between 0 and 130");
  EXPECT_EQ(bad.field_violations(1).field(), "referral.source");
}

TEST(StatusTest, RuleViolationIsFailedPreconditionNamingTheRule) {
  grpc::Status s =
      ToGrpcStatus(errors::RuleViolation("ORDER-LIFECYCLE", "state", "no"));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(s.error_message().find("ORDER-LIFECYCLE"), std::string::npos);
  google::rpc::PreconditionFailure failure;
  ASSERT_TRUE(ExtractPreconditionFailure(s, &failure));
  EXPECT_EQ(failure.violations(0).type(), "ORDER-LIFECYCLE");
  EXPECT_EQ(failure.violations(0).subject(), "state");
}

TEST(StatusTest, UnknownIsNeverAnswered) {
  EXPECT_EQ(ToGrpcStatus(absl::UnknownError("x")).error_code(),
            grpc::StatusCode::INTERNAL);
  EXPECT_EQ(ToGrpcStatus(absl::NotFoundError("x")).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(ToGrpcStatus(absl::CancelledError("x")).error_code(),
            grpc::StatusCode::CANCELLED);
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
}

TEST(StatusTest, PlainErrorsCarryNoDetails) {
  grpc::Status s = ToGrpcStatus(absl::NotFoundError("no referral r-1"));
  EXPECT_EQ(s.error_message(), "no referral r-1");
  EXPECT_TRUE(s.error_details().empty());
}

}  // namespace
}  // namespace signpost::grpcutil
