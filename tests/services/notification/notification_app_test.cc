#include "services/notification/notification_app.h"

#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "common/access/authz.h"
#include "common/events/envelope.h"
#include "common/http/webhook_signature.h"
#include "common/status/macros.h"
#include "common/store/outbox.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/notification/notification_store.h"
#include "services/notification/projection.h"
#include "services/notification/subscriptions.h"
#include "tests/support/test_support.h"

namespace signpost::notification {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

constexpr char kTraceparent[] =
    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

class NotificationAppTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = store::Database::Open(dir_.File("n.db"),
                                    NotificationStore::Migrations());
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
    auto policy =
        LoadPolicy(testing::SourcePath("examples/subscriptions.textproto"),
                   *testing::TestRegistry());
    ASSERT_TRUE(policy.ok()) << policy.status();
    app_ = std::make_unique<NotificationApp>(*db_, std::move(*policy));
  }

  // What the event consumer does: one transaction that claims the inbox
  // (a redelivered event does nothing) and then hands the event over.
  int Send(v1::EventEnvelope env) {
    events::StampType(&env);
    auto made = db_->Write([&](store::Tx& tx) -> absl::StatusOr<int> {
      ASSIGN_OR_RETURN(bool claimed, store::ClaimInbox(tx, env));
      if (!claimed) return 0;
      return app_->Deliver(tx, env, kTraceparent);
    });
    EXPECT_TRUE(made.ok()) << made.status();
    return made.ok() ? *made : -1;
  }

  static v1::EventEnvelope Received(const std::string& referral_id,
                                    const std::string& referrer) {
    v1::EventEnvelope e = events::NewEnvelope("intake", referral_id);
    auto* facts = e.mutable_referral_received()->mutable_facts();
    facts->set_area_code("WMP");
    facts->set_referrer_org(referrer);
    facts->set_person_id("person-GHJ-77");
    return e;
  }
  static v1::EventEnvelope Triaged(const std::string& referral_id,
                                   v1::ReferralStatus status, bool marac,
                                   const std::string& area = "WMP") {
    v1::EventEnvelope e = events::NewEnvelope("triage", referral_id);
    auto* t = e.mutable_referral_triaged();
    t->set_area_code(area);
    t->set_status(status);
    t->set_marac(marac);
    t->set_risk(marac ? v1::RISK_LEVEL_HIGH : v1::RISK_LEVEL_STANDARD);
    t->set_dash_score(marac ? 15 : 4);
    t->add_pathways(v1::PATHWAY_IDVA);
    t->set_priority(v1::PRIORITY_HIGH);
    t->set_person_id("person-GHJ-77");
    t->add_reasons()->set_rule_id(marac ? "MARAC-DASH-14" : "IDVA-1");
    return e;
  }
  static v1::EventEnvelope Withdrawn(const std::string& referral_id) {
    v1::EventEnvelope e = events::NewEnvelope("intake", referral_id);
    e.mutable_referral_withdrawn()->set_reason(
        v1::WITHDRAWAL_REASON_CONSENT_WITHDRAWN);
    e.mutable_referral_withdrawn()->set_recorded_by("police-wmp");
    return e;
  }
  static v1::EventEnvelope Advocacy(
      const std::string& referral_id, const std::string& payload,
      const std::string& provider = "wm-idva-service") {
    v1::EventEnvelope e = events::NewEnvelope("advocacy", referral_id);
    if (payload == "offered") {
      e.mutable_advocate_offered()->set_assignment_id("a-" + referral_id);
      e.mutable_advocate_offered()->set_provider_id(provider);
      e.mutable_advocate_offered()->set_advocate_id("adv-1");
      e.mutable_advocate_offered()->set_pathway(v1::PATHWAY_IDVA);
    } else if (payload == "declined") {
      e.mutable_assignment_declined()->set_assignment_id("a-" + referral_id);
    } else if (payload == "waitlisted") {
      e.mutable_referral_waitlisted()->set_assignment_id("w-" + referral_id);
      e.mutable_referral_waitlisted()->set_pathway(v1::PATHWAY_ISVA);
    } else if (payload == "accepted") {
      e.mutable_assignment_accepted()->set_assignment_id("a-" + referral_id);
    } else if (payload == "attempt") {
      e.mutable_contact_attempt_failed()->set_assignment_id("a-" + referral_id);
      e.mutable_contact_attempt_failed()->set_failed_attempts(2);
    } else if (payload == "contact") {
      e.mutable_first_contact_recorded()->set_assignment_id("a-" + referral_id);
    } else if (payload == "closed") {
      e.mutable_case_closed()->set_assignment_id("a-" + referral_id);
      e.mutable_case_closed()->set_closure_reason("ENGAGED_COMPLETED");
    } else if (payload == "released") {
      e.mutable_assignment_released()->set_assignment_id("a-" + referral_id);
      e.mutable_assignment_released()->set_reason_code("REFERRAL_WITHDRAWN");
    }
    return e;
  }

  DeliveryList List(const access::Principal& caller, DeliveryFilter filter) {
    auto list = app_->ListDeliveries(caller, std::move(filter), {});
    EXPECT_TRUE(list.ok()) << list.status();
    return list.ok() ? *list : DeliveryList();
  }
  DeliveryList List(const std::string& referral_id) {
    DeliveryFilter filter;
    filter.referral_id.emplace(referral_id);
    return List(operator_, filter);
  }
  // (agency, field set) of each share of `type` made for the referral (one
  // per partner event, whatever the transports).
  std::set<std::pair<std::string, v1::FieldSet>> Shares(
      const std::string& referral_id, const std::string& type,
      v1::DeliveryStatus status = v1::DELIVERY_STATUS_PENDING) {
    std::set<std::pair<std::string, v1::FieldSet>> out;
    for (const v1::Delivery& d : List(referral_id).deliveries) {
      if (d.event_type() == "signpost.v1." + type && d.status() == status) {
        out.emplace(d.agency_id(), d.field_set());
      }
    }
    return out;
  }
  std::vector<v1::PartnerEvent> Feed(const std::string& agency) {
    auto feed = app_->ReadFeed(AgencyId(agency), 0, 1000);
    EXPECT_TRUE(feed.ok()) << feed.status();
    return feed.ok() ? *feed : std::vector<v1::PartnerEvent>();
  }
  std::vector<std::string> FeedTypes(const std::string& agency) {
    std::vector<std::string> out;
    for (const v1::PartnerEvent& e : Feed(agency)) out.push_back(e.type());
    return out;
  }
  // The DeliveryRecorded events in the outbox.
  std::vector<v1::DeliveryRecorded> RecordedEvents() {
    std::vector<v1::DeliveryRecorded> out;
    EXPECT_TRUE(db_->Read([&](store::Tx& tx) -> absl::Status {
                     ASSIGN_OR_RETURN(
                         store::Statement q,
                         tx.Prepare("SELECT payload FROM outbox WHERE "
                                    "event_type = "
                                    "'signpost.v1.DeliveryRecorded' ORDER BY "
                                    "seq"));
                     while (true) {
                       ASSIGN_OR_RETURN(bool row, q.Step());
                       if (!row) return absl::OkStatus();
                       v1::EventEnvelope e;
                       e.ParseFromString(q.ColumnBlob(0));
                       out.push_back(e.delivery_recorded());
                     }
                   })
                    .ok());
    return out;
  }
  int OutboxRows(const std::string& topic) {
    int n = 0;
    EXPECT_TRUE(db_->Read([&](store::Tx& tx) -> absl::Status {
                     ASSIGN_OR_RETURN(
                         store::Statement q,
                         tx.Prepare("SELECT COUNT(*) FROM outbox WHERE "
                                    "topic = ?"));
                     q.Bind(1, topic);
                     ASSIGN_OR_RETURN(bool row, q.Step());
                     if (row) n = static_cast<int>(q.ColumnInt(0));
                     return absl::OkStatus();
                   })
                    .ok());
    return n;
  }

  testing::TempDir dir_;
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<NotificationApp> app_;
  const access::Principal operator_ = testing::PrincipalOf("signpost-operator");
};

