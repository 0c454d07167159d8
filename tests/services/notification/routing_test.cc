#include "services/notification/routing.h"

#include <fstream>

#include "common/config/textproto.h"
#include "gtest/gtest.h"
#include "services/notification/subscriptions.h"
#include "tests/support/test_support.h"

namespace signpost::notification {
namespace {

v1::SubscriptionList Example() {
  v1::SubscriptionList list;
  EXPECT_TRUE(
      config::LoadTextProto(
          testing::SourcePath("examples/subscriptions.textproto"), &list)
          .ok());
  return list;
}

std::vector<std::string> Agencies(const std::vector<DeliveryTarget>& targets) {
  std::vector<std::string> out;
  for (const auto& t : targets) out.push_back(t.agency_id);
  return out;
}

TEST(RoutingTest, ExampleSubscriptionsAreValid) {
  EXPECT_TRUE(ValidateSubscriptions(Example()).ok());
}

TEST(RoutingTest, AgencyGetsOnlyTheTypesItSubscribedTo) {
  ReferralContext ctx{"WMP", false, false, ""};
  EXPECT_EQ(Agencies(RouteEvent(Example(), "signpost.v1.OrderRecorded", ctx)),
            std::vector<std::string>{"police-vawg-wmp"});
}

TEST(RoutingTest, MaracOnlyAgencyGetsOnlyMaracReferrals) {
  ReferralContext standard{"WMP", false, false, ""};
  ReferralContext marac{"WMP", false, true, ""};
  auto a =
      Agencies(RouteEvent(Example(), "signpost.v1.ReferralTriaged", standard));
  auto b =
      Agencies(RouteEvent(Example(), "signpost.v1.ReferralTriaged", marac));
  EXPECT_EQ(std::count(a.begin(), a.end(), "marac-coordinator-wmp"), 0);
  EXPECT_EQ(std::count(b.begin(), b.end(), "marac-coordinator-wmp"), 1);
}

TEST(RoutingTest, WithoutConsentOnlyMaracWithLegalBasis) {
  ReferralContext ctx{"WMP", true, true, "DPA2018-SCH1-PARA18"};
  auto targets = RouteEvent(Example(), "signpost.v1.ReferralTriaged", ctx);
  ASSERT_EQ(targets.size(), 1u);
  EXPECT_EQ(targets[0].agency_id, "marac-coordinator-wmp");
  EXPECT_EQ(targets[0].legal_basis, "DPA2018-SCH1-PARA18");
  ctx.marac = false;
  EXPECT_TRUE(
      RouteEvent(Example(), "signpost.v1.ReferralTriaged", ctx).empty());
}

TEST(RoutingTest, AreaFilterApplies) {
  ReferralContext elsewhere{"GMP", false, false, ""};
  EXPECT_EQ(
      Agencies(RouteEvent(Example(), "signpost.v1.ReferralTriaged", elsewhere)),
      std::vector<std::string>{"referrer-closed-loop"});
}

TEST(RoutingTest, UnknownEventTypeInSubscriptionsIsRefused) {
  v1::SubscriptionList list;
  auto* s = list.add_subscriptions();
  s->set_agency_id("x");
  s->add_event_types("signpost.v1.NoSuchEvent");
  absl::Status status = ValidateSubscriptions(list);
  EXPECT_NE(status.message().find("unknown event type"), std::string::npos);
}

TEST(RoutingTest, OnlyTriageAndReassessmentCarryADecision) {
  v1::EventEnvelope received;
  received.mutable_referral_received();
  EXPECT_EQ(TriageDecisionOf(received), nullptr);
  v1::EventEnvelope triaged;
  triaged.mutable_referral_triaged()->set_area_code("WMP");
  ASSERT_NE(TriageDecisionOf(triaged), nullptr);
  EXPECT_EQ(TriageDecisionOf(triaged)->area_code(), "WMP");
  v1::EventEnvelope reassessed;
  reassessed.mutable_referral_reassessed()->mutable_decision()->set_area_code(
      "GMP");
  ASSERT_NE(TriageDecisionOf(reassessed), nullptr);
  EXPECT_EQ(TriageDecisionOf(reassessed)->area_code(), "GMP");
}

TEST(RoutingTest, OnlyARoutedDecisionNeedsNoConsent) {
  v1::ReferralTriaged decision;
  decision.set_area_code("WMP");
  decision.set_marac(true);
  decision.set_legal_basis("DPA2018-SCH1-PARA18");
  for (v1::ReferralStatus status :
       {v1::REFERRAL_STATUS_CONSENT_REQUIRED, v1::REFERRAL_STATUS_ROUTED}) {
    decision.set_status(status);
    ReferralContext ctx = ContextOf(decision);
    EXPECT_EQ(ctx.area_code, "WMP");
    EXPECT_TRUE(ctx.marac);
    EXPECT_EQ(ctx.legal_basis, "DPA2018-SCH1-PARA18");
    EXPECT_EQ(ctx.consent_required, status != v1::REFERRAL_STATUS_ROUTED);
  }
}

TEST(SubscriptionsTest, ExampleFileLoads) {
  auto list = LoadSubscriptions(
      testing::SourcePath("examples/subscriptions.textproto"));
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_GT(list->subscriptions_size(), 0);
}

TEST(SubscriptionsTest, MissingOrInvalidFileIsRefused) {
  testing::TempDir dir;
  EXPECT_EQ(LoadSubscriptions(dir.File("absent.textproto")).status().code(),
            absl::StatusCode::kInvalidArgument);
  std::string path = dir.File("bad.textproto");
  {
    std::ofstream out(path);
    out << "subscriptions { agency_id: \"x\" event_types: "
           "\"signpost.v1.NoSuchEvent\" }\n";
  }
  absl::Status status = LoadSubscriptions(path).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("unknown event type"), std::string::npos);
}

}  // namespace
}  // namespace signpost::notification
