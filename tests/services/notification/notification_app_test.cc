#include "services/notification/notification_app.h"

#include <optional>
#include <string>
#include <vector>

#include "common/access/authz.h"
#include "common/events/envelope.h"
#include "common/status/macros.h"
#include "common/store/outbox.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/notification/notification_store.h"
#include "services/notification/subscriptions.h"
#include "tests/support/test_support.h"

namespace signpost::notification {
namespace {

constexpr char kTraceparent[] =
    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

class NotificationAppTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = store::Database::Open(dir_.File("n.db"),
                                    NotificationStore::Migrations());
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
    auto list = LoadSubscriptions(
        testing::SourcePath("examples/subscriptions.textproto"));
    ASSERT_TRUE(list.ok()) << list.status();
    app_ = std::make_unique<NotificationApp>(*db_, std::move(*list));
  }
  static v1::EventEnvelope Stamped(v1::EventEnvelope env) {
    events::StampType(&env);
    return env;
  }
  // What the event consumer does: one transaction that claims the inbox
  // (a redelivered event does nothing) and then hands the event over.
  absl::StatusOr<int> Deliver(const v1::EventEnvelope& env) {
    return db_->Write([&](store::Tx& tx) -> absl::StatusOr<int> {
      ASSIGN_OR_RETURN(bool claimed, store::ClaimInbox(tx, env));
      if (!claimed) return 0;
      return app_->Deliver(tx, env, kTraceparent);
    });
  }
  // The referral's deliveries as `caller` sees them (by default the
  // operator, who sees every agency's).
  DeliveryList List(const std::string& referral_id) {
    return List(operator_, referral_id);
  }
  DeliveryList List(const access::Principal& caller,
                    const std::string& referral_id) {
    std::optional<ReferralId> referral;
    if (!referral_id.empty()) referral.emplace(referral_id);
    auto list = app_->ListDeliveries(caller, referral);
    EXPECT_TRUE(list.ok()) << list.status();
    return list.ok() ? *list : DeliveryList();
  }
  static std::vector<std::string> Agencies(const DeliveryList& list) {
    std::vector<std::string> agencies;
    for (const v1::Delivery& d : list.deliveries) {
      agencies.push_back(d.agency_id());
    }
    return agencies;
  }
  testing::TempDir dir_;
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<NotificationApp> app_;
  const access::Principal operator_ = testing::PrincipalOf("signpost-operator");
};

TEST_F(NotificationAppTest, EventsWaitForTriageThenAreDelivered) {
  v1::EventEnvelope received = events::NewEnvelope("intake", "r1");
  received.mutable_referral_received()->mutable_facts()->set_area_code("WMP");
  received = Stamped(received);
  EXPECT_EQ(*Deliver(received), 0);
  EXPECT_EQ(List("r1").events_processed, 0);

  v1::EventEnvelope triaged = events::NewEnvelope("triage", "r1", &received);
  triaged.mutable_referral_triaged()->set_area_code("WMP");
  triaged.mutable_referral_triaged()->set_status(v1::REFERRAL_STATUS_ROUTED);
  // referrer-closed-loop gets both; victim-advice-line gets the triage.
  EXPECT_EQ(*Deliver(Stamped(triaged)), 3);
  DeliveryList list = List("r1");
  EXPECT_EQ(list.events_processed, 2);
  EXPECT_EQ(list.deliveries.size(), 3u);
  EXPECT_EQ(store::ListReferralEvents(*db_, "r1")->size(), 3u);
}

TEST_F(NotificationAppTest, RedeliveryHasNoSecondEffect) {
  v1::EventEnvelope triaged = events::NewEnvelope("triage", "r1");
  triaged.mutable_referral_triaged()->set_area_code("WMP");
  triaged.mutable_referral_triaged()->set_status(v1::REFERRAL_STATUS_ROUTED);
  triaged = Stamped(triaged);
  EXPECT_EQ(*Deliver(triaged), 2);
  EXPECT_EQ(*Deliver(triaged), 0);
  EXPECT_EQ(List("r1").deliveries.size(), 2u);
}

TEST_F(NotificationAppTest, ConsentRefusedGoesOnlyToMaracWithLegalBasis) {
  v1::EventEnvelope triaged = events::NewEnvelope("triage", "r9");
  auto* t = triaged.mutable_referral_triaged();
  t->set_area_code("WMP");
  t->set_status(v1::REFERRAL_STATUS_CONSENT_REQUIRED);
  t->set_marac(true);
  t->set_legal_basis("DPA2018-SCH1-PARA18");
  EXPECT_EQ(*Deliver(Stamped(triaged)), 1);
  DeliveryList list = List("r9");
  ASSERT_EQ(list.deliveries.size(), 1u);
  EXPECT_EQ(list.deliveries[0].agency_id(), "marac-coordinator-wmp");
  EXPECT_EQ(list.deliveries[0].legal_basis(), "DPA2018-SCH1-PARA18");
}

TEST_F(NotificationAppTest, ReassessmentReplacesTheContext) {
  v1::EventEnvelope triaged = events::NewEnvelope("triage", "r5");
  auto* t = triaged.mutable_referral_triaged();
  t->set_area_code("WMP");
  t->set_status(v1::REFERRAL_STATUS_CONSENT_REQUIRED);
  t->set_marac(false);
  EXPECT_EQ(*Deliver(Stamped(triaged)), 0);  // no consent, no MARAC
  v1::EventEnvelope reassessed = events::NewEnvelope("triage", "r5", &triaged);
  auto* d = reassessed.mutable_referral_reassessed()->mutable_decision();
  d->set_area_code("WMP");
  d->set_status(v1::REFERRAL_STATUS_ROUTED);
  EXPECT_GT(*Deliver(Stamped(reassessed)), 0);
  for (const v1::Delivery& delivery : List("r5").deliveries) {
    EXPECT_EQ(delivery.event_type(), "signpost.v1.ReferralReassessed");
    EXPECT_EQ(delivery.legal_basis(), "");
  }
}

