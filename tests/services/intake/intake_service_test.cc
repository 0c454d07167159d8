// The intake gRPC adapter over an in-process server and a real SQLite file.
#include "services/intake/intake_service.h"

#include <atomic>

#include "common/grpc/status.h"
#include "common/ids/ids.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "services/intake/intake_app.h"
#include "services/intake/intake_store.h"
#include "signpost/v1/intake.grpc.pb.h"
#include "tests/support/test_support.h"

namespace signpost::intake {
namespace {

using ::testing::UnorderedElementsAre;

class IntakeServiceTest : public ::testing::Test {
 protected:
  IntakeServiceTest()
      : db_(OpenDb(dir_)),
        app_(*db_),
        api_(
            app_, [this] { ++wakes_; }, executor_),
        server_({&api_}),
        stub_(v1::IntakeService::NewStub(server_.channel())) {}

  static std::unique_ptr<store::Database> OpenDb(const testing::TempDir& dir) {
    auto db =
        store::Database::Open(dir.File("intake.db"), IntakeStore::Migrations());
    EXPECT_TRUE(db.ok()) << db.status();
    return db.ok() ? std::move(*db) : nullptr;
  }

  grpc::Status Submit(const v1::SubmitReferralRequest& request,
                      v1::SubmitReferralResponse* response) {
    auto context = testing::ContextWithDeadline();
    return stub_->SubmitReferral(context.get(), request, response);
  }
  grpc::Status Get(const std::string& referral_id,
                   v1::GetReferralResponse* response) {
    v1::GetReferralRequest request;
    request.set_referral_id(referral_id);
    auto context = testing::ContextWithDeadline();
    return stub_->GetReferral(context.get(), request, response);
  }

  testing::TempDir dir_;
  std::unique_ptr<store::Database> db_;
  IntakeApp app_;
  std::atomic<int> wakes_{0};
  grpcutil::Executor executor_{2};
  IntakeServiceImpl api_;
  testing::InProcessServer server_;
  std::unique_ptr<v1::IntakeService::Stub> stub_;
};

TEST_F(IntakeServiceTest, BadSubmissionNamesEveryBadField) {
  v1::SubmitReferralRequest request =
      testing::LoadExample("t01_strangulation_punjabi");
  request.clear_idempotency_key();
  request.mutable_referral()->set_source(v1::REFERRAL_SOURCE_UNSPECIFIED);
  request.mutable_referral()->mutable_victim()->set_age(-1);
  request.mutable_referral()->mutable_personal()->set_email("no-at-sign");
  v1::SubmitReferralResponse response;
  grpc::Status status = Submit(request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(
      testing::BadFields(status),
      UnorderedElementsAre("idempotency_key", "referral.source",
                           "referral.victim.age", "referral.personal.email"));
  EXPECT_EQ(*app_.CountReferrals(), 0);
  EXPECT_EQ(wakes_.load(), 0);
}

TEST_F(IntakeServiceTest, MalformedReferralIdIsInvalidArgument) {
  v1::GetReferralResponse response;
  grpc::Status status = Get("not-a-uuid", &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(testing::BadFields(status), UnorderedElementsAre("referral_id"));
}

TEST_F(IntakeServiceTest, UnknownReferralIsNotFound) {
  v1::GetReferralResponse response;
  EXPECT_EQ(Get(NewUuid(), &response).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(IntakeServiceTest, SubmittedReferralCanBeReadBackAndRetried) {
  v1::SubmitReferralRequest request =
      testing::LoadExample("t01_strangulation_punjabi");
  v1::SubmitReferralResponse first;
  grpc::Status status = Submit(request, &first);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(IsUuid(first.referral_id()));
  EXPECT_FALSE(first.duplicate());
  EXPECT_EQ(wakes_.load(), 1);

  v1::GetReferralResponse got;
  status = Get(first.referral_id(), &got);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(got.referral_id(), first.referral_id());
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(
      got.referral(), request.referral()));

  v1::SubmitReferralResponse retry;
  status = Submit(request, &retry);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(retry.duplicate());
  EXPECT_EQ(retry.referral_id(), first.referral_id());
  EXPECT_EQ(*app_.CountReferrals(), 1);
}

TEST_F(IntakeServiceTest, ReusedKeyIsFailedPrecondition) {
  v1::SubmitReferralRequest request = testing::LoadExample("t02_standard_da");
  v1::SubmitReferralResponse response;
  ASSERT_TRUE(Submit(request, &response).ok());
  request.mutable_referral()->mutable_victim()->set_age(31);
  grpc::Status status = Submit(request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  google::rpc::PreconditionFailure failure;
  ASSERT_TRUE(grpcutil::ExtractPreconditionFailure(status, &failure));
  ASSERT_EQ(failure.violations_size(), 1);
  EXPECT_EQ(failure.violations(0).type(), "IDEMPOTENCY-KEY-REUSED");
}

// The defect this fixes: SubmitReferral reported whole seconds while
// GetReferral reported the stored milliseconds.
TEST_F(IntakeServiceTest, SubmitAndGetReportTheSameReceivedAt) {
  for (const std::string& example :
       {std::string("t02_standard_da"), std::string("t04_recent_rape_ae"),
        std::string("t08_burglary_self_referral")}) {
    v1::SubmitReferralResponse submitted;
    grpc::Status status = Submit(testing::LoadExample(example), &submitted);
    ASSERT_TRUE(status.ok()) << status.error_message();
    v1::GetReferralResponse got;
    status = Get(submitted.referral_id(), &got);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(submitted.received_at().seconds(), got.received_at().seconds());
    EXPECT_EQ(submitted.received_at().nanos(), got.received_at().nanos());
    EXPECT_EQ(got.received_at().nanos() % 1000000, 0);
    EXPECT_GT(submitted.received_at().seconds(), 0);
  }
}

}  // namespace
}  // namespace signpost::intake
