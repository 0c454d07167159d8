// A referral's timeline and a person's subject access (issue 14), built
// from signed records alone: causal order across producers (a cause before
// its effects even when the clocks disagree), rule ids and policy version
// of a decision, deliveries with agency, transport and basis, access-audit
// entries found through the objects a referral's events name, re-sends
// counted once, records that do not verify never used, other referrals and
// other people left out, and the period applied.
#include "common/audit/timeline.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/events/envelope.h"
#include "common/ids/ids.h"
#include "common/time/timestamps.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/test_support.h"

namespace signpost::audit {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

const absl::Time kT0 = absl::FromUnixSeconds(1717405200);  // 3 Jun 2024 09:00

class TimelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::MakeSigningKeys(dir_.path());
    for (const events::TopicProducer& tp : events::kTopicProducers) {
      auto signer = events::EventSigner::FromPemFile(
          dir_.File(absl::StrCat(tp.producer, ".key")), tp.producer);
      ASSERT_TRUE(signer.ok()) << signer.status();
      signers_.emplace(tp.producer, std::make_unique<events::EventSigner>(
                                        std::move(*signer)));
    }
    auto keys = events::LoadVerifier(dir_.path());
    ASSERT_TRUE(keys.ok()) << keys.status();
    keys_ = std::make_unique<events::EventVerifier>(std::move(*keys));
  }

  // An envelope of `producer` for `referral` at kT0 + `minutes`, caused by
  // `cause` when given.
  static v1::EventEnvelope Event(const std::string& producer,
                                 const std::string& referral, int minutes,
                                 const v1::EventEnvelope* cause = nullptr) {
    v1::EventEnvelope e = events::NewEnvelope(producer, referral, cause);
    *e.mutable_occurred_at() =
        timeutil::ToTimestamp(kT0 + absl::Minutes(minutes));
    return e;
  }

  // `e` signed by `signer` on `topic` at the next offset of that topic.
  kafka::ConsumedMessage Record(v1::EventEnvelope e, const std::string& topic,
                                const std::string& signer) {
    events::StampType(&e);
    kafka::OutgoingMessage m{topic, e.referral_id(), e.SerializeAsString(),
                             events::CloudEventHeaders(e, "")};
    for (auto& h : signers_.at(signer)->Sign(m)) {
      m.headers.push_back(std::move(h));
    }
    return {m.topic, 0, next_offset_[topic]++, m.key, m.payload, m.headers};
  }
  kafka::ConsumedMessage Own(v1::EventEnvelope e) {
    const std::string producer = e.producer();
    std::string topic;
    for (const events::TopicProducer& tp : events::kTopicProducers) {
      if (tp.producer == producer) topic = tp.topic;
    }
    return Record(std::move(e), topic, producer);
  }
  kafka::ConsumedMessage Access(
      const std::string& producer, const std::string& agency,
      const std::string& object, int minutes, v1::FieldClass field_class,
      v1::AccessDecision decision, const std::string& rule,
      const std::string& rpc = "/signpost.v1.IntakeService/GetReferral") {
    v1::EventEnvelope e = Event(producer, object, minutes);
    v1::AccessAudited* a = e.mutable_access_audited();
    a->set_agency_id(agency);
    a->set_rpc(rpc);
    a->set_object_id(object);
    a->set_field_class(field_class);
    a->set_decision(decision);
    a->set_rule_id(rule);
    a->set_status_code(
        decision == v1::ACCESS_DECISION_REFUSED ? "PERMISSION_DENIED" : "OK");
    return Record(std::move(e), events::kAuditTopic, producer);
  }
  v1::EventEnvelope Delivery(const v1::EventEnvelope& cause,
                             const std::string& agency, int minutes,
                             v1::DeliveryStatus status, v1::FieldSet set) {
    v1::EventEnvelope e =
        Event("notification", cause.referral_id(), minutes, &cause);
    v1::DeliveryRecorded* d = e.mutable_delivery_recorded();
    d->set_delivery_id(NewUuid());
    d->set_agency_id(agency);
    d->set_delivered_event_id(cause.event_id());
    d->set_legal_basis("MARAC_SAFEGUARDING");
    d->set_transport(v1::TRANSPORT_KAFKA);
    d->set_status(status);
    d->set_field_set(set);
    return e;
  }
  v1::EventEnvelope Triaged(const v1::EventEnvelope& cause,
                            const std::string& person, int minutes) {
    v1::EventEnvelope e = Event("triage", cause.referral_id(), minutes, &cause);
    v1::ReferralTriaged* t = e.mutable_referral_triaged();
    t->set_risk(v1::RISK_LEVEL_HIGH);
    t->set_dash_score(17);
    t->set_marac(true);
    t->add_pathways(v1::PATHWAY_IDVA);
    t->set_policy_version("2026.11");
    t->set_person_id(person);
    t->add_reasons()->set_rule_id("RISK-DASH-HIGH");
    t->add_reasons()->set_rule_id("MARAC-HIGH-RISK");
    t->add_deadlines()->set_rule_id("SLA-HIGH-CONTACT");
    return e;
  }

  testing::TempDir dir_;
  std::map<std::string, std::unique_ptr<events::EventSigner>> signers_;
  std::unique_ptr<events::EventVerifier> keys_;
  std::map<std::string, int64_t> next_offset_;
};

