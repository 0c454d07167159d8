// The partner policy (subscriptions.h), routing (routing.h) and projections
// (projection.h): pure code, table-driven where it can be.
#include "services/notification/routing.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include "common/errors/errors.h"
#include "common/http/webhook_signature.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/reflection.h"
#include "gtest/gtest.h"
#include "services/notification/projection.h"
#include "services/notification/subscriptions.h"
#include "tests/support/partner_field_sets.h"
#include "tests/support/test_support.h"

namespace signpost::notification {
namespace {

using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

PartnerPolicy Example() {
  auto policy =
      LoadPolicy(testing::SourcePath("examples/subscriptions.textproto"),
                 *testing::TestRegistry());
  EXPECT_TRUE(policy.ok()) << policy.status();
  return policy.ok() ? *std::move(policy) : PartnerPolicy();
}

absl::Status Parse(const std::string& text) {
  return ParsePolicy(text, "subs.textproto", *testing::TestRegistry()).status();
}

TEST(PolicyTest, TheExampleLoadsAndResolvesAreasAndTransports) {
  PartnerPolicy policy = Example();
  const AgencyPolicy* idva = policy.Find("wm-idva-service");
  ASSERT_NE(idva, nullptr);
  EXPECT_THAT(idva->areas, UnorderedElementsAre("WMP"));  // from the registry
  EXPECT_THAT(idva->transports, UnorderedElementsAre(v1::TRANSPORT_KAFKA));
  // Registered without a subscription: the stream only.
  EXPECT_THAT(policy.TransportsOf("nhs-lth-ae"),
              UnorderedElementsAre(v1::TRANSPORT_GRPC_STREAM));
  EXPECT_TRUE(policy.TransportsOf("not-registered").empty());
  EXPECT_EQ(policy.AgencyOfProvider("wm-victim-advice-line"),
            "victim-advice-line-wmp");
}

TEST(PolicyTest, EveryProblemIsNamedWithItsLine) {
  absl::Status status = Parse(R"(subscriptions {
  agency_id: "nobody-here"
}
subscriptions {
  agency_id: "wm-idva-service"
  areas: "GMP"
  shares {
    event_types: ["signpost.v1.OrderRecorded", "signpost.v1.Nope"]
    field_set: FIELD_SET_MARAC
    legal_basis: LEGAL_BASIS_LAW_ENFORCEMENT
    scope: SHARE_SCOPE_AREA
  }
  shares {
    event_types: "signpost.v1.ReferralTriaged"
    field_set: FIELD_SET_PROVIDER_CASE
  }
  transports: [TRANSPORT_WEBHOOK]
  webhook { url: "http://plain.example/hook" }
}
subscriptions {
  agency_id: "police-wmp"
  shares {
    event_types: "signpost.v1.ReferralTriaged"
    field_set: FIELD_SET_REFERRER_OUTCOME
    legal_basis: LEGAL_BASIS_OWN_REFERRAL
    scope: SHARE_SCOPE_AREA
  }
}
subscriptions {
  agency_id: "police-wmp"
})");
  ASSERT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  // The message names the first problems; the violations carry them all.
  std::string m(status.message());
  for (const errors::FieldViolation& v : errors::FieldViolationsOf(status)) {
    absl::StrAppend(&m, "\n", v.description);
  }
  EXPECT_THAT(m, HasSubstr("subs.textproto: "));
  EXPECT_THAT(m, HasSubstr("line 2: subscription 'nobody-here': agency_id "
                           "is not in the agency registry"));
  EXPECT_THAT(m, HasSubstr("line 6: subscription 'wm-idva-service': area "
                           "'GMP' is not one of the agency's registry areas"));
  EXPECT_THAT(m, HasSubstr("line 9: subscription 'wm-idva-service': "
                           "FIELD_SET_MARAC needs the role "
                           "ROLE_MARAC_COORDINATOR"));
  EXPECT_THAT(m, HasSubstr("LEGAL_BASIS_LAW_ENFORCEMENT is not a basis for "
                           "FIELD_SET_MARAC"));
  EXPECT_THAT(m, HasSubstr("'signpost.v1.Nope' is not an event type"));
  EXPECT_THAT(m, HasSubstr("FIELD_SET_MARAC cannot carry "
                           "'signpost.v1.OrderRecorded'"));
  EXPECT_THAT(m, HasSubstr("legal_basis is required"));
  EXPECT_THAT(m, HasSubstr("scope is required"));
  EXPECT_THAT(m, HasSubstr("webhook.url must be an https:// URL"));
  EXPECT_THAT(m, HasSubstr("webhook.secret_file is required"));
  EXPECT_THAT(m, HasSubstr("REFERRER_OUTCOME is the closed loop"));
  EXPECT_THAT(m, HasSubstr("OWN_REFERRAL is the closed loop's basis"));
  EXPECT_THAT(m, HasSubstr("line 30: subscription 'police-wmp': the agency "
                           "already has a subscription, on line 20"));
}

TEST(PolicyTest, AWebhookSecretMustBeReadableAndWellFormed) {
  testing::TempDir dir;
  const std::string bad = dir.File("bad.secret");
  std::ofstream(bad) << "not-a-secret";
  const std::string good = dir.File("good.secret");
  std::ofstream(good) << http::FormatWebhookSecret(std::string(32, 's'))
                      << "\n";
  auto hook = [](const std::string& file) {
    return absl::StrCat(R"(subscriptions {
  agency_id: "nhs-lth-ae"
  transports: TRANSPORT_WEBHOOK
  webhook { url: "https://example.nhs.uk/hook" secret_file: ")",
                        file, R"(" }
})");
  };
  EXPECT_THAT(std::string(Parse(hook(bad)).message()),
              HasSubstr("webhook.secret_file: "));
  EXPECT_THAT(std::string(Parse(hook(dir.File("missing"))).message()),
              HasSubstr("cannot read"));
  auto policy = ParsePolicy(hook(good), "x", *testing::TestRegistry());
  ASSERT_TRUE(policy.ok()) << policy.status();
  ASSERT_TRUE(policy->Find("nhs-lth-ae")->webhook.has_value());
  EXPECT_EQ(policy->Find("nhs-lth-ae")->webhook->secret, std::string(32, 's'));
  EXPECT_EQ(policy->Find("nhs-lth-ae")->webhook->max_retry, absl::Hours(24));
}

