// The intake gRPC adapter over an in-process server and a real SQLite file.
#include "services/intake/intake_service.h"

#include <atomic>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "common/grpc/status.h"
#include "common/ids/ids.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "services/intake/intake_app.h"
#include "services/intake/intake_store.h"
#include "signpost/v1/intake.grpc.pb.h"
#include "tests/services/intake/intake_fixture.h"
#include "tests/support/test_support.h"

namespace signpost::intake {
namespace {

using ::testing::ElementsAre;
using ::testing::UnorderedElementsAre;

class IntakeServiceTest : public ::testing::Test {
 protected:
  IntakeServiceTest()
      : db_(OpenDb(dir_)),
        app_(*db_, testing::TestPersonKeys(), TestIntakeOptions()),
        gate_(*db_, "intake"),
        api_(
            app_, [this] { ++wakes_; }, gate_.gate()),
        server_({&api_}),
        stub_(StubAs(kPolice)) {}

  static std::unique_ptr<store::Database> OpenDb(const testing::TempDir& dir) {
    auto db =
        store::Database::Open(dir.File("intake.db"), IntakeStore::Migrations());
    EXPECT_TRUE(db.ok()) << db.status();
    return db.ok() ? std::move(*db) : nullptr;
  }

  // A client presenting agency `agency`'s certificate.
  std::unique_ptr<v1::IntakeService::Stub> StubAs(const std::string& agency) {
    return v1::IntakeService::NewStub(server_.ChannelAs(agency));
  }

  // `agency` as a referrer_org code, written the way the examples write
  // theirs (upper-case codes or agency ids).
  static std::string OrgCode(const std::string& agency) {
    const std::string example =
        testing::LoadExample("t02_standard_da").referral().referrer_org();
    return !example.empty() &&
                   absl::ascii_isupper(static_cast<unsigned char>(example[0]))
               ? absl::AsciiStrToUpper(agency)
               : agency;
  }

  // The agency an example referral is submitted as: the one its
  // referrer_org names. A self-referral naming no agency ("SELF") is
  // submitted by the victim advice line that took it, under its own name.
  static std::string SubmitterOf(v1::SubmitReferralRequest& request) {
    if (absl::AsciiStrToLower(request.referral().referrer_org()) == "self") {
      request.mutable_referral()->set_referrer_org(
          OrgCode("victim-advice-line-wmp"));
    }
    return absl::AsciiStrToLower(request.referral().referrer_org());
  }

  grpc::Status Submit(const v1::SubmitReferralRequest& request,
                      v1::SubmitReferralResponse* response) {
    auto context = testing::ContextWithDeadline();
    return stub_->SubmitReferral(context.get(), request, response);
  }
  grpc::Status SubmitAs(const std::string& agency,
                        const v1::SubmitReferralRequest& request,
                        v1::SubmitReferralResponse* response) {
    auto context = testing::ContextWithDeadline();
    return StubAs(agency)->SubmitReferral(context.get(), request, response);
  }
  grpc::Status Get(const std::string& referral_id,
                   v1::GetReferralResponse* response) {
    return GetAs(kPolice, referral_id, response);
  }
  grpc::Status GetAs(const std::string& agency, const std::string& referral_id,
                     v1::GetReferralResponse* response,
                     const std::string& break_glass_reason = "") {
    v1::GetReferralRequest request;
    request.set_referral_id(referral_id);
    request.set_break_glass_reason(break_glass_reason);
    auto context = testing::ContextWithDeadline();
    return StubAs(agency)->GetReferral(context.get(), request, response);
  }

  static constexpr char kPolice[] = "police-wmp";

  testing::TempDir dir_;
  std::unique_ptr<store::Database> db_;
  IntakeApp app_;
  std::atomic<int> wakes_{0};
  testing::TestGate gate_;
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
  EXPECT_EQ(GetAs("signpost-operator", NewUuid(), &response).error_code(),
            grpc::StatusCode::NOT_FOUND);
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
  EXPECT_EQ(got.disclosed(), v1::FIELD_CLASS_PERSONAL);
  // Recorded as the calling agency's: referrer_org is its agency id.
  v1::Referral expected = request.referral();
  expected.set_referrer_org(kPolice);
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(got.referral(),
                                                                 expected))
      << got.referral().DebugString();
  // The audited read woke the relay for its AccessAudited event.
  EXPECT_EQ(wakes_.load(), 2);

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
    v1::SubmitReferralRequest request = testing::LoadExample(example);
    const std::string agency = SubmitterOf(request);
    v1::SubmitReferralResponse submitted;
    grpc::Status status = SubmitAs(agency, request, &submitted);
    ASSERT_TRUE(status.ok()) << example << ": " << status.error_message();
    v1::GetReferralResponse got;
    status = GetAs(agency, submitted.referral_id(), &got);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(submitted.received_at().seconds(), got.received_at().seconds());
    EXPECT_EQ(submitted.received_at().nanos(), got.received_at().nanos());
    EXPECT_EQ(got.received_at().nanos() % 1000000, 0);
    EXPECT_GT(submitted.received_at().seconds(), 0);
  }
}

// --- Authorisation at the adapter: the gate ----------------------------------