TEST_F(TimelineTest, EveryServiceInCausalOrderWithRulesDeliveriesAndAccess) {
  const std::string r = NewUuid();
  const std::string person = NewUuid();
  v1::EventEnvelope received = Event("intake", r, 0);
  received.mutable_referral_received()->mutable_facts()->set_area_code("WMP");
  v1::EventEnvelope triaged = Triaged(received, person, 1);
  v1::EventEnvelope offered = Event("advocacy", r, 3, &triaged);
  offered.mutable_advocate_offered()->set_assignment_id("asg-1");
  // notification's clock is behind: still after the decision it delivers.
  v1::EventEnvelope told =
      Delivery(triaged, "marac-wmp", -5, v1::DELIVERY_STATUS_DELIVERED,
               v1::FIELD_SET_MARAC);
  v1::EventEnvelope elsewhere = Event("intake", NewUuid(), 2);
  elsewhere.mutable_referral_received();

  std::vector<kafka::ConsumedMessage> log;
  log.push_back(Own(told));
  log.push_back(Own(offered));
  log.push_back(Own(offered));  // re-sent: the same record again
  log.push_back(Own(triaged));
  log.push_back(Own(received));
  log.push_back(Own(elsewhere));
  // A provider's read of the assignment, a refused read of the referral,
  // and a read of another referral.
  log.push_back(Access("advocacy", "idva-wmp", "asg-1", 4,
                       v1::FIELD_CLASS_PERSONAL, v1::ACCESS_DECISION_ALLOWED,
                       "AUTHZ-OWN-PROVIDER"));
  log.push_back(Access("intake", "nhs-lth-ae", r, 5, v1::FIELD_CLASS_NONE,
                       v1::ACCESS_DECISION_REFUSED, "AUTHZ-OWN-REFERRAL"));
  log.push_back(Access("intake", "police-wmp", elsewhere.referral_id(), 5,
                       v1::FIELD_CLASS_PERSONAL, v1::ACCESS_DECISION_ALLOWED,
                       "AUTHZ-OWN-REFERRAL"));
  // A forgery: a decision of r signed with intake's key on triage's topic.
  v1::EventEnvelope forged = Triaged(received, person, 2);
  log.push_back(Record(forged, events::kTriageTopic, "intake"));

  v1::GetTimelineResponse t = BuildTimeline(log, *keys_, r);
  EXPECT_EQ(t.referral_id(), r);
  EXPECT_EQ(t.records_read(), 10);
  EXPECT_EQ(t.unverified(), 1);
  std::vector<std::string> order;
  for (const v1::TimelineEntry& e : t.entries()) {
    order.push_back(absl::StrCat(e.producer(), " ", e.type(), " ", e.depth()));
  }
  EXPECT_THAT(order, ElementsAre("intake signpost.v1.ReferralReceived 0",
                                 "triage signpost.v1.ReferralTriaged 1",
                                 "notification signpost.v1.DeliveryRecorded 2",
                                 "advocacy signpost.v1.AdvocateOffered 2",
                                 "advocacy signpost.v1.AccessAudited 0",
                                 "intake signpost.v1.AccessAudited 0"));
  const v1::TimelineEntry& decision = t.entries(1);
  EXPECT_THAT(
      decision.rule_ids(),
      ElementsAre("RISK-DASH-HIGH", "MARAC-HIGH-RISK", "SLA-HIGH-CONTACT"));
  EXPECT_EQ(decision.policy_version(), "2026.11");
  EXPECT_EQ(decision.event_id(), triaged.event_id());
  EXPECT_EQ(decision.causation_id(), received.event_id());
  EXPECT_THAT(decision.summary(), HasSubstr("risk=RISK_LEVEL_HIGH"));
  EXPECT_THAT(decision.summary(), HasSubstr("pathways=PATHWAY_IDVA"));
  // The person id is said by ListAccess, not in every line.
  EXPECT_EQ(decision.summary().find(person), std::string::npos);
  EXPECT_EQ(decision.position().topic(), events::kTriageTopic);

  const v1::TimelineEntry& delivery = t.entries(2);
  EXPECT_EQ(delivery.agency_id(), "marac-wmp");
  EXPECT_EQ(delivery.transport(), v1::TRANSPORT_KAFKA);
  EXPECT_EQ(delivery.legal_basis(), "MARAC_SAFEGUARDING");
  EXPECT_EQ(delivery.field_set(), v1::FIELD_SET_MARAC);
  EXPECT_EQ(delivery.delivery_status(), v1::DELIVERY_STATUS_DELIVERED);
  EXPECT_EQ(t.entries(3).resends(), 1);
  EXPECT_EQ(t.entries(0).resends(), 0);

  const v1::TimelineEntry& read = t.entries(4);
  EXPECT_EQ(read.agency_id(), "idva-wmp");
  EXPECT_EQ(read.field_class(), v1::FIELD_CLASS_PERSONAL);
  EXPECT_EQ(read.decision(), v1::ACCESS_DECISION_ALLOWED);
  EXPECT_THAT(read.rule_ids(), ElementsAre("AUTHZ-OWN-PROVIDER"));
  EXPECT_EQ(t.entries(5).decision(), v1::ACCESS_DECISION_REFUSED);

  // A referral the log does not hold: nothing.
  EXPECT_THAT(BuildTimeline(log, *keys_, NewUuid()).entries(), IsEmpty());
}