v1::EventEnvelope Event(const std::string& referral_id,
                        const std::string& type) {
  v1::EventEnvelope e;
  e.set_event_id("e-" + type);
  e.set_referral_id(referral_id);
  e.set_type("signpost.v1." + type);
  return e;
}

ReferralContext Context(bool consent_required, bool marac,
                        const std::string& area = "WMP") {
  ReferralContext c;
  c.area_code = area;
  c.consent_required = consent_required;
  c.marac = marac;
  return c;
}

// (agency, field set, refusal rule) of each decision.
std::set<std::tuple<std::string, v1::FieldSet, std::string>> Decided(
    const std::vector<ShareDecision>& decisions) {
  std::set<std::tuple<std::string, v1::FieldSet, std::string>> out;
  for (const ShareDecision& d : decisions) {
    out.emplace(d.agency_id, d.field_set, d.refusal_rule);
  }
  return out;
}

TEST(RoutingTest, SharesAreMadeOnlyWhenTheirBasisHolds) {
  PartnerPolicy policy = Example();
  ReferralAudience audience;
  audience.referrer_agency = "police-wmp";
  audience.providers = {"wm-idva-service"};
  using T = std::tuple<std::string, v1::FieldSet, std::string>;
  struct Case {
    const char* name;
    ReferralContext context;
    std::set<T> want;
  };
  const T referrer{"police-wmp", v1::FIELD_SET_REFERRER_OUTCOME, ""};
  const Case cases[] = {
      {"consent, MARAC",
       Context(false, true),
       {referrer,
        {"marac-coordinator-wmp", v1::FIELD_SET_MARAC, ""},
        {"wm-idva-service", v1::FIELD_SET_PROVIDER_CASE, ""}}},
      {"no consent, MARAC",
       Context(true, true),
       {referrer,
        {"marac-coordinator-wmp", v1::FIELD_SET_MARAC, ""},
        {"wm-idva-service", v1::FIELD_SET_PROVIDER_CASE, "SHARE-NO-CONSENT"}}},
      {"no consent, no MARAC",
       Context(true, false),
       {referrer,
        {"wm-idva-service", v1::FIELD_SET_PROVIDER_CASE, "SHARE-NO-CONSENT"}}},
      {"another area", Context(false, true, "GMP"), {referrer}},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(Decided(RouteReferralEvent(policy, Event("r1", "ReferralTriaged"),
                                         c.context, audience)),
              c.want)
        << c.name;
  }
}