TEST_F(IntakeServiceTest, ACallWithoutAClientCertificateFails) {
  auto anonymous = v1::IntakeService::NewStub(server_.AnonymousChannel());
  v1::SubmitReferralResponse response;
  auto context = testing::ContextWithDeadline();
  grpc::Status status = anonymous->SubmitReferral(
      context.get(), testing::LoadExample("t02_standard_da"), &response);
  EXPECT_FALSE(status.ok());
  // Refused at the TLS handshake: the call never reaches the service.
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE)
      << status.error_message();
  EXPECT_EQ(*app_.CountReferrals(), 0);
  EXPECT_EQ(wakes_.load(), 0);
}

TEST_F(IntakeServiceTest, ARoleOutsideTheTableIsRefusedAndAudited) {
  // The commissioner may not refer.
  v1::SubmitReferralRequest request = testing::LoadExample("t02_standard_da");
  request.mutable_referral()->set_referrer_org(OrgCode("pcc-wmp"));
  v1::SubmitReferralResponse response;
  grpc::Status status = SubmitAs("pcc-wmp", request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(testing::RuleIds(status), ElementsAre("AUTHZ-FUNCTION"));
  EXPECT_EQ(*app_.CountReferrals(), 0);
  std::vector<v1::AccessAudited> audits = testing::AccessAudits(*db_);
  ASSERT_EQ(audits.size(), 1u);
  const v1::AccessAudited& audit = audits[0];
  EXPECT_EQ(audit.agency_id(), "pcc-wmp");
  EXPECT_EQ(audit.rpc(), "/signpost.v1.IntakeService/SubmitReferral");
  EXPECT_EQ(audit.decision(), v1::ACCESS_DECISION_REFUSED);
  EXPECT_EQ(audit.rule_id(), "AUTHZ-FUNCTION");
  EXPECT_EQ(audit.status_code(), "PERMISSION_DENIED");
  EXPECT_EQ(audit.field_class(), v1::FIELD_CLASS_NONE);
  EXPECT_TRUE(audit.object_id().empty());
  // Nor may the auditor read a referral.
  v1::GetReferralResponse got;
  status = GetAs("signpost-auditor", NewUuid(), &got);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(testing::RuleIds(status), ElementsAre("AUTHZ-FUNCTION"));
  EXPECT_EQ(testing::AccessAudits(*db_).size(), 2u);
}

TEST_F(IntakeServiceTest, AnotherAgencysReferralIsRefusedAndTheRefusalAudited) {
  v1::SubmitReferralRequest request =
      testing::LoadExample("t01_strangulation_punjabi");
  v1::SubmitReferralResponse submitted;
  ASSERT_TRUE(Submit(request, &submitted).ok());
  v1::GetReferralResponse got;
  grpc::Status status = GetAs("nhs-lth-ae", submitted.referral_id(), &got);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(testing::RuleIds(status), ElementsAre("AUTHZ-OWN-REFERRAL"));
  EXPECT_EQ(
      status.error_message().find(request.referral().personal().full_name()),
      std::string::npos);
  std::vector<v1::AccessAudited> audits = testing::AccessAudits(*db_);
  ASSERT_EQ(audits.size(), 1u);
  EXPECT_EQ(audits[0].agency_id(), "nhs-lth-ae");
  EXPECT_EQ(audits[0].object_id(), submitted.referral_id());
  EXPECT_EQ(audits[0].rule_id(), "AUTHZ-OWN-REFERRAL");
  EXPECT_EQ(audits[0].decision(), v1::ACCESS_DECISION_REFUSED);
}

TEST_F(IntakeServiceTest, ReferrerOrgNamingAnotherAgencyIsRefused) {
  v1::SubmitReferralRequest request = testing::LoadExample("t02_standard_da");
  request.mutable_referral()->set_referrer_org(OrgCode("nhs-lth-ae"));
  v1::SubmitReferralResponse response;
  grpc::Status status = Submit(request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(testing::RuleIds(status), ElementsAre("AUTHZ-OWN-AGENCY"));
  EXPECT_EQ(*app_.CountReferrals(), 0);
  EXPECT_EQ(wakes_.load(), 0);
}

TEST_F(IntakeServiceTest, AnOperatorBreaksTheGlassOverTheWire) {
  v1::SubmitReferralRequest request =
      testing::LoadExample("t01_strangulation_punjabi");
  v1::SubmitReferralResponse submitted;
  ASSERT_TRUE(Submit(request, &submitted).ok());
  v1::GetReferralResponse plain;
  ASSERT_TRUE(GetAs("signpost-operator", submitted.referral_id(), &plain).ok());
  EXPECT_EQ(plain.disclosed(), v1::FIELD_CLASS_IDS_AND_CODES);
  EXPECT_FALSE(plain.referral().has_personal());
  v1::GetReferralResponse glass;
  grpc::Status status =
      GetAs("signpost-operator", submitted.referral_id(), &glass,
            "victim at risk: duty manager approved read");
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(glass.disclosed(), v1::FIELD_CLASS_PERSONAL);
  EXPECT_EQ(glass.referral().personal().full_name(),
            request.referral().personal().full_name());
  std::vector<v1::AccessAudited> audits = testing::AccessAudits(*db_);
  ASSERT_EQ(audits.size(), 1u);
  EXPECT_EQ(audits[0].decision(), v1::ACCESS_DECISION_BREAK_GLASS);
  v1::GetReferralResponse short_reason;
  status = GetAs("signpost-operator", submitted.referral_id(), &short_reason,
                 "because");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(testing::BadFields(status), ElementsAre("break_glass_reason"));
}

}  // namespace
}  // namespace signpost::intake
