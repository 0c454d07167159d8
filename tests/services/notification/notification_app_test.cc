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

// Issue 10: withdrawals, links, releases and erasure.
namespace signpost::notification {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

class WithdrawalAndLinkTest : public NotificationAppTest {
 protected:
  // Delivers `env` (stamped), failing the test on an error.
  int Send(v1::EventEnvelope env) {
    auto made = Deliver(Stamped(std::move(env)));
    EXPECT_TRUE(made.ok()) << made.status();
    return made.ok() ? *made : -1;
  }
  static v1::EventEnvelope Triaged(const std::string& referral_id,
                                   v1::ReferralStatus status, bool marac,
                                   const std::string& legal_basis = "") {
    v1::EventEnvelope e = events::NewEnvelope("triage", referral_id);
    auto* t = e.mutable_referral_triaged();
    t->set_area_code("WMP");
    t->set_status(status);
    t->set_marac(marac);
    t->set_legal_basis(legal_basis);
    return e;
  }
  static v1::EventEnvelope Withdrawn(const std::string& referral_id) {
    v1::EventEnvelope e = events::NewEnvelope("intake", referral_id);
    e.mutable_referral_withdrawn()->set_reason(
        v1::WITHDRAWAL_REASON_CONSENT_WITHDRAWN);
    e.mutable_referral_withdrawn()->set_recorded_by("police-wmp");
    return e;
  }
  static v1::EventEnvelope Advocacy(const std::string& referral_id,
                                    const std::string& payload) {
    v1::EventEnvelope e = events::NewEnvelope("advocacy", referral_id);
    if (payload == "offered") {
      e.mutable_advocate_offered()->set_assignment_id("a1");
    } else if (payload == "accepted") {
      e.mutable_assignment_accepted()->set_assignment_id("a1");
    } else if (payload == "contact") {
      e.mutable_first_contact_recorded()->set_assignment_id("a1");
    } else if (payload == "closed") {
      e.mutable_case_closed()->set_assignment_id("a1");
    } else if (payload == "released") {
      e.mutable_assignment_released()->set_assignment_id("a1");
      e.mutable_assignment_released()->set_reason_code("REFERRAL_WITHDRAWN");
    }
    return e;
  }
  // (agency, legal basis) of the referral's deliveries of `type`.
  std::vector<std::pair<std::string, std::string>> Of(
      const std::string& referral_id, const std::string& type) {
    std::vector<std::pair<std::string, std::string>> out;
    for (const v1::Delivery& d : List(referral_id).deliveries) {
      if (d.event_type() == "signpost.v1." + type) {
        out.emplace_back(d.agency_id(), d.legal_basis());
      }
    }
    return out;
  }
};

TEST_F(WithdrawalAndLinkTest, AWithdrawalGoesToEveryAgencyToldWithItsBasis) {
  // A routed MARAC referral: MARAC, the advice line and the closed loop told;
  // the advice line also of the offer.
  ASSERT_EQ(Send(Triaged("r1", v1::REFERRAL_STATUS_ROUTED, true)), 3);
  ASSERT_EQ(Send(Advocacy("r1", "offered")), 1);
  EXPECT_EQ(Send(Withdrawn("r1")), 3);
  EXPECT_THAT(Of("r1", "ReferralWithdrawn"),
              UnorderedElementsAre(Pair("marac-coordinator-wmp", ""),
                                   Pair("victim-advice-line-wmp", ""),
                                   Pair("referrer-closed-loop", "")));
  // Shared without consent (MARAC): only MARAC was told, on its legal basis,
  // so only MARAC hears of the withdrawal, on the same basis.
  ASSERT_EQ(Send(Triaged("r2", v1::REFERRAL_STATUS_CONSENT_REQUIRED, true,
                         "DPA2018-SCH1-PARA18")),
            1);
  EXPECT_EQ(Send(Withdrawn("r2")), 1);
  EXPECT_THAT(
      Of("r2", "ReferralWithdrawn"),
      ElementsAre(Pair("marac-coordinator-wmp", "DPA2018-SCH1-PARA18")));
  // Nobody told: nobody to tell.
  ASSERT_EQ(Send(Triaged("r3", v1::REFERRAL_STATUS_CONSENT_REQUIRED, false)),
            0);
  EXPECT_EQ(Send(Withdrawn("r3")), 0);
}

TEST_F(WithdrawalAndLinkTest,
       AReleaseReachesTheProviderAfterConsentIsWithdrawn) {
  ASSERT_EQ(Send(Triaged("r1", v1::REFERRAL_STATUS_ROUTED, false)), 2);
  ASSERT_EQ(Send(Advocacy("r1", "offered")), 1);
  // Triage's withdrawal closes the consent gate before advocacy's release
  // arrives: the subscribers already told still hear that support stopped.
  const v1::ReferralTriaged decision =
      Triaged("r1", v1::REFERRAL_STATUS_WITHDRAWN, false).referral_triaged();
  v1::EventEnvelope withdrawn = events::NewEnvelope("triage", "r1");
  *withdrawn.mutable_referral_reassessed()->mutable_decision() = decision;
  ASSERT_EQ(Send(withdrawn), 0);
  EXPECT_EQ(Send(Advocacy("r1", "released")), 2);
  EXPECT_THAT(Of("r1", "AssignmentReleased"),
              UnorderedElementsAre(Pair("victim-advice-line-wmp", ""),
                                   Pair("referrer-closed-loop", "")));
  // Anything else now stays behind the gate.
  EXPECT_EQ(Send(Advocacy("r1", "offered")), 0);
  // With consent still given (a pathway dropped), a release goes to the
  // subscribers as any assignment outcome does.
  ASSERT_EQ(Send(Triaged("r2", v1::REFERRAL_STATUS_ROUTED, false)), 2);
  EXPECT_EQ(Send(Advocacy("r2", "released")), 2);
}

TEST_F(WithdrawalAndLinkTest, ALinkedReferralsReferrerIsToldTheOutcomes) {
  ASSERT_EQ(Send(Triaged("r1", v1::REFERRAL_STATUS_ROUTED, false)), 2);
  v1::EventEnvelope linked = events::NewEnvelope("intake", "r1");
  linked.mutable_referral_linked()->set_linked_referral_id("r1-later");
  linked.mutable_referral_linked()->set_referrer_agency("nhs-lth-ae");
  linked.mutable_referral_linked()->set_match("CRIME_REFERENCE");
  EXPECT_EQ(Send(linked), 1);
  EXPECT_THAT(Of("r1", "ReferralLinked"), ElementsAre(Pair("nhs-lth-ae", "")));
  // Outcomes go to it as well as to the subscribers; progress in between
  // (first contact) does not.
  EXPECT_EQ(Send(Advocacy("r1", "accepted")), 2);
  EXPECT_EQ(Send(Advocacy("r1", "contact")), 1);
  EXPECT_EQ(Send(Advocacy("r1", "closed")), 2);
  EXPECT_THAT(Of("r1", "AssignmentAccepted"),
              UnorderedElementsAre(Pair("victim-advice-line-wmp", ""),
                                   Pair("nhs-lth-ae", "")));
  EXPECT_THAT(Of("r1", "FirstContactRecorded"),
              ElementsAre(Pair("victim-advice-line-wmp", "")));
  EXPECT_THAT(Of("r1", "CaseClosed"),
              UnorderedElementsAre(Pair("victim-advice-line-wmp", ""),
                                   Pair("nhs-lth-ae", "")));
  // It was told, so it hears of the withdrawal too.
  EXPECT_EQ(Send(Withdrawn("r1")), 3);
  EXPECT_THAT(Of("r1", "ReferralWithdrawn"),
              UnorderedElementsAre(Pair("victim-advice-line-wmp", ""),
                                   Pair("referrer-closed-loop", ""),
                                   Pair("nhs-lth-ae", "")));
  // The hospital sees its own deliveries.
  EXPECT_EQ(Agencies(List(testing::PrincipalOf("nhs-lth-ae"), "r1")).size(),
            4u);
  // Another referral's outcomes are not its business.
  ASSERT_EQ(Send(Triaged("r2", v1::REFERRAL_STATUS_ROUTED, false)), 2);
  EXPECT_EQ(Send(Advocacy("r2", "accepted")), 1);
}

TEST_F(WithdrawalAndLinkTest, VictimErasedKeepsOnlyIdsAndCodes) {
  v1::EventEnvelope received = events::NewEnvelope("intake", "r1");
  auto* facts = received.mutable_referral_received()->mutable_facts();
  facts->set_area_code("WMP");
  facts->set_person_id("person-GHJ-77");
  facts->set_referrer_org("police-wmp");
  ASSERT_EQ(Send(received), 0);
  v1::EventEnvelope triaged = Triaged("r1", v1::REFERRAL_STATUS_ROUTED, false);
  triaged.mutable_referral_triaged()->set_person_id("person-GHJ-77");
  ASSERT_EQ(Send(triaged), 3);
  v1::EventEnvelope linked = events::NewEnvelope("intake", "r1");
  linked.mutable_referral_linked()->set_referrer_agency("nhs-lth-ae");
  ASSERT_EQ(Send(linked), 1);
  auto envelopes = [this] {
    std::vector<v1::EventEnvelope> out;
    EXPECT_TRUE(db_->Read([&](store::Tx& tx) -> absl::Status {
                     ASSIGN_OR_RETURN(
                         store::Statement q,
                         tx.Prepare("SELECT envelope FROM referral_events "
                                    "ORDER BY rowid"));
                     while (true) {
                       ASSIGN_OR_RETURN(bool row, q.Step());
                       if (!row) return absl::OkStatus();
                       out.emplace_back().ParseFromString(q.ColumnBlob(0));
                     }
                   })
                    .ok());
    return out;
  };
  auto mentions_person = [&] {
    for (const v1::EventEnvelope& e : envelopes()) {
      if (e.SerializeAsString().find("person-GHJ-77") != std::string::npos) {
        return true;
      }
    }
    return false;
  };
  ASSERT_TRUE(mentions_person());

  v1::EventEnvelope erased = events::NewEnvelope("intake", "r1");
  erased.mutable_victim_erased()->set_person_id("person-GHJ-77");
  erased.mutable_victim_erased()->set_ground(
      v1::ERASURE_GROUND_RIGHT_TO_ERASURE);
  EXPECT_EQ(Send(erased), 0);
  EXPECT_FALSE(mentions_person());
  std::vector<v1::EventEnvelope> kept = envelopes();
  ASSERT_EQ(kept.size(), 4u);
  // The header stays (what was delivered, and when); agency ids and codes
  // stay; the facts and the decision go.
  EXPECT_EQ(kept[0].type(), "signpost.v1.ReferralReceived");
  EXPECT_EQ(kept[0].payload_case(), v1::EventEnvelope::PAYLOAD_NOT_SET);
  EXPECT_EQ(kept[1].payload_case(), v1::EventEnvelope::PAYLOAD_NOT_SET);
  EXPECT_EQ(kept[2].referral_linked().referrer_agency(), "nhs-lth-ae");
  EXPECT_EQ(kept[3].type(), "signpost.v1.VictimErased");
  EXPECT_EQ(kept[3].payload_case(), v1::EventEnvelope::PAYLOAD_NOT_SET);
  DeliveryList list = List("r1");
  EXPECT_EQ(list.deliveries.size(), 4u);
  EXPECT_EQ(list.events_processed, 4);
  // An erasure that arrives before triage's decision (pending) is shredded
  // at once too.
  v1::EventEnvelope early = events::NewEnvelope("intake", "r2");
  early.mutable_referral_received()->mutable_facts()->set_person_id(
      "person-GHJ-77");
  ASSERT_EQ(Send(early), 0);
  v1::EventEnvelope erased2 = events::NewEnvelope("intake", "r2");
  erased2.mutable_victim_erased()->set_person_id("person-GHJ-77");
  EXPECT_EQ(Send(erased2), 0);
  EXPECT_FALSE(mentions_person());
  // A decision that arrives after the erasure (from another topic) is kept
  // in its erased form and delivered to nobody.
  v1::EventEnvelope late = Triaged("r1", v1::REFERRAL_STATUS_WITHDRAWN, true);
  late.mutable_referral_triaged()->set_person_id("person-GHJ-77");
  EXPECT_EQ(Send(late), 0);
  EXPECT_FALSE(mentions_person());
  EXPECT_EQ(List("r1").deliveries.size(), 4u);
}

TEST_F(WithdrawalAndLinkTest,
       ACancelledLinkedReferralStopsItsReferrersOutcomes) {
  ASSERT_EQ(Send(Triaged("r1", v1::REFERRAL_STATUS_ROUTED, false)), 2);
  v1::EventEnvelope linked = events::NewEnvelope("intake", "r1");
  linked.mutable_referral_linked()->set_linked_referral_id("r1-later");
  linked.mutable_referral_linked()->set_referrer_agency("nhs-lth-ae");
  ASSERT_EQ(Send(linked), 1);
  // The hospital cancels its linked referral (entered in error).
  v1::EventEnvelope cancelled = Withdrawn("r1-later");
  EXPECT_EQ(Send(cancelled), 0);
  EXPECT_EQ(Send(Advocacy("r1", "accepted")), 1);
  EXPECT_THAT(Of("r1", "AssignmentAccepted"),
              ElementsAre(Pair("victim-advice-line-wmp", "")));
}

TEST_F(WithdrawalAndLinkTest, AnUnknownReferralIsNotFound) {
  ASSERT_EQ(Send(Triaged("r1", v1::REFERRAL_STATUS_CONSENT_REQUIRED, false)),
            0);
  for (const char* agency : {"signpost-operator", "police-wmp"}) {
    auto known =
        app_->ListDeliveries(testing::PrincipalOf(agency), ReferralId("r1"));
    ASSERT_TRUE(known.ok()) << agency << known.status();
    EXPECT_THAT(known->deliveries, IsEmpty());
    auto unknown = app_->ListDeliveries(testing::PrincipalOf(agency),
                                        ReferralId(NewUuid()));
    EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound) << agency;
  }
}

}  // namespace
}  // namespace signpost::notification