TEST_F(NotificationAppTest, EventsWaitForTriageAndTheReferrer) {
  // Triage's decision can overtake intake's event (another topic): nothing
  // goes anywhere until both are known.
  EXPECT_EQ(Send(Triaged("r1", v1::REFERRAL_STATUS_ROUTED, false)), 0);
  EXPECT_EQ(List("r1").events_processed, 0);
  // The referrer's closed loop: received and triaged, on its own topic and
  // its stream.
  v1::EventEnvelope received = Received("r1", "police-wmp");
  EXPECT_EQ(Send(received), 2);
  EXPECT_THAT(FeedTypes("police-wmp"),
              ElementsAre("referral.triaged", "referral.received"));
  EXPECT_EQ(OutboxRows(PartnerTopic("police-wmp")), 2);
  DeliveryList list = List("r1");
  EXPECT_EQ(list.events_processed, 2);
  ASSERT_EQ(list.deliveries.size(), 4u);  // 2 events x (Kafka, stream)
  for (const v1::Delivery& d : list.deliveries) {
    EXPECT_EQ(d.agency_id(), "police-wmp");
    EXPECT_EQ(d.status(), v1::DELIVERY_STATUS_PENDING);
    EXPECT_EQ(d.legal_basis(), "OWN_REFERRAL");
    EXPECT_EQ(d.field_set(), v1::FIELD_SET_REFERRER_OUTCOME);
  }
  // Redelivery has no second effect.
  EXPECT_EQ(Send(received), 0);
  EXPECT_EQ(List("r1").deliveries.size(), 4u);
}

TEST_F(NotificationAppTest, TheReferrerSeesOutcomesNotTheDashAnswers) {
  ASSERT_EQ(Send(Received("r1", "nhs-lth-ae")), 0);
  v1::EventEnvelope decision = Triaged("r1", v1::REFERRAL_STATUS_ROUTED, true);
  ASSERT_EQ(Send(decision), 3);
  std::vector<v1::PartnerEvent> feed = Feed("nhs-lth-ae");
  ASSERT_EQ(feed.size(), 2u);
  const v1::PartnerEvent& triaged = feed[1];
  EXPECT_EQ(triaged.type(), "referral.triaged");
  EXPECT_EQ(triaged.referral_id(), "r1");
  EXPECT_EQ(triaged.legal_basis(), v1::LEGAL_BASIS_OWN_REFERRAL);
  EXPECT_THAT(triaged.pathways(), ElementsAre(v1::PATHWAY_IDVA));
  EXPECT_EQ(triaged.priority(), v1::PRIORITY_HIGH);
  EXPECT_EQ(triaged.risk(), v1::RISK_LEVEL_UNSPECIFIED);
  EXPECT_EQ(triaged.dash_score(), 0);
  EXPECT_THAT(triaged.rule_ids(), IsEmpty());
  EXPECT_EQ(triaged.SerializeAsString().find("person-GHJ-77"),
            std::string::npos);
  EXPECT_GT(triaged.sequence(), feed[0].sequence());
  // The id is stable: the same agency, event and set give the same id.
  EXPECT_EQ(triaged.id(), PartnerEventId("nhs-lth-ae", decision.event_id(),
                                         v1::FIELD_SET_REFERRER_OUTCOME));
  EXPECT_TRUE(IsUuid(triaged.id()));
}