TEST_F(TimelineTest, AccessListsReceiptsAndReadsOfThePersonInThePeriodOnly) {
  const std::string p = NewUuid();
  const std::string q = NewUuid();
  const std::string r = NewUuid();  // p's
  const std::string s = NewUuid();  // q's
  v1::EventEnvelope r_in = Event("intake", r, 0);
  r_in.mutable_referral_received();
  v1::EventEnvelope r_dec = Triaged(r_in, p, 1);
  v1::EventEnvelope r_off = Event("advocacy", r, 2, &r_dec);
  r_off.mutable_advocate_offered()->set_assignment_id("asg-r");
  v1::EventEnvelope s_in = Event("intake", s, 0);
  s_in.mutable_referral_received();
  v1::EventEnvelope s_dec = Triaged(s_in, q, 1);

  v1::EventEnvelope told =
      Delivery(r_dec, "marac-wmp", 2, v1::DELIVERY_STATUS_DELIVERED,
               v1::FIELD_SET_MARAC);
  // The same share delivered again (ReplayDeliveries): a new event, the
  // same delivery.
  v1::EventEnvelope again =
      Delivery(r_dec, "marac-wmp", 3, v1::DELIVERY_STATUS_DELIVERED,
               v1::FIELD_SET_MARAC);
  again.mutable_delivery_recorded()->set_delivery_id(
      told.delivery_recorded().delivery_id());
  std::vector<kafka::ConsumedMessage> log = {
      Own(r_in),
      Own(r_dec),
      Own(r_off),
      Own(s_in),
      Own(s_dec),
      Own(told),
      Own(again),
      // An auditor's look at the timeline is not a read of the person.
      Access("notification", "signpost-auditor", r, 3,
             v1::FIELD_CLASS_IDS_AND_CODES, v1::ACCESS_DECISION_ALLOWED,
             "AUTHZ-FUNCTION", "/signpost.v1.AuditService/GetTimeline"),
      // Refused shares and refused reads released nothing.
      Own(Delivery(r_dec, "pcc-wmp", 2, v1::DELIVERY_STATUS_REFUSED,
                   v1::FIELD_SET_COMMISSIONING)),
      Access("intake", "nhs-lth-ae", r, 3, v1::FIELD_CLASS_NONE,
             v1::ACCESS_DECISION_REFUSED, "AUTHZ-OWN-REFERRAL"),
      Access("intake", "signpost-operator", r, 4, v1::FIELD_CLASS_PERSONAL,
             v1::ACCESS_DECISION_BREAK_GLASS, "AUTHZ-BREAK-GLASS"),
      Access("advocacy", "idva-wmp", "asg-r", 5, v1::FIELD_CLASS_PERSONAL,
             v1::ACCESS_DECISION_ALLOWED, "AUTHZ-OWN-PROVIDER"),
      // Outside the period asked for.
      Access("intake", "police-wmp", r, 600, v1::FIELD_CLASS_PERSONAL,
             v1::ACCESS_DECISION_ALLOWED, "AUTHZ-OWN-REFERRAL"),
      // q's referral.
      Access("intake", "police-wmp", s, 4, v1::FIELD_CLASS_PERSONAL,
             v1::ACCESS_DECISION_ALLOWED, "AUTHZ-OWN-REFERRAL"),
  };
  v1::ListAccessResponse mine =
      BuildAccessList(log, *keys_, p, kT0, kT0 + absl::Hours(1));
  EXPECT_THAT(mine.referral_ids(), ElementsAre(r));
  std::vector<std::string> got;
  for (const v1::AccessEntry& a : mine.entries()) {
    got.push_back(absl::StrCat(a.agency_id(), " ",
                               v1::AccessKind_Name(a.kind()), " ",
                               v1::FieldClass_Name(a.field_class()), " ",
                               a.basis(), " ", a.referral_id()));
  }
  EXPECT_THAT(
      got,
      ElementsAre(
          absl::StrCat("marac-wmp ACCESS_KIND_RECEIVED FIELD_CLASS_MARAC_SET "
                       "MARAC_SAFEGUARDING ",
                       r),
          absl::StrCat("signpost-operator ACCESS_KIND_BREAK_GLASS "
                       "FIELD_CLASS_PERSONAL AUTHZ-BREAK-GLASS ",
                       r),
          absl::StrCat("idva-wmp ACCESS_KIND_READ FIELD_CLASS_PERSONAL "
                       "AUTHZ-OWN-PROVIDER ",
                       r)));
  EXPECT_EQ(mine.entries(0).transport(), v1::TRANSPORT_KAFKA);
  EXPECT_EQ(mine.entries(0).field_set(), v1::FIELD_SET_MARAC);
  EXPECT_EQ(mine.entries(2).object_id(), "asg-r");

  v1::ListAccessResponse theirs =
      BuildAccessList(log, *keys_, q, kT0, kT0 + absl::Hours(1));
  ASSERT_EQ(theirs.entries_size(), 1);
  EXPECT_EQ(theirs.entries(0).referral_id(), s);
  EXPECT_THAT(BuildAccessList(log, *keys_, NewUuid(), kT0, kT0 + absl::Hours(1))
                  .entries(),
              IsEmpty());
}