TEST(RoutingTest, ALaterShareWhoseBasisHoldsReplacesARefusal) {
  auto policy = ParsePolicy(R"(subscriptions {
  agency_id: "marac-coordinator-wmp"
  shares {
    event_types: "signpost.v1.ReferralTriaged"
    field_set: FIELD_SET_MARAC
    legal_basis: LEGAL_BASIS_CONSENT
    scope: SHARE_SCOPE_MARAC
  }
  shares {
    event_types: "signpost.v1.ReferralTriaged"
    field_set: FIELD_SET_MARAC
    legal_basis: LEGAL_BASIS_MARAC_SAFEGUARDING
    scope: SHARE_SCOPE_MARAC
  }
})",
                            "x", *testing::TestRegistry());
  ASSERT_TRUE(policy.ok()) << policy.status();
  std::vector<ShareDecision> decisions =
      RouteReferralEvent(*policy, Event("r1", "ReferralTriaged"),
                         Context(/*consent_required=*/true, true), {});
  ASSERT_EQ(decisions.size(), 1u);
  EXPECT_EQ(decisions[0].refusal_rule, "");
  EXPECT_EQ(decisions[0].basis, v1::LEGAL_BASIS_MARAC_SAFEGUARDING);
}

TEST(RoutingTest, ProvidersGetOnlyTheirOwnAssignments) {
  PartnerPolicy policy = Example();
  ReferralAudience audience;
  audience.referrer_agency = "nhs-lth-ae";
  audience.event_has_assignment = true;
  audience.event_provider = "wm-rape-crisis";
  // wm-idva-service holds another assignment of the referral.
  audience.providers = {"wm-idva-service", "wm-rape-crisis"};
  using Set = std::set<std::tuple<std::string, v1::FieldSet, std::string>>;
  EXPECT_EQ(Decided(RouteReferralEvent(policy, Event("r1", "AdvocateOffered"),
                                       Context(false, false), audience)),
            (Set{{"wm-rape-crisis", v1::FIELD_SET_PROVIDER_CASE, ""}}));
  // A waitlisted assignment has no provider: no provider hears of it, not
  // even one holding another of the referral's assignments.
  audience.event_provider.clear();
  EXPECT_EQ(
      Decided(RouteReferralEvent(policy, Event("r1", "ReferralWaitlisted"),
                                 Context(false, false), audience)),
      (Set{{"nhs-lth-ae", v1::FIELD_SET_REFERRER_OUTCOME, ""}}));
  // An event about the referral as a whole reaches the providers holding
  // live assignments of it.
  audience.event_has_assignment = false;
  EXPECT_EQ(Decided(RouteReferralEvent(policy, Event("r1", "ReferralTriaged"),
                                       Context(false, false), audience)),
            (Set{{"nhs-lth-ae", v1::FIELD_SET_REFERRER_OUTCOME, ""},
                 {"wm-idva-service", v1::FIELD_SET_PROVIDER_CASE, ""}}));
  audience.providers.clear();
  EXPECT_EQ(Decided(RouteReferralEvent(policy, Event("r1", "ReferralTriaged"),
                                       Context(false, false), audience)),
            (Set{{"nhs-lth-ae", v1::FIELD_SET_REFERRER_OUTCOME, ""}}));
}

TEST(RoutingTest, TheClosedLoopReachesTheReferrerAndLinkedReferrersOnly) {
  PartnerPolicy policy = Example();
  ReferralAudience audience;
  audience.referrer_agency = "sarc-wmp";
  audience.linked_referrers = {{"nhs-lth-ae", "r2"}};
  std::vector<ShareDecision> decisions = RouteReferralEvent(
      policy, Event("r1", "CaseClosed"), Context(true, false), audience);
  ASSERT_EQ(decisions.size(), 2u);
  EXPECT_EQ(decisions[0].agency_id, "sarc-wmp");
  EXPECT_EQ(decisions[0].partner_referral_id, "r1");
  EXPECT_EQ(decisions[0].basis, v1::LEGAL_BASIS_OWN_REFERRAL);
  EXPECT_EQ(decisions[1].agency_id, "nhs-lth-ae");
  EXPECT_EQ(decisions[1].partner_referral_id, "r2");
  EXPECT_EQ(decisions[1].linked_referral_id, "r1");
  // Progress a referrer is not told about, and an unregistered referrer.
  EXPECT_TRUE(RouteReferralEvent(policy, Event("r1", "AdvocateOffered"),
                                 Context(false, false), audience)
                  .empty());
  audience.referrer_agency = "someone-else";
  audience.linked_referrers.clear();
  EXPECT_TRUE(RouteReferralEvent(policy, Event("r1", "CaseClosed"),
                                 Context(false, false), audience)
                  .empty());
  // Internal events partners never see.
  EXPECT_TRUE(RouteReferralEvent(policy, Event("r1", "RiskOverridden"),
                                 Context(false, true), audience)
                  .empty());
}