TEST_F(NotificationAppTest, ConsentRefusedHighRiskReachesOnlyMarac) {
  // T9: consent refused, high risk. MARAC receives the MARAC set on the
  // safeguarding basis; the referrer hears of its own referral; no
  // provider and no other agency receives anything.
  ASSERT_EQ(Send(Received("r9", "police-wmp")), 0);
  ASSERT_EQ(Send(Triaged("r9", v1::REFERRAL_STATUS_CONSENT_REQUIRED, true)), 3);
  EXPECT_THAT(
      Shares("r9", "ReferralTriaged"),
      UnorderedElementsAre(Pair("marac-coordinator-wmp", v1::FIELD_SET_MARAC),
                           Pair("police-wmp", v1::FIELD_SET_REFERRER_OUTCOME)));
  std::vector<v1::PartnerEvent> marac = Feed("marac-coordinator-wmp");
  ASSERT_EQ(marac.size(), 1u);
  EXPECT_EQ(marac[0].legal_basis(), v1::LEGAL_BASIS_MARAC_SAFEGUARDING);
  EXPECT_EQ(marac[0].risk(), v1::RISK_LEVEL_HIGH);
  EXPECT_EQ(marac[0].dash_score(), 15);
  EXPECT_THAT(marac[0].rule_ids(), ElementsAre("MARAC-DASH-14"));
  EXPECT_EQ(marac[0].area_code(), "WMP");
  EXPECT_THAT(marac[0].pathways(), IsEmpty());  // not in the MARAC set
  for (const v1::Delivery& d : List("r9").deliveries) {
    if (d.agency_id() == "marac-coordinator-wmp") {
      EXPECT_EQ(d.legal_basis(), "MARAC_SAFEGUARDING");
    }
  }
  // A referral in another area reaches no subscriber.
  ASSERT_EQ(Send(Received("r10", "police-wmp")), 0);
  v1::EventEnvelope other =
      Triaged("r10", v1::REFERRAL_STATUS_ROUTED, true, "GMP");
  ASSERT_EQ(Send(other), 2);  // received and triaged, to the referrer
  EXPECT_THAT(Shares("r10", "ReferralTriaged"),
              ElementsAre(Pair("police-wmp", v1::FIELD_SET_REFERRER_OUTCOME)));
}

TEST_F(NotificationAppTest, AProviderHearsOnlyOfItsOwnAssignments) {
  ASSERT_EQ(Send(Received("r1", "police-wmp")), 0);
  ASSERT_EQ(Send(Triaged("r1", v1::REFERRAL_STATUS_ROUTED, false)), 2);
  EXPECT_EQ(Send(Advocacy("r1", "offered", "wm-idva-service")), 1);
  EXPECT_THAT(
      Shares("r1", "AdvocateOffered"),
      ElementsAre(Pair("wm-idva-service", v1::FIELD_SET_PROVIDER_CASE)));
  // Accepted names only the assignment: its provider is remembered.
  EXPECT_EQ(Send(Advocacy("r1", "accepted")), 2);
  EXPECT_THAT(
      Shares("r1", "AssignmentAccepted"),
      UnorderedElementsAre(Pair("wm-idva-service", v1::FIELD_SET_PROVIDER_CASE),
                           Pair("police-wmp", v1::FIELD_SET_REFERRER_OUTCOME)));
  // Other providers' feeds stay empty.
  EXPECT_THAT(Feed("victim-advice-line-wmp"), IsEmpty());
  EXPECT_THAT(Feed("wm-rape-crisis"), IsEmpty());
  std::vector<v1::PartnerEvent> idva = Feed("wm-idva-service");
  ASSERT_EQ(idva.size(), 2u);
  EXPECT_EQ(idva[0].assignment_id(), "a-r1");
  EXPECT_EQ(idva[0].advocate_id(), "adv-1");
  EXPECT_EQ(idva[0].provider_id(), "wm-idva-service");
  EXPECT_EQ(idva[0].legal_basis(), v1::LEGAL_BASIS_CONSENT);
}

TEST_F(NotificationAppTest, AShareWithoutABasisIsRefusedAndTheRefusalRecorded) {
  ASSERT_EQ(Send(Received("r1", "police-wmp")), 0);
  ASSERT_EQ(Send(Triaged("r1", v1::REFERRAL_STATUS_ROUTED, false)), 2);
  ASSERT_EQ(Send(Advocacy("r1", "offered")), 1);
  // Consent withdrawn for the referral: the next decision needs consent.
  v1::EventEnvelope reassessed = events::NewEnvelope("triage", "r1");
  *reassessed.mutable_referral_reassessed()->mutable_decision() =
      Triaged("r1", v1::REFERRAL_STATUS_CONSENT_REQUIRED, false)
          .referral_triaged();
  ASSERT_EQ(Send(reassessed), 1);  // the referrer only
  EXPECT_THAT(
      Shares("r1", "ReferralReassessed", v1::DELIVERY_STATUS_REFUSED),
      ElementsAre(Pair("wm-idva-service", v1::FIELD_SET_PROVIDER_CASE)));
  EXPECT_EQ(Send(Advocacy("r1", "contact")), 1);
  bool refusal_recorded = false;
  for (const v1::Delivery& d : List("r1").deliveries) {
    if (d.status() != v1::DELIVERY_STATUS_REFUSED) continue;
    EXPECT_EQ(d.refusal_rule(), "SHARE-NO-CONSENT");
    EXPECT_EQ(d.transport(), v1::TRANSPORT_UNSPECIFIED);
  }
  for (const v1::DeliveryRecorded& r : RecordedEvents()) {
    if (r.status() == v1::DELIVERY_STATUS_REFUSED &&
        r.agency_id() == "wm-idva-service" &&
        r.refusal_rule() == "SHARE-NO-CONSENT") {
      refusal_recorded = true;
    }
  }
  EXPECT_TRUE(refusal_recorded);
  // Nothing refused reached the feed.
  EXPECT_THAT(FeedTypes("wm-idva-service"), ElementsAre("support.offered"));
  // The release still reaches the provider already told (a stop notice).
  EXPECT_EQ(Send(Advocacy("r1", "released")), 2);
  EXPECT_THAT(FeedTypes("wm-idva-service"),
              ElementsAre("support.offered", "support.released"));
}

