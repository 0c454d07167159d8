// The triage gRPC adapter over an in-process server (mutual TLS, each call
// as a registered agency) and a real SQLite file.
#include "services/triage/triage_service.h"

#include <algorithm>
#include <atomic>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "common/access/authz.h"
#include "common/events/envelope.h"
#include "common/grpc/status.h"
#include "common/ids/ids.h"
#include "common/store/outbox.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/intake/validation.h"
#include "services/triage/triage_app.h"
#include "services/triage/triage_store.h"
#include "signpost/v1/triage.grpc.pb.h"
#include "tests/services/triage/policy_fixture.h"
#include "tests/support/paging_checks.h"
#include "tests/support/test_support.h"

namespace signpost::triage {
namespace {

using ::testing::ElementsAre;
using testing::PageResult;
using ::testing::UnorderedElementsAre;

// The agencies calling: the examples' referrer, the area's MARAC
// coordinator, another referrer of the area, Signpost's operator.
constexpr char kReferrer[] = "police-wmp";
constexpr char kMarac[] = "marac-coordinator-wmp";
constexpr char kOtherReferrer[] = "nhs-lth-ae";
constexpr char kOperator[] = "signpost-operator";

class TriageServiceTest : public ::testing::Test {
 protected:
  TriageServiceTest()
      : db_(OpenDb(dir_)),
        app_(*db_, SharedDefaultPolicy(), testing::TestPersonKeys()),
        gate_(*db_, "triage"),
        api_(
            app_, [this] { ++wakes_; }, gate_.gate()),
        server_({&api_}) {}

  // A stub presenting `agency`'s certificate (one channel per agency).
  v1::TriageService::Stub* Stub(const std::string& agency) {
    std::unique_ptr<v1::TriageService::Stub>& stub = stubs_[agency];
    if (stub == nullptr) {
      stub = v1::TriageService::NewStub(server_.ChannelAs(agency));
    }
    return stub.get();
  }

  static std::unique_ptr<store::Database> OpenDb(const testing::TempDir& dir) {
    auto db =
        store::Database::Open(dir.File("triage.db"), TriageStore::Migrations());
    EXPECT_TRUE(db.ok()) << db.status();
    return db.ok() ? std::move(*db) : nullptr;
  }

  // Triages `example` as the event consumer would; returns the referral id.
  std::string Received(const std::string& example) {
    std::string id = NewUuid();
    v1::EventEnvelope e = events::NewEnvelope("intake", id);
    *e.mutable_referral_received()->mutable_facts() =
        intake::ExtractFacts(testing::LoadExample(example).referral());
    events::StampType(&e);
    absl::Status status = db_->Write([&](store::Tx& tx) -> absl::Status {
      return app_.TriageReceived(tx, e, NewTraceparent()).status();
    });
    EXPECT_TRUE(status.ok()) << status;
    return id;
  }

  grpc::Status Get(const std::string& referral_id,
                   v1::GetDecisionResponse* response,
                   const std::string& agency = kReferrer) {
    v1::GetDecisionRequest request;
    request.set_referral_id(referral_id);
    auto context = testing::ContextWithDeadline();
    return Stub(agency)->GetDecision(context.get(), request, response);
  }
  grpc::Status Override(const v1::OverrideRiskRequest& request,
                        v1::DecisionVersion* response,
                        const std::string& agency = kReferrer) {
    auto context = testing::ContextWithDeadline();
    return testing::Unwrapped<v1::OverrideRiskResponse>(
        [&](v1::OverrideRiskResponse* r) {
          return Stub(agency)->OverrideRisk(context.get(), request, r);
        },
        response, &v1::OverrideRiskResponse::decision);
  }
  grpc::Status Reassess(const v1::ReassessRequest& request,
                        v1::DecisionVersion* response,
                        const std::string& agency = kReferrer) {
    auto context = testing::ContextWithDeadline();
    return testing::Unwrapped<v1::ReassessResponse>(
        [&](v1::ReassessResponse* r) {
          return Stub(agency)->Reassess(context.get(), request, r);
        },
        response, &v1::ReassessResponse::decision);
  }
  grpc::Status Agenda(const std::string& area_code,
                      v1::ListMaracAgendaResponse* response,
                      const std::string& agency = kMarac) {
    v1::ListMaracAgendaRequest request;
    request.set_area_code(area_code);
    auto context = testing::ContextWithDeadline();
    return Stub(agency)->ListMaracAgenda(context.get(), request, response);
  }
  PageResult AgendaPage(const std::string& area_code, int32_t page_size,
                        const std::string& page_token,
                        const std::string& agency = kMarac) {
    v1::ListMaracAgendaRequest request;
    request.set_area_code(area_code);
    request.set_page_size(page_size);
    request.set_page_token(page_token);
    v1::ListMaracAgendaResponse response;
    auto context = testing::ContextWithDeadline();
    PageResult page;
    page.status =
        Stub(agency)->ListMaracAgenda(context.get(), request, &response);
    for (const auto& item : response.items()) {
      page.ids.push_back(item.referral_id());
    }
    page.next_page_token = response.next_page_token();
    return page;
  }