TEST(RoutingTest, AWithdrawalGoesToThoseToldInTheirSetsOnly) {
  PartnerPolicy policy = Example();
  ReferralAudience audience;
  audience.referrer_agency = "police-wmp";
  audience.told = {{"marac-coordinator-wmp", v1::FIELD_SET_MARAC,
                    v1::LEGAL_BASIS_MARAC_SAFEGUARDING, "r1", ""},
                   {"police-wmp", v1::FIELD_SET_REFERRER_OUTCOME,
                    v1::LEGAL_BASIS_OWN_REFERRAL, "r1", ""}};
  std::vector<ShareDecision> decisions = RouteReferralEvent(
      policy, Event("r1", "ReferralWithdrawn"), Context(true, true), audience);
  ASSERT_EQ(decisions.size(), 2u);
  EXPECT_EQ(decisions[0].basis, v1::LEGAL_BASIS_MARAC_SAFEGUARDING);
  EXPECT_EQ(decisions[0].refusal_rule, "");
}

TEST(RoutingTest, AMaracActionGoesToTheAgencyItIsAllocatedTo) {
  PartnerPolicy policy = Example();
  ReferralAudience audience;
  audience.referrer_agency = "police-wmp";
  v1::EventEnvelope e = Event("r1", "MaracActionAllocated");
  v1::MaracActionAllocated* a = e.mutable_marac_action_allocated();
  a->set_action_id("a1");
  a->set_meeting_id("m1");
  a->set_area_code("WMP");
  a->set_agency_id("wm-refuge");  // no subscription, and not MARAC's own
  a->set_kind("MARAC_ACTION_KIND_HOUSING");
  a->mutable_due()->set_seconds(1717405200);
  using Set = std::set<std::tuple<std::string, v1::FieldSet, std::string>>;
  std::vector<ShareDecision> decisions =
      RouteReferralEvent(policy, e, Context(true, true), audience);
  EXPECT_EQ(Decided(decisions), (Set{{"wm-refuge", v1::FIELD_SET_MARAC, ""}}));
  ASSERT_EQ(decisions.size(), 1u);
  EXPECT_EQ(decisions[0].basis, v1::LEGAL_BASIS_MARAC_SAFEGUARDING);
  EXPECT_EQ(decisions[0].partner_referral_id, "r1");
  // The referral has left MARAC: the basis no longer holds.
  EXPECT_EQ(
      Decided(RouteReferralEvent(policy, e, Context(true, false), audience)),
      (Set{{"wm-refuge", v1::FIELD_SET_MARAC, "SHARE-NO-MARAC"}}));
  // An agency that is not registered hears nothing.
  a->set_agency_id("not-registered");
  EXPECT_TRUE(
      RouteReferralEvent(policy, e, Context(true, true), audience).empty());

  // Ids and codes only.
  v1::ReferralTriaged decision;
  decision.set_area_code("WMP");
  decision.set_dash_score(19);
  a->set_agency_id("wm-refuge");
  v1::PartnerEvent p = Project(e, {&decision, ""}, v1::FIELD_SET_MARAC);
  EXPECT_EQ(p.type(), "marac.action.allocated");
  EXPECT_EQ(p.marac_meeting_id(), "m1");
  EXPECT_EQ(p.marac_action_id(), "a1");
  EXPECT_EQ(p.marac_action_kind(), "MARAC_ACTION_KIND_HOUSING");
  EXPECT_EQ(p.due().seconds(), 1717405200);
  EXPECT_EQ(p.area_code(), "WMP");
  EXPECT_EQ(p.dash_score(), 0);  // not from the decision: not the event's
}

TEST(RoutingTest, ADecisionsContextForgetsThePerson) {
  v1::ReferralTriaged decision;
  decision.set_area_code("WMP");
  decision.set_status(v1::REFERRAL_STATUS_ROUTED);
  decision.set_person_id("person-1");
  ReferralContext context = ContextOf(decision);
  EXPECT_FALSE(context.consent_required);
  EXPECT_TRUE(context.decision.person_id().empty());
  decision.set_status(v1::REFERRAL_STATUS_CONSENT_REQUIRED);
  EXPECT_TRUE(ContextOf(decision).consent_required);
}