TEST_F(NotificationAppTest, EveryDeliveryHasOneDeliveryRecordedEvent) {
  v1::EventEnvelope triaged = events::NewEnvelope("triage", "r2");
  triaged.mutable_referral_triaged()->set_area_code("WMP");
  triaged.mutable_referral_triaged()->set_status(v1::REFERRAL_STATUS_ROUTED);
  triaged = Stamped(triaged);
  ASSERT_EQ(*Deliver(triaged), 2);
  auto events = store::ListReferralEvents(*db_, "r2");
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 2u);
  DeliveryList list = List("r2");
  for (const store::StoredEvent& e : *events) {
    EXPECT_EQ(e.topic, events::kNotificationTopic);
    ASSERT_TRUE(e.envelope.has_delivery_recorded());
    EXPECT_EQ(e.envelope.causation_id(), triaged.event_id());
    EXPECT_EQ(e.envelope.delivery_recorded().delivered_event_id(),
              triaged.event_id());
  }
}

TEST_F(NotificationAppTest, DeliveredAtIsMillisecondTruncated) {
  v1::EventEnvelope triaged = events::NewEnvelope("triage", "r3");
  triaged.mutable_referral_triaged()->set_area_code("WMP");
  triaged.mutable_referral_triaged()->set_status(v1::REFERRAL_STATUS_ROUTED);
  ASSERT_EQ(*Deliver(Stamped(triaged)), 2);
  DeliveryList list = List("r3");
  ASSERT_EQ(list.deliveries.size(), 2u);
  for (const v1::Delivery& d : list.deliveries) {
    EXPECT_GT(d.delivered_at().seconds(), 0);
    EXPECT_EQ(d.delivered_at().nanos() % 1000000, 0);
    EXPECT_EQ(d.delivered_at().seconds(),
              list.deliveries[0].delivered_at().seconds());
    EXPECT_EQ(d.delivered_at().nanos(),
              list.deliveries[0].delivered_at().nanos());
  }
}

TEST_F(NotificationAppTest, AnAgencySeesOnlyItsOwnDeliveries) {
  // A routed referral: the victim advice line gets the triage, MARAC
  // nothing, the referrers' closed loop both events.
  v1::EventEnvelope received = events::NewEnvelope("intake", "r7");
  received.mutable_referral_received()->mutable_facts()->set_area_code("WMP");
  received = Stamped(received);
  ASSERT_EQ(*Deliver(received), 0);
  v1::EventEnvelope triaged = events::NewEnvelope("triage", "r7", &received);
  triaged.mutable_referral_triaged()->set_area_code("WMP");
  triaged.mutable_referral_triaged()->set_status(v1::REFERRAL_STATUS_ROUTED);
  ASSERT_EQ(*Deliver(Stamped(triaged)), 3);
  // And a consent-refused MARAC referral: MARAC only.
  v1::EventEnvelope marac = events::NewEnvelope("triage", "r8");
  marac.mutable_referral_triaged()->set_area_code("WMP");
  marac.mutable_referral_triaged()->set_status(
      v1::REFERRAL_STATUS_CONSENT_REQUIRED);
  marac.mutable_referral_triaged()->set_marac(true);
  marac.mutable_referral_triaged()->set_legal_basis("DPA2018-SCH1-PARA18");
  ASSERT_EQ(*Deliver(Stamped(marac)), 1);

  const access::Principal advice_line =
      testing::PrincipalOf("victim-advice-line-wmp");
  const access::Principal marac_coordinator =
      testing::PrincipalOf("marac-coordinator-wmp");
  const access::Principal police = testing::PrincipalOf("police-wmp");
  using ::testing::ElementsAre;
  using ::testing::IsEmpty;
  using ::testing::UnorderedElementsAre;
  // One referral's...
  EXPECT_THAT(Agencies(List(advice_line, "r7")),
              ElementsAre("victim-advice-line-wmp"));
  EXPECT_THAT(Agencies(List(marac_coordinator, "r7")), IsEmpty());
  EXPECT_THAT(Agencies(List(police, "r7")), IsEmpty());
  EXPECT_THAT(Agencies(List(marac_coordinator, "r8")),
              ElementsAre("marac-coordinator-wmp"));
  // ...and the recent ones.
  EXPECT_THAT(Agencies(List(advice_line, "")),
              ElementsAre("victim-advice-line-wmp"));
  EXPECT_THAT(Agencies(List(marac_coordinator, "")),
              ElementsAre("marac-coordinator-wmp"));
  EXPECT_THAT(Agencies(List(police, "")), IsEmpty());
  // The operator and the auditor see every agency's.
  for (const access::Principal& oversight :
       {operator_, testing::PrincipalOf("signpost-auditor")}) {
    const std::string who = oversight.agency_id().value();
    EXPECT_THAT(
        Agencies(List(oversight, "r7")),
        UnorderedElementsAre("referrer-closed-loop", "referrer-closed-loop",
                             "victim-advice-line-wmp"))
        << who;
    EXPECT_EQ(List(oversight, "").deliveries.size(), 4u) << who;
  }
}

}  // namespace
}  // namespace signpost::notification