  // Writes `n` MARAC decisions in WMP, ten to a millisecond, plus ones that
  // are not on its agenda (not MARAC, GMP's, or a referral whose latest
  // version left MARAC) and one whose latest version joined it; returns the
  // WMP agenda's referral ids in its order.
  std::vector<std::string> DecideMarac(int n) {
    const absl::Time t0 = absl::FromUnixSeconds(1717405200);
    std::vector<std::tuple<int64_t, std::string>> keyed;
    TriageStore store;
    auto decide = [&](store::Tx& tx, const std::string& id, int version,
                      bool marac, const std::string& area, absl::Time at) {
      DecisionRecord record;
      record.decision.set_version(version);
      record.decision.set_marac(marac);
      record.decision.set_area_code(area);
      record.decided_at = at;
      record.cause = version == 1 ? kCauseReceived : kCauseReassessment;
      if (marac && area == "WMP")
        keyed.emplace_back(absl::ToUnixMillis(at), id);
      return store.InsertDecision(tx, ReferralId(id), record);
    };
    absl::Status written = db_->Write([&](store::Tx& tx) -> absl::Status {
      for (int i = 0; i < n; ++i) {
        RETURN_IF_ERROR(decide(tx, NewUuid(), 1, true, "WMP",
                               t0 + absl::Milliseconds(i / 10)));
      }
      RETURN_IF_ERROR(decide(tx, NewUuid(), 1, false, "WMP", t0));
      RETURN_IF_ERROR(decide(tx, NewUuid(), 1, true, "GMP", t0));
      const std::string left = NewUuid();
      RETURN_IF_ERROR(decide(tx, left, 1, true, "WMP", t0));
      keyed.pop_back();  // its latest version below is not MARAC
      RETURN_IF_ERROR(decide(tx, left, 2, false, "WMP", t0));
      const std::string joined = NewUuid();
      RETURN_IF_ERROR(decide(tx, joined, 1, false, "WMP", t0));
      return decide(tx, joined, 2, true, "WMP", t0 + absl::Milliseconds(3));
    });
    EXPECT_TRUE(written.ok()) << written;
    std::sort(keyed.begin(), keyed.end());
    std::vector<std::string> ids;
    for (const auto& [at, id] : keyed) ids.push_back(id);
    return ids;
  }

  static v1::OverrideRiskRequest OverrideTo(const std::string& referral_id,
                                            v1::RiskLevel risk) {
    v1::OverrideRiskRequest request;
    request.set_referral_id(referral_id);
    request.set_practitioner_id("sgt-42");
    request.set_risk(risk);
    request.set_reason("perpetrator released from custody today");
    return request;
  }
  int64_t Events() { return *store::CountUnsent(*db_); }