// Sets every field of every message in `m` to a non-default value.
void FillAll(google::protobuf::Message* m, int depth = 0) {
  const auto* d = m->GetDescriptor();
  const auto* r = m->GetReflection();
  for (int i = 0; i < d->field_count(); ++i) {
    const auto* f = d->field(i);
    using FD = google::protobuf::FieldDescriptor;
    if (f->containing_oneof() != nullptr && depth == 0) continue;
    switch (f->cpp_type()) {
      case FD::CPPTYPE_STRING:
        f->is_repeated() ? r->AddString(m, f, "x-" + f->name())
                         : r->SetString(m, f, "x-" + f->name());
        break;
      case FD::CPPTYPE_BOOL:
        f->is_repeated() ? r->AddBool(m, f, true) : r->SetBool(m, f, true);
        break;
      case FD::CPPTYPE_INT32:
        f->is_repeated() ? r->AddInt32(m, f, 7) : r->SetInt32(m, f, 7);
        break;
      case FD::CPPTYPE_INT64:
        f->is_repeated() ? r->AddInt64(m, f, 7) : r->SetInt64(m, f, 7);
        break;
      case FD::CPPTYPE_ENUM: {
        const auto* value = f->enum_type()->value(
            std::min(1, f->enum_type()->value_count() - 1));
        f->is_repeated() ? r->AddEnum(m, f, value) : r->SetEnum(m, f, value);
        break;
      }
      case FD::CPPTYPE_MESSAGE:
        if (depth < 3) {
          FillAll(
              f->is_repeated() ? r->AddMessage(m, f) : r->MutableMessage(m, f),
              depth + 1);
        }
        break;
      default:
        break;
    }
  }
}

TEST(ProjectionTest, EveryEventInEverySetHoldsOnlyThatSetsFields) {
  const auto* envelope = v1::EventEnvelope::descriptor();
  const auto* payload = envelope->FindOneofByName("payload");
  v1::ReferralTriaged decision;
  FillAll(&decision, 1);
  int checked = 0;
  for (int i = 0; i < payload->field_count(); ++i) {
    const auto* field = payload->field(i);
    const std::string type =
        absl::StrCat("signpost.v1.", field->message_type()->name());
    if (PartnerTypeOf(type).empty()) continue;
    v1::EventEnvelope e;
    e.set_event_id("e1");
    e.set_referral_id("r1");
    e.set_type(type);
    FillAll(e.GetReflection()->MutableMessage(&e, field), 1);
    for (const auto& [set, allowed] : testing::PublishedFieldSets()) {
      if (!CanCarry(set, type)) continue;
      v1::PartnerEvent p = Project(e, {&decision, "provider-x"}, set);
      std::vector<const google::protobuf::FieldDescriptor*> present;
      p.GetReflection()->ListFields(p, &present);
      for (const auto* f : present) {
        if (HeaderFields().count(f->name()) != 0) continue;
        EXPECT_EQ(allowed.count(f->name()), 1u)
            << type << " in " << v1::FieldSet_Name(set) << " holds "
            << f->name();
      }
      EXPECT_EQ(p.type(), PartnerTypeOf(type));
      EXPECT_EQ(p.field_set(), set);
      ++checked;
    }
  }
  EXPECT_GE(checked, 30);
}

TEST(ProjectionTest, TheProjectionTablesMatchThePublishedSets) {
  for (const auto& [set, fields] : testing::PublishedFieldSets()) {
    EXPECT_EQ(FieldsOf(set), fields) << v1::FieldSet_Name(set);
  }
}

// An event of `type` with every payload field filled.
v1::EventEnvelope FilledEvent(const std::string& type) {
  const auto* payload =
      v1::EventEnvelope::descriptor()->FindOneofByName("payload");
  v1::EventEnvelope e;
  e.set_event_id("e1");
  e.set_referral_id("r1");
  e.set_type(type);
  for (int i = 0; i < payload->field_count(); ++i) {
    const auto* field = payload->field(i);
    if (absl::StrCat("signpost.v1.", field->message_type()->name()) == type) {
      FillAll(e.GetReflection()->MutableMessage(&e, field), 1);
    }
  }
  return e;
}

