// The shared ReportingService adapter over an in-process server (mutual
// TLS, each call as a registered agency): commissioners get their own
// areas, operators and auditors any; providers, referrers and other areas'
// commissioners are refused; every bad field is named at once; the use case
// is not asked when the call is refused.
#include "common/reporting/reporting_service.h"

#include <atomic>
#include <string>
#include <vector>

#include "common/time/timestamps.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/test_support.h"

namespace signpost::reporting {
namespace {

using ::testing::ElementsAre;

class ReportingServiceTest : public ::testing::Test {
 protected:
  ReportingServiceTest()
      : db_(Open(dir_)),
        gate_(*db_, "test"),
        api_(
            "test", 5,
            [this](const FigureQuery& q)
                -> absl::StatusOr<std::vector<v1::Figure>> {
              ++calls_;
              FigureBuilder b(q.threshold);
              b.Count("referrals", {{"source", "X"}}, "count", 7);
              b.Count("referrals", {{"source", "Y"}}, "count", 4);
              return b.Take();
            },
            gate_.gate()),
        server_({&api_}) {}

  static std::unique_ptr<store::Database> Open(const testing::TempDir& dir) {
    auto db = store::Database::Open(dir.File("r.db"), {});
    EXPECT_TRUE(db.ok()) << db.status();
    return db.ok() ? std::move(*db) : nullptr;
  }

  v1::GetFiguresRequest Request(const std::string& area) {
    v1::GetFiguresRequest r;
    r.set_area_code(area);
    *r.mutable_from() =
        timeutil::ToTimestamp(absl::FromUnixSeconds(1704067200));
    *r.mutable_to() = timeutil::ToTimestamp(absl::FromUnixSeconds(1735689600));
    return r;
  }
  grpc::Status Call(const std::string& agency, const v1::GetFiguresRequest& r,
                    v1::GetFiguresResponse* out) {
    auto stub = v1::ReportingService::NewStub(server_.ChannelAs(agency));
    auto context = testing::ContextWithDeadline();
    return stub->GetFigures(context.get(), r, out);
  }

  testing::TempDir dir_;
  std::unique_ptr<store::Database> db_;
  testing::TestGate gate_;
  std::atomic<int> calls_{0};
  ReportingServiceImpl api_;
  testing::InProcessServer server_;
};

TEST_F(ReportingServiceTest, CommissionerGetsItsAreasFiguresSuppressed) {
  v1::GetFiguresResponse resp;
  grpc::Status s = Call("pcc-wmp", Request("WMP"), &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resp.producer(), "test");
  EXPECT_EQ(resp.area_code(), "WMP");
  EXPECT_EQ(resp.suppression_threshold(), 5);
  EXPECT_EQ(resp.from().seconds(), 1704067200);
  ASSERT_EQ(resp.figures_size(), 2);
  EXPECT_EQ(resp.figures(0).value(), 7);
  EXPECT_TRUE(resp.figures(1).suppressed());
  EXPECT_EQ(resp.figures(1).base(), 0);
}

TEST_F(ReportingServiceTest, OperatorAndAuditorSeeAnyArea) {
  v1::GetFiguresResponse resp;
  EXPECT_TRUE(Call("signpost-operator", Request("WYP"), &resp).ok());
  EXPECT_TRUE(Call("signpost-auditor", Request("GMP"), &resp).ok());
}

TEST_F(ReportingServiceTest, OtherCallersAreRefusedBeforeAnyFigureIsMade) {
  v1::GetFiguresResponse resp;
  for (const char* agency : {"pcc-wyp", "wm-idva-service", "police-wmp"}) {
    grpc::Status s = Call(agency, Request("WMP"), &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << agency;
  }
  EXPECT_THAT(testing::RuleIds(Call("pcc-wyp", Request("WMP"), &resp)),
              ElementsAre(access::kRuleOwnArea));
  EXPECT_EQ(calls_.load(), 0);
}

TEST_F(ReportingServiceTest, EveryBadFieldIsNamed) {
  v1::GetFiguresResponse resp;
  grpc::Status s = Call("signpost-operator", v1::GetFiguresRequest(), &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(testing::BadFields(s), ElementsAre("area_code", "from", "to"));
  v1::GetFiguresRequest backwards = Request("WMP");
  std::swap(*backwards.mutable_from(), *backwards.mutable_to());
  s = Call("signpost-operator", backwards, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(testing::BadFields(s), ElementsAre("to"));
  EXPECT_EQ(calls_.load(), 0);
}

}  // namespace
}  // namespace signpost::reporting