TEST_F(NotificationAppTest, TransportsAcceptDeliveriesOnce) {
  ASSERT_EQ(Send(Received("r1", "police-wmp")), 0);
  ASSERT_EQ(Send(Triaged("r1", v1::REFERRAL_STATUS_ROUTED, false)), 2);
  std::vector<v1::PartnerEvent> feed = Feed("police-wmp");
  ASSERT_EQ(feed.size(), 2u);
  // The stream wrote the first: its stream delivery is accepted, once.
  EXPECT_EQ(
      *app_->AcknowledgeStream(AgencyId("police-wmp"), 0, feed[0].sequence()),
      1);
  EXPECT_EQ(
      *app_->AcknowledgeStream(AgencyId("police-wmp"), 0, feed[0].sequence()),
      0);
  // Only what a stream wrote: a range past the feed accepts nothing more.
  EXPECT_EQ(*app_->AcknowledgeStream(AgencyId("police-wmp"), feed[1].sequence(),
                                     feed[1].sequence() + 100),
            0);
  // Kafka: nothing is accepted until the relay has published.
  EXPECT_EQ(*app_->RecordKafkaAcks(), 0);
  ASSERT_TRUE(db_->Write([](store::Tx& tx) -> absl::Status {
                   ASSIGN_OR_RETURN(
                       store::Statement q,
                       tx.Prepare("UPDATE outbox SET sent_at_ms = 1 WHERE "
                                  "topic LIKE 'signpost.partner.%'"));
                   return q.Run();
                 })
                  .ok());
  EXPECT_EQ(*app_->RecordKafkaAcks(), 2);
  EXPECT_EQ(*app_->RecordKafkaAcks(), 0);
  DeliveryFilter delivered;
  delivered.status = v1::DELIVERY_STATUS_DELIVERED;
  DeliveryList list = List(operator_, delivered);
  ASSERT_EQ(list.deliveries.size(), 3u);
  for (const v1::Delivery& d : list.deliveries) {
    EXPECT_TRUE(d.has_accepted_at());
  }
  int recorded = 0;
  for (const v1::DeliveryRecorded& r : RecordedEvents()) {
    if (r.status() == v1::DELIVERY_STATUS_DELIVERED) ++recorded;
  }
  EXPECT_EQ(recorded, 3);
  DeliveryFilter by_transport;
  by_transport.transport = v1::TRANSPORT_GRPC_STREAM;
  by_transport.status = v1::DELIVERY_STATUS_PENDING;
  EXPECT_EQ(List(operator_, by_transport).deliveries.size(), 1u);
}

TEST_F(NotificationAppTest, AWithdrawalGoesToEveryAgencyToldInItsSet) {
  ASSERT_EQ(Send(Received("r1", "police-wmp")), 0);
  ASSERT_EQ(Send(Triaged("r1", v1::REFERRAL_STATUS_ROUTED, true)), 3);
  ASSERT_EQ(Send(Advocacy("r1", "offered")), 1);
  EXPECT_EQ(Send(Withdrawn("r1")), 3);
  EXPECT_THAT(
      Shares("r1", "ReferralWithdrawn"),
      UnorderedElementsAre(Pair("marac-coordinator-wmp", v1::FIELD_SET_MARAC),
                           Pair("wm-idva-service", v1::FIELD_SET_PROVIDER_CASE),
                           Pair("police-wmp", v1::FIELD_SET_REFERRER_OUTCOME)));
  std::vector<v1::PartnerEvent> marac = Feed("marac-coordinator-wmp");
  ASSERT_EQ(marac.size(), 2u);
  EXPECT_EQ(marac[1].withdrawal_reason(),
            v1::WITHDRAWAL_REASON_CONSENT_WITHDRAWN);
  EXPECT_EQ(marac[1].legal_basis(), v1::LEGAL_BASIS_MARAC_SAFEGUARDING);
}

TEST_F(NotificationAppTest, ALinkedReferralsReferrerIsToldUnderItsOwnId) {
  ASSERT_EQ(Send(Received("r1", "police-wmp")), 0);
  ASSERT_EQ(Send(Triaged("r1", v1::REFERRAL_STATUS_ROUTED, false)), 2);
  v1::EventEnvelope linked = events::NewEnvelope("intake", "r1");
  linked.mutable_referral_linked()->set_linked_referral_id("r1-later");
  linked.mutable_referral_linked()->set_referrer_agency("nhs-lth-ae");
  linked.mutable_referral_linked()->set_match("CRIME_REFERENCE");
  EXPECT_EQ(Send(linked), 1);
  EXPECT_EQ(Send(Advocacy("r1", "offered")), 1);
  EXPECT_EQ(Send(Advocacy("r1", "accepted")), 3);
  std::vector<v1::PartnerEvent> hospital = Feed("nhs-lth-ae");
  ASSERT_EQ(hospital.size(), 2u);
  for (const v1::PartnerEvent& e : hospital) {
    EXPECT_EQ(e.referral_id(), "r1-later");
    EXPECT_EQ(e.linked_referral_id(), "r1");
  }
  EXPECT_THAT(FeedTypes("nhs-lth-ae"),
              ElementsAre("referral.linked", "support.assigned"));
  // The first referrer is not told that another agency referred too.
  EXPECT_THAT(
      FeedTypes("police-wmp"),
      ElementsAre("referral.received", "referral.triaged", "support.assigned"));
  // Failing contact attempts reach both referrers and the provider.
  EXPECT_EQ(Send(Advocacy("r1", "attempt")), 3);
  std::vector<v1::PartnerEvent> attempts = Feed("nhs-lth-ae");
  ASSERT_EQ(attempts.size(), 3u);
  EXPECT_EQ(attempts[2].type(), "support.contact_attempt_failed");
  EXPECT_EQ(attempts[2].failed_attempts(), 2);
  EXPECT_EQ(attempts[2].advocate_id(), "");  // not in the referrer's set
  // The hospital lists its deliveries by its own referral id.
  DeliveryFilter own;
  own.referral_id.emplace("r1-later");
  DeliveryList listed = List(testing::PrincipalOf("nhs-lth-ae"), own);
  ASSERT_EQ(listed.deliveries.size(), 3u);
  for (const v1::Delivery& d : listed.deliveries) {
    EXPECT_EQ(d.partner_referral_id(), "r1-later");
    EXPECT_EQ(d.referral_id(), "r1");
  }
  // A cancelled linked referral stops its referrer's outcomes.
  ASSERT_EQ(Send(Withdrawn("r1-later")), 0);
  EXPECT_EQ(Send(Advocacy("r1", "contact")), 2);
  EXPECT_EQ(Feed("nhs-lth-ae").size(), 3u);
}