// Issue 16: an event told to many agencies in one field set is projected
// once; each agency still gets byte for byte what Project gives it.
TEST(ProjectionCacheTest, AgenciesInOneSetShareOneProjection) {
  v1::ReferralTriaged decision;
  FillAll(&decision, 1);
  const v1::EventEnvelope e = FilledEvent("signpost.v1.ReferralTriaged");
  ProjectionCache cache(e, {&decision, "provider-x"});
  for (int agency = 0; agency < 6; ++agency) {
    EXPECT_EQ(cache.In(v1::FIELD_SET_MARAC).SerializeAsString(),
              Project(e, {&decision, "provider-x"}, v1::FIELD_SET_MARAC)
                  .SerializeAsString());
  }
  EXPECT_EQ(cache.computed(), 1);
  for (int agency = 0; agency < 4; ++agency) {
    EXPECT_EQ(
        cache.In(v1::FIELD_SET_REFERRER_OUTCOME).SerializeAsString(),
        Project(e, {&decision, "provider-x"}, v1::FIELD_SET_REFERRER_OUTCOME)
            .SerializeAsString());
    cache.In(v1::FIELD_SET_MARAC);
  }
  EXPECT_EQ(cache.computed(), 2);
}

// The victim-safety rule through the cache: whatever sets one event was
// projected in before, and in whatever order, each agency's copy holds its
// own set's fields only.
TEST(ProjectionCacheTest, ACachedProjectionHoldsOnlyItsOwnSetsFields) {
  const auto* payload =
      v1::EventEnvelope::descriptor()->FindOneofByName("payload");
  v1::ReferralTriaged decision;
  FillAll(&decision, 1);
  int checked = 0;
  for (int i = 0; i < payload->field_count(); ++i) {
    const std::string type =
        absl::StrCat("signpost.v1.", payload->field(i)->message_type()->name());
    if (PartnerTypeOf(type).empty()) continue;
    const v1::EventEnvelope e = FilledEvent(type);
    for (bool reversed : {false, true}) {
      std::vector<std::pair<v1::FieldSet, std::set<std::string>>> sets(
          testing::PublishedFieldSets().begin(),
          testing::PublishedFieldSets().end());
      if (reversed) std::reverse(sets.begin(), sets.end());
      ProjectionCache cache(e, {&decision, "provider-x"});
      int used = 0;
      for (int round = 0; round < 2; ++round) {
        for (const auto& [set, allowed] : sets) {
          if (!CanCarry(set, type)) continue;
          used += round == 0 ? 1 : 0;
          const v1::PartnerEvent& p = cache.In(set);
          std::vector<const google::protobuf::FieldDescriptor*> present;
          p.GetReflection()->ListFields(p, &present);
          for (const auto* f : present) {
            if (HeaderFields().count(f->name()) != 0) continue;
            EXPECT_EQ(allowed.count(f->name()), 1u)
                << type << " in " << v1::FieldSet_Name(set) << " holds "
                << f->name();
          }
          EXPECT_EQ(p.field_set(), set);
          EXPECT_EQ(
              p.SerializeAsString(),
              Project(e, {&decision, "provider-x"}, set).SerializeAsString());
          ++checked;
        }
      }
      EXPECT_EQ(cache.computed(), used) << type;
    }
  }
  EXPECT_GE(checked, 100);
}

TEST(ProjectionTest, PartnerEventIdsAreStableAndDistinct) {
  const std::string a =
      PartnerEventId("police-wmp", "e1", v1::FIELD_SET_REFERRER_OUTCOME);
  EXPECT_EQ(a,
            PartnerEventId("police-wmp", "e1", v1::FIELD_SET_REFERRER_OUTCOME));
  EXPECT_NE(a,
            PartnerEventId("sarc-wmp", "e1", v1::FIELD_SET_REFERRER_OUTCOME));
  EXPECT_NE(a,
            PartnerEventId("police-wmp", "e2", v1::FIELD_SET_REFERRER_OUTCOME));
  EXPECT_NE(a, PartnerEventId("police-wmp", "e1", v1::FIELD_SET_MARAC));
  EXPECT_TRUE(IsUuid(a));
  EXPECT_EQ(PartnerTopic("police-wmp"), "signpost.partner.police-wmp.v1");
  EXPECT_EQ(BasisName(v1::LEGAL_BASIS_MARAC_SAFEGUARDING),
            "MARAC_SAFEGUARDING");
}

}  // namespace
}  // namespace signpost::notification