TEST(TimelineRequestTest, EveryBadFieldIsNamed) {
  v1::GetTimelineRequest t;
  EXPECT_THAT(CheckTimelineRequest(t).ToStatus().message(),
              HasSubstr("referral_id"));
  t.set_referral_id("not-a-uuid");
  EXPECT_EQ(CheckTimelineRequest(t).size(), 1u);
  t.set_referral_id(NewUuid());
  EXPECT_TRUE(CheckTimelineRequest(t).empty());

  v1::ListAccessRequest a;
  errors::FieldErrors none = CheckListAccessRequest(a);
  EXPECT_EQ(none.size(), 3u);  // person_id, from, to
  a.set_person_id(NewUuid());
  *a.mutable_from() = timeutil::ToTimestamp(kT0);
  *a.mutable_to() = timeutil::ToTimestamp(kT0);
  std::vector<std::string> bad;
  for (const auto& v :
       errors::FieldViolationsOf(CheckListAccessRequest(a).ToStatus())) {
    bad.push_back(v.field);
  }
  EXPECT_THAT(bad, ElementsAre("to"));
  *a.mutable_to() = timeutil::ToTimestamp(kT0 + absl::Hours(1));
  EXPECT_TRUE(CheckListAccessRequest(a).empty());
}

}  // namespace
}  // namespace signpost::audit