TEST_F(NotificationAppTest, AnAgencyListsOnlyItsOwnDeliveries) {
  ASSERT_EQ(Send(Received("r1", "police-wmp")), 0);
  ASSERT_EQ(Send(Triaged("r1", v1::REFERRAL_STATUS_CONSENT_REQUIRED, true)), 3);
  DeliveryFilter filter;
  filter.referral_id.emplace("r1");
  for (const v1::Delivery& d :
       List(testing::PrincipalOf("marac-coordinator-wmp"), filter).deliveries) {
    EXPECT_EQ(d.agency_id(), "marac-coordinator-wmp");
  }
  EXPECT_EQ(List(testing::PrincipalOf("marac-coordinator-wmp"), filter)
                .deliveries.size(),
            2u);  // Kafka and stream
  EXPECT_THAT(List(testing::PrincipalOf("wm-idva-service"), filter).deliveries,
              IsEmpty());
  // An agency cannot widen its view with the agency filter.
  DeliveryFilter other = filter;
  other.agency.emplace("police-wmp");
  for (const v1::Delivery& d :
       List(testing::PrincipalOf("marac-coordinator-wmp"), other).deliveries) {
    EXPECT_EQ(d.agency_id(), "marac-coordinator-wmp");
  }
  // The operator filters by agency.
  EXPECT_EQ(List(operator_, other).deliveries.size(), 4u);
  // An unknown referral is NOT_FOUND to everyone.
  DeliveryFilter unknown;
  unknown.referral_id.emplace(NewUuid());
  EXPECT_EQ(app_->ListDeliveries(operator_, unknown, {}).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(NotificationAppTest, ErasureStripsPartnerEventsToTheirHeaders) {
  ASSERT_EQ(Send(Received("r1", "police-wmp")), 0);
  ASSERT_EQ(Send(Triaged("r1", v1::REFERRAL_STATUS_ROUTED, true)), 3);
  ASSERT_FALSE(Feed("marac-coordinator-wmp").empty());
  EXPECT_EQ(Feed("marac-coordinator-wmp")[0].dash_score(), 15);
  v1::EventEnvelope erased = events::NewEnvelope("intake", "r1");
  erased.mutable_victim_erased()->set_person_id("person-GHJ-77");
  EXPECT_EQ(Send(erased), 0);
  for (const char* agency : {"marac-coordinator-wmp", "police-wmp"}) {
    for (const v1::PartnerEvent& e : Feed(agency)) {
      EXPECT_EQ(e.dash_score(), 0) << agency;
      EXPECT_EQ(e.risk(), v1::RISK_LEVEL_UNSPECIFIED) << agency;
      EXPECT_THAT(e.pathways(), IsEmpty()) << agency;
      EXPECT_FALSE(e.type().empty());
      EXPECT_FALSE(e.id().empty());
    }
  }
  // Their Kafka records in the outbox are stripped too (a replay would
  // publish them again).
  ASSERT_TRUE(db_->Read([&](store::Tx& tx) -> absl::Status {
                   ASSIGN_OR_RETURN(
                       store::Statement q,
                       tx.Prepare("SELECT payload FROM outbox WHERE topic "
                                  "LIKE 'signpost.partner.%'"));
                   int n = 0;
                   while (true) {
                     ASSIGN_OR_RETURN(bool row, q.Step());
                     if (!row) break;
                     v1::EventEnvelope e;
                     EXPECT_TRUE(e.ParseFromString(q.ColumnBlob(0)));
                     EXPECT_EQ(e.partner_event().dash_score(), 0);
                     EXPECT_THAT(e.partner_event().pathways(), IsEmpty());
                     EXPECT_FALSE(e.partner_event().id().empty());
                     ++n;
                   }
                   EXPECT_GT(n, 0);
                   return absl::OkStatus();
                 })
                  .ok());
  // Later events of the referral go nowhere.
  EXPECT_EQ(Send(Advocacy("r1", "offered")), 0);
}

// The review of issue 11: who must not hear of a referral.
// Issue 12: a perpetrator programme hears of its own service referral, and
// never of the referral as a whole (its decisions name the victim's
// pathways); a SARC that works with the victim does. A re-offer to another
// provider moves the assignment's later events to that provider.
TEST_F(NotificationAppTest, APerpetratorProgrammeHearsOnlyOfItsOwnReferral) {
  ASSERT_EQ(Send(Received("r1", "police-wmp")), 0);
  ASSERT_EQ(Send(Triaged("r1", v1::REFERRAL_STATUS_ROUTED, false)), 2);
  auto service = [](const std::string& assignment, v1::ServiceKind kind,
                    const std::string& provider) {
    v1::EventEnvelope e = events::NewEnvelope("advocacy", "r1");
    e.mutable_service_offered()->set_assignment_id(assignment);
    e.mutable_service_offered()->set_service(kind);
    e.mutable_service_offered()->set_provider_id(provider);
    return e;
  };
  Send(service("s1", v1::SERVICE_KIND_PERPETRATOR_HIGH_HARM,
               "wm-perpetrator-programme"));
  Send(service("s2", v1::SERVICE_KIND_SARC, "sarc-wmp"));
  v1::EventEnvelope reassessed = events::NewEnvelope("triage", "r1");
  *reassessed.mutable_referral_reassessed()->mutable_decision() =
      Triaged("r1", v1::REFERRAL_STATUS_ROUTED, false).referral_triaged();
  Send(reassessed);
  EXPECT_THAT(FeedTypes("wm-perpetrator-programme"),
              ElementsAre("service.offered"));
  EXPECT_THAT(FeedTypes("sarc-wmp"),
              ElementsAre("service.offered", "referral.reassessed"));
  // The perpetrator programme's own later events still reach it.
  v1::EventEnvelope accepted = events::NewEnvelope("advocacy", "r1");
  accepted.mutable_assignment_accepted()->set_assignment_id("s1");
  Send(accepted);
  EXPECT_THAT(FeedTypes("wm-perpetrator-programme"),
              ElementsAre("service.offered", "support.assigned"));
  // The SARC declines; the referral is offered to another SARC: the
  // acceptance goes to the new one, not the one that declined.
  v1::EventEnvelope declined = events::NewEnvelope("advocacy", "r1");
  declined.mutable_assignment_declined()->set_assignment_id("s2");
  Send(declined);
  Send(service("s2", v1::SERVICE_KIND_SARC, "wm-stalking-clinic"));
  v1::EventEnvelope accepted2 = events::NewEnvelope("advocacy", "r1");
  accepted2.mutable_assignment_accepted()->set_assignment_id("s2");
  Send(accepted2);
  EXPECT_THAT(FeedTypes("sarc-wmp"),
              ElementsAre("service.offered", "referral.reassessed",
                          "support.declined"));
  EXPECT_THAT(FeedTypes("wm-stalking-clinic"),
              ElementsAre("service.offered", "support.assigned"));
}

// Issue 13: a missed first-contact deadline goes to the provider holding
// the case and to the area's commissioner, each in its own field set; the
// warning before it to the provider only.
TEST_F(NotificationAppTest,
       AMissedDeadlineReachesTheProviderAndTheCommissioner) {
  ASSERT_EQ(Send(Received("r1", "police-wmp")), 0);
  ASSERT_EQ(Send(Triaged("r1", v1::REFERRAL_STATUS_ROUTED, false)), 2);
  ASSERT_EQ(Send(Advocacy("r1", "offered", "wm-idva-service")), 1);
  auto deadline = [](bool missed) {
    v1::EventEnvelope e = events::NewEnvelope("advocacy", "r1");
    v1::Deadline d;
    d.set_kind("FIRST_CONTACT");
    d.set_rule_id("SLA-HIGH-CONTACT");
    d.set_pathway(v1::PATHWAY_IDVA);
    d.mutable_due()->set_seconds(1717545599);
    if (missed) {
      *e.mutable_deadline_missed()->mutable_deadline() = d;
      e.mutable_deadline_missed()->set_assignment_id("a-r1");
      e.mutable_deadline_missed()->set_area_code("WMP");
    } else {
      *e.mutable_deadline_approaching()->mutable_deadline() = d;
      e.mutable_deadline_approaching()->set_assignment_id("a-r1");
    }
    return e;
  };
  Send(deadline(false));
  EXPECT_THAT(
      Shares("r1", "DeadlineApproaching"),
      ElementsAre(Pair("wm-idva-service", v1::FIELD_SET_PROVIDER_CASE)));
  Send(deadline(true));
  EXPECT_THAT(
      Shares("r1", "DeadlineMissed"),
      UnorderedElementsAre(Pair("wm-idva-service", v1::FIELD_SET_PROVIDER_CASE),
                           Pair("pcc-wmp", v1::FIELD_SET_COMMISSIONING)));
  std::vector<v1::PartnerEvent> pcc = Feed("pcc-wmp");
  ASSERT_EQ(pcc.size(), 1u);
  EXPECT_EQ(pcc[0].type(), "deadline.missed");
  EXPECT_EQ(pcc[0].deadline_rule(), "SLA-HIGH-CONTACT");
  EXPECT_EQ(pcc[0].due().seconds(), 1717545599);
  EXPECT_EQ(pcc[0].advocate_id(), "");  // not the commissioner's business
  EXPECT_EQ(pcc[0].legal_basis(), v1::LEGAL_BASIS_PUBLIC_TASK);
}

TEST_F(NotificationAppTest, ProvidersHearOnlyOfTheirOwnLiveAssignments) {
  ASSERT_EQ(Send(Received("r1", "police-wmp")), 0);
  ASSERT_EQ(Send(Triaged("r1", v1::REFERRAL_STATUS_ROUTED, false)), 2);
  ASSERT_EQ(Send(Advocacy("r1", "offered")), 1);  // wm-idva-service
  // Another pathway waits for an advocate: no provider hears of it.
  EXPECT_EQ(Send(Advocacy("r1", "waitlisted")), 1);  // the referrer
  EXPECT_THAT(FeedTypes("wm-idva-service"), ElementsAre("support.offered"));
  // The provider declines: it hears of its own decline, and of nothing
  // about the referral after that.
  EXPECT_EQ(Send(Advocacy("r1", "declined")), 1);
  v1::EventEnvelope reassessed = events::NewEnvelope("triage", "r1");
  *reassessed.mutable_referral_reassessed()->mutable_decision() =
      Triaged("r1", v1::REFERRAL_STATUS_ROUTED, false).referral_triaged();
  EXPECT_EQ(Send(reassessed), 1);  // the referrer only
  EXPECT_THAT(FeedTypes("wm-idva-service"),
              ElementsAre("support.offered", "support.declined"));
}

TEST_F(NotificationAppTest, AWithdrawalClosesTheConsentGateAtOnce) {
  ASSERT_EQ(Send(Received("r1", "police-wmp")), 0);
  ASSERT_EQ(Send(Triaged("r1", v1::REFERRAL_STATUS_ROUTED, false)), 2);
  ASSERT_EQ(Send(Advocacy("r1", "offered")), 1);
  ASSERT_EQ(Send(Withdrawn("r1")), 2);  // the provider and the referrer
  // Before triage's WITHDRAWN decision arrives, advocacy's acceptance is
  // not shared on consent (the referrer still hears of its own referral).
  EXPECT_EQ(Send(Advocacy("r1", "accepted")), 1);
  EXPECT_THAT(
      Shares("r1", "AssignmentAccepted", v1::DELIVERY_STATUS_REFUSED),
      ElementsAre(Pair("wm-idva-service", v1::FIELD_SET_PROVIDER_CASE)));
  // A refusal is for oversight only: the refused agency does not see it.
  DeliveryFilter refused;
  refused.status = v1::DELIVERY_STATUS_REFUSED;
  EXPECT_EQ(List(operator_, refused).deliveries.size(), 1u);
  EXPECT_THAT(List(testing::PrincipalOf("wm-idva-service"), refused).deliveries,
              IsEmpty());
  DeliveryFilter all;
  for (const v1::Delivery& d :
       List(testing::PrincipalOf("wm-idva-service"), all).deliveries) {
    EXPECT_NE(d.status(), v1::DELIVERY_STATUS_REFUSED);
  }
}

TEST_F(NotificationAppTest, AnUnlinkedReferrerIsNotToldOfTheWithdrawal) {
  ASSERT_EQ(Send(Received("r1", "police-wmp")), 0);
  ASSERT_EQ(Send(Triaged("r1", v1::REFERRAL_STATUS_ROUTED, false)), 2);
  v1::EventEnvelope linked = events::NewEnvelope("intake", "r1");
  linked.mutable_referral_linked()->set_linked_referral_id("r1-later");
  linked.mutable_referral_linked()->set_referrer_agency("nhs-lth-ae");
  ASSERT_EQ(Send(linked), 1);
  // The hospital's referral was a different person: withdrawn, unlinked.
  ASSERT_EQ(Send(Withdrawn("r1-later")), 0);
  EXPECT_EQ(Send(Withdrawn("r1")), 1);  // the police only
  EXPECT_THAT(FeedTypes("nhs-lth-ae"), ElementsAre("referral.linked"));
}

TEST_F(NotificationAppTest, ErasureForgetsTheStoredDecision) {
  ASSERT_EQ(Send(Received("r1", "police-wmp")), 0);
  ASSERT_EQ(Send(Triaged("r1", v1::REFERRAL_STATUS_ROUTED, true)), 3);
  v1::EventEnvelope erased = events::NewEnvelope("intake", "r1");
  erased.mutable_victim_erased()->set_person_id("person-GHJ-77");
  ASSERT_EQ(Send(erased), 0);
  NotificationStore store;
  auto context = db_->Read(
      [&](store::Tx& tx) { return store.LoadContext(tx, ReferralId("r1")); });
  ASSERT_TRUE(context.ok() && context->has_value());
  EXPECT_EQ((*context)->decision.ByteSizeLong(), 0u);
}

TEST_F(NotificationAppTest, AReferralReceivedBeforeTheUpgradeFindsItsReferrer) {
  // As an issue-10 database holds it: the event recorded, no referrer row.
  v1::EventEnvelope received = Received("r1", "police-wmp");
  events::StampType(&received);
  ASSERT_TRUE(db_->Write([&](store::Tx& tx) {
                   return NotificationStore().RecordEvent(
                       tx, received, kTraceparent, /*pending=*/true,
                       absl::Now());
                 })
                  .ok());
  EXPECT_EQ(Send(Triaged("r1", v1::REFERRAL_STATUS_ROUTED, false)), 2);
  EXPECT_THAT(FeedTypes("police-wmp"),
              ElementsAre("referral.received", "referral.triaged"));
}

// A policy with one webhook agency, for the webhook and replay use cases.
class WebhookAppTest : public NotificationAppTest {
 protected:
  void SetUp() override {
    NotificationAppTest::SetUp();
    const std::string secret = dir_.File("hook.secret");
    std::ofstream(secret) << http::FormatWebhookSecret(std::string(32, 'k'));
    const std::string text = absl::StrCat(R"(
subscriptions {
  agency_id: "police-wmp"
  transports: [TRANSPORT_WEBHOOK, TRANSPORT_KAFKA]
  webhook { url: "https://127.0.0.1:1/hook" secret_file: ")",
                                          secret, R"(" }
})");
    auto policy = ParsePolicy(text, "test", *testing::TestRegistry());
    ASSERT_TRUE(policy.ok()) << policy.status();
    app_ = std::make_unique<NotificationApp>(*db_, std::move(*policy));
  }
};

TEST_F(WebhookAppTest, FailuresRetryThenDeadLetterAndReplayResends) {
  ASSERT_EQ(Send(Received("r1", "police-wmp")), 0);
  ASSERT_EQ(Send(Triaged("r1", v1::REFERRAL_STATUS_ROUTED, false)), 2);
  auto work = app_->NextWebhook(AgencyId("police-wmp"));
  ASSERT_TRUE(work.ok() && work->has_value());
  EXPECT_EQ((*work)->event.type(), "referral.received");  // in order
  const absl::Time now = absl::Now();
  ASSERT_TRUE(app_->WebhookFailed((*work)->row, "HTTP 500", now,
                                  now + absl::Seconds(1), false)
                  .ok());
  work = app_->NextWebhook(AgencyId("police-wmp"));
  ASSERT_TRUE(work.ok() && work->has_value());
  EXPECT_EQ((*work)->row.delivery.attempts(), 1);
  EXPECT_EQ((*work)->row.delivery.last_error(), "HTTP 500");
  EXPECT_EQ((*work)->event.type(), "referral.received");  // still the head
  ASSERT_TRUE(
      app_->WebhookFailed((*work)->row, "HTTP 500", now, now, true).ok());
  // Dead-lettered: the next one is the head now.
  work = app_->NextWebhook(AgencyId("police-wmp"));
  ASSERT_TRUE(work.ok() && work->has_value());
  EXPECT_EQ((*work)->event.type(), "referral.triaged");
  ASSERT_TRUE(app_->WebhookDelivered((*work)->row.delivery.delivery_id()).ok());
  EXPECT_FALSE(app_->NextWebhook(AgencyId("police-wmp"))->has_value());
  DeliveryFilter dead;
  dead.status = v1::DELIVERY_STATUS_DEAD_LETTERED;
  ASSERT_EQ(List(operator_, dead).deliveries.size(), 1u);

  // Another agency may not replay the police's deliveries.
  ReplayFilter replay;
  replay.agency = AgencyId("police-wmp");
  replay.transport = v1::TRANSPORT_WEBHOOK;
  EXPECT_EQ(
      app_->Replay(testing::PrincipalOf("nhs-lth-ae"), replay).status().code(),
      absl::StatusCode::kPermissionDenied);
  // The police replay their own: exactly the dead-lettered one.
  EXPECT_EQ(*app_->Replay(testing::PrincipalOf("police-wmp"), replay), 1);
  work = app_->NextWebhook(AgencyId("police-wmp"));
  ASSERT_TRUE(work.ok() && work->has_value());
  EXPECT_EQ((*work)->event.type(), "referral.received");
  EXPECT_EQ((*work)->row.delivery.attempts(), 0);
  EXPECT_EQ(List(operator_, dead).deliveries.size(), 0u);
  // Including the delivered ones, for one referral, by the operator; Kafka
  // too (its outbox records are queued again).
  replay.transport = v1::TRANSPORT_UNSPECIFIED;
  replay.include_delivered = true;
  replay.referral_id.emplace("r1");
  ASSERT_TRUE(db_->Write([](store::Tx& tx) -> absl::Status {
                   ASSIGN_OR_RETURN(
                       store::Statement q,
                       tx.Prepare("UPDATE outbox SET sent_at_ms = 1"));
                   return q.Run();
                 })
                  .ok());
  ASSERT_EQ(*app_->RecordKafkaAcks(), 2);
  EXPECT_EQ(*app_->Replay(operator_, replay), 3);
  // The two partner records queued again, and the acknowledgements' two
  // DeliveryRecorded events.
  EXPECT_EQ(*store::CountUnsent(*db_), 4);
}

// A provider on webhooks: what consent no longer covers is not sent.
TEST_F(NotificationAppTest, AWebhookWhoseConsentLapsedIsRefusedNotSent) {
  const std::string secret = dir_.File("idva.secret");
  std::ofstream(secret) << http::FormatWebhookSecret(std::string(32, 'i'));
  auto policy = ParsePolicy(absl::StrCat(R"(
subscriptions {
  agency_id: "wm-idva-service"
  shares {
    event_types: ["signpost.v1.AdvocateOffered", "signpost.v1.AssignmentReleased"]
    field_set: FIELD_SET_PROVIDER_CASE
    legal_basis: LEGAL_BASIS_CONSENT
    scope: SHARE_SCOPE_OWN_ASSIGNMENTS
  }
  transports: TRANSPORT_WEBHOOK
  webhook { url: "https://127.0.0.1:1/hook" secret_file: ")",
                                         secret, R"(" }
})"),
                            "test", *testing::TestRegistry());
  ASSERT_TRUE(policy.ok()) << policy.status();
  app_ = std::make_unique<NotificationApp>(*db_, std::move(*policy));
  ASSERT_EQ(Send(Received("r1", "police-wmp")), 0);
  ASSERT_EQ(Send(Triaged("r1", v1::REFERRAL_STATUS_ROUTED, false)), 2);
  ASSERT_EQ(Send(Advocacy("r1", "offered")), 1);
  ASSERT_TRUE(app_->NextWebhook(AgencyId("wm-idva-service"))->has_value());
  // The victim withdraws consent before the endpoint took the offer.
  ASSERT_EQ(Send(Withdrawn("r1")), 2);
  ASSERT_EQ(Send(Advocacy("r1", "released")), 2);  // and the referrer
  // The offer is refused; the withdrawal and the release still go.
  auto next = app_->NextWebhooks(AgencyId("wm-idva-service"), 10);
  ASSERT_TRUE(next.ok()) << next.status();
  std::vector<std::string> types;
  for (const WebhookWork& w : *next) types.push_back(w.event.type());
  EXPECT_THAT(types, ElementsAre("referral.withdrawn"));  // the head
  DeliveryFilter refused;
  refused.status = v1::DELIVERY_STATUS_REFUSED;
  DeliveryList list = List(operator_, refused);
  ASSERT_EQ(list.deliveries.size(), 1u);
  EXPECT_EQ(list.deliveries[0].event_type(), "signpost.v1.AdvocateOffered");
  EXPECT_EQ(list.deliveries[0].refusal_rule(), "SHARE-CONSENT-LAPSED");
  // And a replay does not bring it back.
  ReplayFilter replay;
  replay.agency = AgencyId("wm-idva-service");
  replay.include_delivered = true;
  EXPECT_EQ(*app_->Replay(operator_, replay), 0);
}

}  // namespace
}  // namespace signpost::notification