  testing::TempDir dir_;
  std::unique_ptr<store::Database> db_;
  TriageApp app_;
  std::atomic<int> wakes_{0};
  testing::TestGate gate_;
  TriageServiceImpl api_;
  testing::InProcessServer server_;
  std::map<std::string, std::unique_ptr<v1::TriageService::Stub>> stubs_;
};

TEST_F(TriageServiceTest, BadOverrideNamesEveryBadField) {
  v1::OverrideRiskRequest request;
  request.set_referral_id("not-a-uuid");
  request.set_practitioner_id("has spaces");
  request.set_risk(static_cast<v1::RiskLevel>(42));
  v1::DecisionVersion response;
  grpc::Status status = Override(request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(
      testing::BadFields(status),
      UnorderedElementsAre("referral_id", "practitioner_id", "risk", "reason"));
  EXPECT_EQ(wakes_.load(), 0);
}

TEST_F(TriageServiceTest, BadReassessmentNamesEveryBadField) {
  v1::ReassessRequest request;
  request.set_referral_id(NewUuid());
  request.set_practitioner_id("idva-ann");
  request.mutable_assessment()->add_dash_answers(true);
  request.mutable_assessment()->add_pj_flags(
      v1::PROFESSIONAL_JUDGEMENT_FLAG_UNSPECIFIED);
  request.mutable_assessment()->set_incidents_last_12_months(-1);
  request.mutable_new_incident_time()->set_seconds(
      absl::ToUnixSeconds(absl::Now() + absl::Hours(1)));
  v1::DecisionVersion response;
  grpc::Status status = Reassess(request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(testing::BadFields(status),
              UnorderedElementsAre(
                  "assessment.dash_answers", "assessment.pj_flags[0]",
                  "assessment.incidents_last_12_months", "new_incident_time"));
}

TEST_F(TriageServiceTest, BadReadsNameTheirField) {
  v1::GetDecisionResponse decision;
  grpc::Status status = Get("r1", &decision);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(testing::BadFields(status), UnorderedElementsAre("referral_id"));
  v1::ListMaracAgendaResponse agenda;
  status = Agenda("", &agenda);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(testing::BadFields(status), UnorderedElementsAre("area_code"));
}

TEST_F(TriageServiceTest, OverrideThatLowersRiskIsRefusedByPjRaise) {
  std::string id = Received("t09_high_risk_consent_refused");
  int64_t events = Events();
  v1::DecisionVersion response;
  grpc::Status status =
      Override(OverrideTo(id, v1::RISK_LEVEL_MEDIUM), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  google::rpc::PreconditionFailure failure;
  ASSERT_TRUE(grpcutil::ExtractPreconditionFailure(status, &failure));
  ASSERT_EQ(failure.violations_size(), 1);
  EXPECT_EQ(failure.violations(0).type(), "PJ-RAISE");
  EXPECT_EQ(failure.violations(0).subject(), "risk");
  EXPECT_THAT(failure.violations(0).description(),
              ::testing::HasSubstr("cannot be lowered to MEDIUM"));
  EXPECT_EQ(Events(), events);
  EXPECT_EQ(wakes_.load(), 0);
}

// Referral ids are random UUIDs: an unknown one is NOT_FOUND to every
// caller, on every RPC that takes one, and nothing is written.
TEST_F(TriageServiceTest, UnknownReferralIsNotFoundToEveryCaller) {
  v1::ReassessRequest reassess;
  reassess.set_referral_id(NewUuid());
  reassess.set_practitioner_id("idva-ann");
  reassess.mutable_assessment();
  const int64_t events = Events();
  // Each method to every agency its function table admits (the others are
  // refused the method itself, before any referral is looked up).
  for (const char* agency : {kOperator, kReferrer, kMarac, kOtherReferrer}) {
    v1::GetDecisionResponse decision;
    EXPECT_EQ(Get(NewUuid(), &decision, agency).error_code(),
              grpc::StatusCode::NOT_FOUND)
        << agency;
  }
  for (const char* agency : {kOperator, kReferrer, kOtherReferrer}) {
    v1::DecisionVersion version;
    EXPECT_EQ(Reassess(reassess, &version, agency).error_code(),
              grpc::StatusCode::NOT_FOUND)
        << agency;
  }
  for (const char* agency : {kReferrer, kMarac}) {
    v1::DecisionVersion version;
    EXPECT_EQ(
        Override(OverrideTo(NewUuid(), v1::RISK_LEVEL_HIGH), &version, agency)
            .error_code(),
        grpc::StatusCode::NOT_FOUND)
        << agency;
  }
  EXPECT_TRUE(testing::AccessAudits(*db_).empty());
  EXPECT_EQ(wakes_.load(), 0);
  EXPECT_EQ(Events(), events);
}

TEST_F(TriageServiceTest, OverrideRaisesRiskAndReadsBackTheSameVersion) {
  std::string id = Received("t02_standard_da");
  v1::GetDecisionResponse before;
  grpc::Status status = Get(id, &before);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(before.referral_id(), id);
  EXPECT_EQ(before.decision().risk(), v1::RISK_LEVEL_STANDARD);
  ASSERT_EQ(before.history_size(), 1);
  EXPECT_EQ(before.history(0).cause(), "RECEIVED");

  v1::DecisionVersion raised;
  status = Override(OverrideTo(id, v1::RISK_LEVEL_HIGH), &raised);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(raised.version(), 2);
  EXPECT_EQ(raised.cause(), "OVERRIDE");
  EXPECT_EQ(raised.practitioner_id(), "sgt-42");
  EXPECT_EQ(raised.decision().risk(), v1::RISK_LEVEL_HIGH);
  EXPECT_TRUE(raised.decision().marac());
  EXPECT_EQ(wakes_.load(), 1);

  v1::GetDecisionResponse after;
  status = Get(id, &after);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(after.history_size(), 2);
  EXPECT_EQ(after.decision().version(), 2);
  // The agency of the certificate is stored with the practitioner.
  EXPECT_EQ(after.history(1).practitioner_id(), "sgt-42");
  EXPECT_EQ(after.history(1).practitioner_agency(), kReferrer);
  EXPECT_EQ(after.decided_at().SerializeAsString(),
            raised.decided_at().SerializeAsString());
  EXPECT_EQ(after.history(1).decided_at().SerializeAsString(),
            raised.decided_at().SerializeAsString());
  EXPECT_EQ(raised.decided_at().nanos() % 1000000, 0);

  v1::ListMaracAgendaResponse agenda;
  status = Agenda("WMP", &agenda);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(agenda.items_size(), 1);
  EXPECT_EQ(agenda.items(0).referral_id(), id);
  EXPECT_EQ(agenda.items(0).reasons(0).rule_id(), "MARAC-PJ");
}

TEST_F(TriageServiceTest, ReassessmentMakesANewVersion) {
  std::string id = Received("t02_standard_da");
  v1::ReassessRequest request;
  request.set_referral_id(id);
  request.set_practitioner_id("idva-ann");
  *request.mutable_assessment() =
      testing::LoadExample("t02_standard_da").referral().assessment();
  for (int i = 0; i < 16; ++i)
    request.mutable_assessment()->set_dash_answers(i, i != 7);
  v1::DecisionVersion v;
  grpc::Status status = Reassess(request, &v);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(v.version(), 2);
  EXPECT_EQ(v.cause(), "REASSESSMENT");
  EXPECT_EQ(v.decision().risk(), v1::RISK_LEVEL_HIGH);
  EXPECT_EQ(wakes_.load(), 1);
}

TEST_F(TriageServiceTest, MaracAgendaPagesOldestFirstWithoutGaps) {
  const std::vector<std::string> wmp = DecideMarac(520);
  auto fetch = [this](int32_t size, const std::string& token) {
    return AgendaPage("WMP", size, token);
  };
  testing::ExpectPages(fetch, 7, wmp);  // pages end inside decided_at ties
  testing::ExpectPages(fetch, 0, wmp);
  testing::ExpectPageSizeBounds(fetch);
  // Another RPC's token with the same kind of key, and another area's.
  static constexpr paging::Listing kOther{"ListReviewQueue", kMaracAgendaKeys};
  testing::ExpectBadTokensRefused(
      fetch, paging::NextPageToken(kOther, paging::Scope({"WMP"}),
                                   paging::Cursor({int64_t{1}, wmp[0]})));
  testing::ExpectRefused(
      AgendaPage("GMP", 1, fetch(1, "").next_page_token, kOperator),
      "page_token");
  PageResult bad = AgendaPage("", -1, "");
  EXPECT_THAT(testing::BadFields(bad.status),
              UnorderedElementsAre("area_code", "page_size"));
}

TEST_F(TriageServiceTest, CallWithoutAClientCertificateFailsAtTheHandshake) {
  auto anonymous = v1::TriageService::NewStub(server_.AnonymousChannel());
  v1::ListMaracAgendaRequest request;
  request.set_area_code("WMP");
  v1::ListMaracAgendaResponse response;
  auto context = testing::ContextWithDeadline();
  EXPECT_EQ(anonymous->ListMaracAgenda(context.get(), request, &response)
                .error_code(),
            grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(response.items_size(), 0);
}

TEST_F(TriageServiceTest, RoleOutsideTheTableIsRefusedAndAudited) {
  std::string id = Received("t01_strangulation_punjabi");
  // A hospital refers, but keeps no MARAC agenda; a commissioner reads no
  // decisions.
  v1::ListMaracAgendaResponse agenda;
  grpc::Status status = Agenda("WMP", &agenda, kOtherReferrer);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(testing::RuleIds(status), ElementsAre(access::kRuleFunction));
  EXPECT_EQ(agenda.items_size(), 0);
  v1::GetDecisionResponse decision;
  status = Get(id, &decision, "pcc-wmp");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(testing::RuleIds(status), ElementsAre(access::kRuleFunction));
  EXPECT_FALSE(decision.has_decision());

  std::vector<v1::AccessAudited> audits = testing::AccessAudits(*db_);
  ASSERT_EQ(audits.size(), 2u);
  EXPECT_EQ(audits[0].agency_id(), kOtherReferrer);
  EXPECT_EQ(audits[0].rpc(), "/signpost.v1.TriageService/ListMaracAgenda");
  EXPECT_EQ(audits[1].agency_id(), "pcc-wmp");
  EXPECT_EQ(audits[1].rpc(), "/signpost.v1.TriageService/GetDecision");
  for (const v1::AccessAudited& audit : audits) {
    EXPECT_EQ(audit.decision(), v1::ACCESS_DECISION_REFUSED);
    EXPECT_EQ(audit.rule_id(), access::kRuleFunction);
    EXPECT_EQ(audit.status_code(), "PERMISSION_DENIED");
    EXPECT_EQ(audit.field_class(), v1::FIELD_CLASS_NONE);
  }
}

TEST_F(TriageServiceTest, AnotherReferrerIsRefusedItsReferral) {
  std::string id = Received("t02_standard_da");
  const int64_t events = Events();
  v1::GetDecisionResponse decision;
  grpc::Status not_theirs = Get(id, &decision, kOtherReferrer);
  EXPECT_EQ(not_theirs.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(testing::RuleIds(not_theirs),
              ElementsAre(access::kRuleOwnReferral));
  // An unknown referral is told apart: NOT_FOUND.
  EXPECT_EQ(Get(NewUuid(), &decision, kOtherReferrer).error_code(),
            grpc::StatusCode::NOT_FOUND);
  v1::DecisionVersion version;
  grpc::Status status =
      Override(OverrideTo(id, v1::RISK_LEVEL_HIGH), &version, kOtherReferrer);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(testing::RuleIds(status), ElementsAre(access::kRuleOwnReferral));
  EXPECT_EQ(wakes_.load(), 0);
  // Audited with the referral asked for; nothing else was emitted.
  std::vector<v1::AccessAudited> audits = testing::AccessAudits(*db_);
  // (NOT_FOUND is not a refusal: the unknown id is not audited.)
  ASSERT_EQ(audits.size(), 2u);
  EXPECT_EQ(audits[0].object_id(), id);
  EXPECT_EQ(audits[1].object_id(), id);
  EXPECT_EQ(audits[1].rpc(), "/signpost.v1.TriageService/OverrideRisk");
  for (const v1::AccessAudited& audit : audits) {
    EXPECT_EQ(audit.agency_id(), kOtherReferrer);
    EXPECT_EQ(audit.decision(), v1::ACCESS_DECISION_REFUSED);
    EXPECT_EQ(audit.rule_id(), access::kRuleOwnReferral);
  }
  EXPECT_EQ(Events(), events + 2);  // the two audit events
  // The area's MARAC coordinator reads it.
  status = Get(id, &decision, kMarac);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(decision.referral_id(), id);
}

TEST_F(TriageServiceTest, MaracCoordinatorListsOnlyItsOwnAreasAgenda) {
  v1::ListMaracAgendaResponse agenda;
  grpc::Status status = Agenda("GMP", &agenda);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(testing::RuleIds(status), ElementsAre(access::kRuleOwnArea));
  status = Agenda("GMP", &agenda, kOperator);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(agenda.items_size(), 0);
  std::vector<v1::AccessAudited> audits = testing::AccessAudits(*db_);
  ASSERT_EQ(audits.size(), 1u);
  EXPECT_EQ(audits[0].agency_id(), kMarac);
  EXPECT_EQ(audits[0].object_id(), "GMP");
  EXPECT_EQ(audits[0].rule_id(), access::kRuleOwnArea);
}

}  // namespace
}  // namespace signpost::triage
