// The advocacy gRPC adapter over an in-process server and a real SQLite file.
#include "services/advocacy/advocacy_service.h"

#include <algorithm>
#include <atomic>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "common/config/textproto.h"
#include "common/events/envelope.h"
#include "common/grpc/status.h"
#include "common/ids/ids.h"
#include "common/paging/page.h"
#include "common/time/timestamps.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "services/advocacy/advocacy_app.h"
#include "services/advocacy/advocacy_store.h"
#include "signpost/v1/advocacy.grpc.pb.h"
#include "tests/support/paging_checks.h"
#include "tests/support/test_support.h"

namespace signpost::advocacy {
namespace {

using ::google::protobuf::util::MessageDifferencer;
using ::testing::ElementsAre;
using testing::PageResult;
using ::testing::UnorderedElementsAre;

// Registered agencies (deploy/access/agencies.textproto). The refuge and
// the IDVA service are support providers whose provider ids are their agency
// ids.
constexpr char kRefuge[] = "wm-refuge";
constexpr char kIdva[] = "wm-idva-service";
constexpr char kOperator[] = "signpost-operator";

// The refuge (confidential address) with two IDVAs, and the IDVA service
// with one.
constexpr char kDirectory[] = R"pb(
  providers {
    provider_id: "wm-refuge"
    name: "Refuge"
    address: "secret place"
    address_confidential: true
  }
  providers { provider_id: "wm-idva-service" name: "IDVA service" }
  advocates {
    advocate_id: "ann"
    provider_id: "wm-refuge"
    role: ADVOCATE_ROLE_IDVA
    languages: "en"
    localities: "L1"
    capacity: 2
  }
  advocates {
    advocate_id: "bal"
    provider_id: "wm-refuge"
    role: ADVOCATE_ROLE_IDVA
    languages: "en"
    localities: "L1"
    capacity: 2
  }
  advocates {
    advocate_id: "cyd"
    provider_id: "wm-idva-service"
    role: ADVOCATE_ROLE_ISVA
    languages: "en"
    localities: "L1"
    capacity: 2
  }
)pb";

class AdvocacyServiceTest : public ::testing::Test {
 protected:
  AdvocacyServiceTest()
      : db_(OpenDb(dir_)),
        app_(*db_, testing::TestPersonKeys()),
        gate_(*db_, "advocacy"),
        api_(
            app_, [this] { ++wakes_; }, gate_.gate()),
        server_({&api_}),
        stub_(StubAs(kRefuge)),
        operator_(StubAs(kOperator)) {}

  // A client presenting agency `agency`'s certificate.
  std::unique_ptr<v1::AdvocacyService::Stub> StubAs(const std::string& agency) {
    return v1::AdvocacyService::NewStub(server_.ChannelAs(agency));
  }

  static std::unique_ptr<store::Database> OpenDb(const testing::TempDir& dir) {
    auto db = store::Database::Open(dir.File("advocacy.db"),
                                    AdvocacyStore::Migrations());
    EXPECT_TRUE(db.ok()) << db.status();
    return db.ok() ? std::move(*db) : nullptr;
  }

  void ImportDirectory() {
    v1::ImportDirectoryRequest directory;
    ASSERT_TRUE(
        config::ParseTextProto(kDirectory, "d", directory.mutable_directory())
            .ok());
    v1::ImportDirectoryResponse response;
    auto context = testing::ContextWithDeadline();
    grpc::Status status =
        operator_->ImportDirectory(context.get(), directory, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(response.advocates(), 3);
  }

  // A triage decision as the event consumer would hand it over.
  v1::Assignment Routed(const std::string& referral_id) {
    v1::EventEnvelope envelope = events::NewEnvelope("triage", referral_id);
    auto* t = envelope.mutable_referral_triaged();
    t->add_pathways(v1::PATHWAY_IDVA);
    t->set_locality_code("L1");
    t->set_language("en");
    t->set_priority(v1::PRIORITY_HIGH);
    t->set_status(v1::REFERRAL_STATUS_ROUTED);
    events::StampType(&envelope);
    auto created = db_->Write([&](store::Tx& tx) {
      return app_.RouteTriaged(tx, envelope, NewTraceparent(),
                               timeutil::NowMillis());
    });
    EXPECT_TRUE(created.ok()) << created.status();
    v1::GetReferralAssignmentsRequest request;
    request.set_referral_id(referral_id);
    v1::GetReferralAssignmentsResponse response;
    auto context = testing::ContextWithDeadline();
    grpc::Status status =
        operator_->GetReferralAssignments(context.get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    EXPECT_TRUE(response.processed());
    EXPECT_EQ(response.assignments_size(), 1);
    return response.assignments_size() ? response.assignments(0)
                                       : v1::Assignment();
  }

  grpc::Status Accept(const std::string& assignment_id,
                      const std::string& advocate_id,
                      v1::Assignment* response) {
    v1::AcceptAssignmentRequest request;
    request.set_assignment_id(assignment_id);
    request.set_advocate_id(advocate_id);
    auto context = testing::ContextWithDeadline();
    v1::AcceptAssignmentResponse answer;
    grpc::Status status =
        stub_->AcceptAssignment(context.get(), request, &answer);
    *response = answer.assignment();
    return status;
  }

  // Imports `n` IDVAs (adv-0000, ...) and one ISVA, shuffled; returns the
  // IDVAs' ids in advocate_id order.
  std::vector<std::string> ImportIdvas(int n) {
    v1::Directory directory;
    v1::Provider* p = directory.add_providers();
    p->set_provider_id(kIdva);
    p->set_name("P1");
    std::vector<std::string> ids;
    for (int i = 0; i < n; ++i) ids.push_back(absl::StrFormat("adv-%04d", i));
    std::vector<std::string> shuffled = ids;
    std::reverse(shuffled.begin(), shuffled.end());
    std::rotate(shuffled.begin(), shuffled.begin() + n / 3, shuffled.end());
    shuffled.push_back("isva-1");
    for (const std::string& id : shuffled) {
      v1::Advocate* a = directory.add_advocates();
      a->set_advocate_id(id);
      a->set_provider_id(kIdva);
      a->set_role(id == "isva-1" ? v1::ADVOCATE_ROLE_ISVA
                                 : v1::ADVOCATE_ROLE_IDVA);
      a->add_languages("en");
      a->add_localities("L1");
      a->set_capacity(1);
    }
    EXPECT_TRUE(app_.ImportDirectory(directory, kT0, "").ok());
    return ids;
  }

  PageResult ListIdvas(int32_t page_size, const std::string& page_token) {
    v1::ListAdvocatesRequest request;
    request.set_role(v1::ADVOCATE_ROLE_IDVA);
    request.set_page_size(page_size);
    request.set_page_token(page_token);
    v1::ListAdvocatesResponse response;
    auto context = testing::ContextWithDeadline();
    PageResult page;
    page.status = operator_->ListAdvocates(context.get(), request, &response);
    for (const auto& a : response.advocates()) {
      page.ids.push_back(a.advocate_id());
    }
    page.next_page_token = response.next_page_token();
    return page;
  }

  static constexpr absl::Time kT0 = absl::FromUnixSeconds(1700000000);

  testing::TempDir dir_;
  std::unique_ptr<store::Database> db_;
  AdvocacyApp app_;
  std::atomic<int> wakes_{0};
  testing::TestGate gate_;
  AdvocacyServiceImpl api_;
  testing::InProcessServer server_;
  // The refuge's client, and the operator's.
  std::unique_ptr<v1::AdvocacyService::Stub> stub_;
  std::unique_ptr<v1::AdvocacyService::Stub> operator_;
};

TEST_F(AdvocacyServiceTest, BadDeclineNamesEveryBadField) {
  v1::DeclineAssignmentRequest request;
  request.set_assignment_id("not-a-uuid");
  request.set_advocate_id(std::string(65, 'a'));
  request.set_note(std::string(2001, 'x'));
  v1::DeclineAssignmentResponse response;
  auto context = testing::ContextWithDeadline();
  grpc::Status status =
      stub_->DeclineAssignment(context.get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  std::vector<std::string> fields = testing::BadFields(status);
  EXPECT_THAT(fields, UnorderedElementsAre("assignment_id", "advocate_id",
                                           "reason", "note"));
  EXPECT_EQ(wakes_.load(), 0);
}

TEST_F(AdvocacyServiceTest, BadAdvocateNamesEveryBadFieldUnderItsPrefix) {
  v1::UpsertAdvocateRequest request;
  request.mutable_advocate()->set_capacity(501);
  v1::UpsertAdvocateResponse response;
  auto context = testing::ContextWithDeadline();
  grpc::Status status =
      stub_->UpsertAdvocate(context.get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  std::vector<std::string> fields = testing::BadFields(status);
  EXPECT_THAT(fields, UnorderedElementsAre(
                          "advocate.advocate_id", "advocate.provider_id",
                          "advocate.role", "advocate.capacity",
                          "advocate.localities", "advocate.languages"));
}

// A wrapped request's bad fields are named by their path in it: the
// provider of UpsertProvider, the directory of ImportDirectory.
TEST_F(AdvocacyServiceTest, BadProviderAndDirectoryNameFieldsByTheirPath) {
  v1::UpsertProviderRequest provider;
  provider.mutable_provider()->set_provider_id(kRefuge);
  provider.mutable_provider()->add_services();  // no kind, no areas
  v1::UpsertProviderResponse upserted;
  auto context = testing::ContextWithDeadline();
  grpc::Status status =
      StubAs(kRefuge)->UpsertProvider(context.get(), provider, &upserted);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  std::vector<std::string> fields = testing::BadFields(status);
  EXPECT_THAT(fields, ::testing::IsSupersetOf(
                          {"provider.name", "provider.services[0].kind"}));
  for (const std::string& field : fields) {
    EXPECT_TRUE(absl::StartsWith(field, "provider.")) << field;
  }

  v1::ImportDirectoryRequest directory;
  directory.mutable_directory()->add_providers();  // no id, no name
  v1::ImportDirectoryResponse imported;
  auto context2 = testing::ContextWithDeadline();
  status = operator_->ImportDirectory(context2.get(), directory, &imported);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  fields = testing::BadFields(status);
  EXPECT_THAT(fields,
              ::testing::IsSupersetOf({"directory.providers[0].provider_id",
                                       "directory.providers[0].name"}));
  for (const std::string& field : fields) {
    EXPECT_TRUE(absl::StartsWith(field, "directory.")) << field;
  }
  EXPECT_EQ(wakes_.load(), 0);
}

TEST_F(AdvocacyServiceTest, AnotherAdvocatesAcceptIsRefusedNamingTheRule) {
  ImportDirectory();
  v1::Assignment offered = Routed(NewUuid());
  ASSERT_EQ(offered.advocate_id(), "ann");
  v1::Assignment response;
  grpc::Status status = Accept(offered.assignment_id(), "bal", &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  google::rpc::PreconditionFailure failure;
  ASSERT_TRUE(grpcutil::ExtractPreconditionFailure(status, &failure));
  ASSERT_EQ(failure.violations_size(), 1);
  EXPECT_EQ(failure.violations(0).type(), "ASSIGNMENT-NOT-YOURS");
  EXPECT_EQ(failure.violations(0).subject(), "advocate_id");
}

TEST_F(AdvocacyServiceTest, UnknownIdsAreNotFound) {
  ImportDirectory();
  v1::Assignment response;
  grpc::Status status = Accept(NewUuid(), "ann", &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  v1::GetWorklistRequest request;
  request.set_advocate_id("nobody");
  v1::GetWorklistResponse worklist;
  auto context = testing::ContextWithDeadline();
  status = stub_->GetWorklist(context.get(), request, &worklist);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  v1::GetReferralAssignmentsRequest referral;
  referral.set_referral_id(NewUuid());
  v1::GetReferralAssignmentsResponse assignments;
  auto unknown_referral = testing::ContextWithDeadline();
  EXPECT_EQ(stub_
                ->GetReferralAssignments(unknown_referral.get(), referral,
                                         &assignments)
                .error_code(),
            grpc::StatusCode::NOT_FOUND);
  auto as_operator = testing::ContextWithDeadline();
  EXPECT_EQ(operator_->GetWorklist(as_operator.get(), request, &worklist)
                .error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(AdvocacyServiceTest, AcceptRoundTripsAndMatchesALaterRead) {
  ImportDirectory();
  const int wakes_before = wakes_.load();
  v1::Assignment offered = Routed(NewUuid());
  v1::Assignment accepted;
  grpc::Status status =
      Accept(offered.assignment_id(), offered.advocate_id(), &accepted);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(accepted.state(), v1::ASSIGNMENT_STATE_ACCEPTED);
  EXPECT_EQ(accepted.assignment_id(), offered.assignment_id());
  EXPECT_EQ(wakes_.load(), wakes_before + 1);
  // The worklist reads back exactly what the call answered.
  v1::GetWorklistRequest request;
  request.set_advocate_id("ann");
  v1::GetWorklistResponse worklist;
  auto context = testing::ContextWithDeadline();
  ASSERT_TRUE(stub_->GetWorklist(context.get(), request, &worklist).ok());
  ASSERT_EQ(worklist.assignments_size(), 1);
  EXPECT_TRUE(MessageDifferencer::Equals(worklist.assignments(0), accepted))
      << worklist.assignments(0).DebugString() << accepted.DebugString();
}

TEST_F(AdvocacyServiceTest, ConfidentialAddressOnlyForTheCallingProvider) {
  ImportDirectory();
  v1::GetProviderRequest request;
  request.set_provider_id(kRefuge);
  const int wakes_before = wakes_.load();
  // The caller is its certificate: police and another provider see the
  // address withheld.
  for (const char* agency : {"police-wmp", kIdva}) {
    v1::GetProviderResponse seen;
    auto context = testing::ContextWithDeadline();
    grpc::Status status =
        StubAs(agency)->GetProvider(context.get(), request, &seen);
    ASSERT_TRUE(status.ok()) << agency << ": " << status.error_message();
    EXPECT_EQ(seen.provider().address(), "") << agency;
    EXPECT_TRUE(seen.provider().address_redacted()) << agency;
  }
  EXPECT_TRUE(testing::AccessAudits(*db_).empty());
  EXPECT_EQ(wakes_.load(), wakes_before);
  // The refuge's own certificate sees it, and the release is audited.
  v1::GetProviderResponse own;
  auto context = testing::ContextWithDeadline();
  grpc::Status status = stub_->GetProvider(context.get(), request, &own);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(own.provider().address(), "secret place");
  EXPECT_FALSE(own.provider().address_redacted());
  std::vector<v1::AccessAudited> audits = testing::AccessAudits(*db_);
  ASSERT_EQ(audits.size(), 1u);
  EXPECT_EQ(audits[0].agency_id(), kRefuge);
  EXPECT_EQ(audits[0].object_id(), kRefuge);
  EXPECT_EQ(audits[0].field_class(), v1::FIELD_CLASS_CONFIDENTIAL_ADDRESS);
  EXPECT_EQ(audits[0].decision(), v1::ACCESS_DECISION_ALLOWED);
  EXPECT_EQ(audits[0].SerializeAsString().find("secret place"),
            std::string::npos);
  EXPECT_EQ(wakes_.load(), wakes_before + 1);
}

// The organisation header of the partner gateway is gone: a header naming
// the refuge gives nobody its address.
TEST_F(AdvocacyServiceTest, AnOrganisationHeaderIsNotAnIdentity) {
  ImportDirectory();
  v1::GetProviderRequest request;
  request.set_provider_id(kRefuge);
  v1::GetProviderResponse seen;
  auto context = testing::ContextWithDeadline();
  context->AddMetadata("x-signpost-org", kRefuge);
  grpc::Status status =
      StubAs("police-wmp")->GetProvider(context.get(), request, &seen);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(seen.provider().address(), "");
  EXPECT_TRUE(seen.provider().address_redacted());
  EXPECT_TRUE(testing::AccessAudits(*db_).empty());
}

TEST_F(AdvocacyServiceTest, ListAdvocatesPagesByAdvocateIdWithoutGaps) {
  const std::vector<std::string> idvas = ImportIdvas(520);
  auto fetch = [this](int32_t size, const std::string& token) {
    return ListIdvas(size, token);
  };
  testing::ExpectPages(fetch, 7, idvas);
  testing::ExpectPages(fetch, 0, idvas);
  testing::ExpectPages(fetch, 500, idvas);
  testing::ExpectPageSizeBounds(fetch);
}

TEST_F(AdvocacyServiceTest, ListAdvocatesRefusesAnotherListsToken) {
  ImportIdvas(3);
  // The same sort key, but issued by another RPC.
  static constexpr paging::Listing kOther{"ListDeliveries", kAdvocateListKeys};
  const std::string foreign = paging::NextPageToken(
      kOther, paging::Scope({absl::StrCat(v1::ADVOCATE_ROLE_IDVA), ""}),
      paging::Cursor({"adv-0000"}));
  testing::ExpectBadTokensRefused(
      [this](int32_t size, const std::string& token) {
        return ListIdvas(size, token);
      },
      foreign);
  // A token is bound to the filters it was issued for.
  PageResult first = ListIdvas(1, "");
  ASSERT_FALSE(first.next_page_token.empty());
  v1::ListAdvocatesRequest other;
  other.set_page_token(first.next_page_token);
  other.set_role(v1::AdvocateRole(99));
  v1::ListAdvocatesResponse response;
  auto context = testing::ContextWithDeadline();
  grpc::Status status = stub_->ListAdvocates(context.get(), other, &response);
  EXPECT_THAT(testing::BadFields(status),
              UnorderedElementsAre("role", "page_token"));
}

// --- Authorisation at the adapter: the gate ----------------------------------

TEST_F(AdvocacyServiceTest, ACallWithoutAClientCertificateFails) {
  auto anonymous = v1::AdvocacyService::NewStub(server_.AnonymousChannel());
  v1::GetProviderRequest request;
  request.set_provider_id(kRefuge);
  v1::GetProviderResponse response;
  auto context = testing::ContextWithDeadline();
  grpc::Status status =
      anonymous->GetProvider(context.get(), request, &response);
  EXPECT_FALSE(status.ok());
  // Refused at the TLS handshake: the call never reaches the service.
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE)
      << status.error_message();
  EXPECT_TRUE(response.provider().address().empty());
}

TEST_F(AdvocacyServiceTest, ARoleOutsideTheTableIsRefusedAndAudited) {
  // Only the operator imports the directory; the commissioner may not.
  v1::ImportDirectoryRequest directory;
  ASSERT_TRUE(
      config::ParseTextProto(kDirectory, "d", directory.mutable_directory())
          .ok());
  for (const char* agency : {"pcc-wmp", kRefuge}) {
    v1::ImportDirectoryResponse response;
    auto context = testing::ContextWithDeadline();
    grpc::Status status =
        StubAs(agency)->ImportDirectory(context.get(), directory, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED)
        << agency;
    EXPECT_THAT(testing::RuleIds(status), ElementsAre("AUTHZ-FUNCTION"))
        << agency;
  }
  EXPECT_TRUE(
      app_.ListAdvocates(testing::PrincipalOf(kOperator))->items.empty());
  EXPECT_EQ(wakes_.load(), 0);
  std::vector<v1::AccessAudited> audits = testing::AccessAudits(*db_);
  ASSERT_EQ(audits.size(), 2u);
  EXPECT_EQ(audits[0].agency_id(), "pcc-wmp");
  EXPECT_EQ(audits[1].agency_id(), kRefuge);
  for (const v1::AccessAudited& audit : audits) {
    EXPECT_EQ(audit.rpc(), "/signpost.v1.AdvocacyService/ImportDirectory");
    EXPECT_EQ(audit.decision(), v1::ACCESS_DECISION_REFUSED);
    EXPECT_EQ(audit.rule_id(), "AUTHZ-FUNCTION");
    EXPECT_EQ(audit.status_code(), "PERMISSION_DENIED");
    EXPECT_EQ(audit.field_class(), v1::FIELD_CLASS_NONE);
  }
}

TEST_F(AdvocacyServiceTest, AnotherProvidersAcceptIsRefusedAndAudited) {
  ImportDirectory();
  v1::Assignment offered = Routed(NewUuid());
  ASSERT_EQ(offered.advocate_id(), "ann");
  // The IDVA service names the refuge's advocate, then its own.
  auto idva = StubAs(kIdva);
  for (const char* advocate : {"ann", "cyd"}) {
    v1::AcceptAssignmentRequest request;
    request.set_assignment_id(offered.assignment_id());
    request.set_advocate_id(advocate);
    v1::AcceptAssignmentResponse response;
    auto context = testing::ContextWithDeadline();
    grpc::Status status =
        idva->AcceptAssignment(context.get(), request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED)
        << advocate;
    EXPECT_THAT(testing::RuleIds(status), ElementsAre("AUTHZ-OWN-PROVIDER"))
        << advocate;
  }
  std::vector<v1::AccessAudited> audits = testing::AccessAudits(*db_);
  ASSERT_EQ(audits.size(), 2u);
  EXPECT_EQ(audits[0].agency_id(), kIdva);
  EXPECT_EQ(audits[0].rpc(), "/signpost.v1.AdvocacyService/AcceptAssignment");
  EXPECT_EQ(audits[0].rule_id(), "AUTHZ-OWN-PROVIDER");
  EXPECT_EQ(audits[0].object_id(), "ann");
  EXPECT_EQ(audits[1].object_id(), offered.assignment_id());
  // Nothing changed: the refuge may still accept it.
  v1::Assignment accepted;
  grpc::Status status = Accept(offered.assignment_id(), "ann", &accepted);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(accepted.state(), v1::ASSIGNMENT_STATE_ACCEPTED);
}

TEST_F(AdvocacyServiceTest, AProviderListsOnlyItsOwnAdvocates) {
  ImportDirectory();
  auto list = [this](const std::string& agency, const std::string& provider,
                     std::vector<std::string>* ids) {
    v1::ListAdvocatesRequest request;
    request.set_provider_id(provider);
    v1::ListAdvocatesResponse response;
    auto context = testing::ContextWithDeadline();
    grpc::Status status =
        StubAs(agency)->ListAdvocates(context.get(), request, &response);
    for (const auto& a : response.advocates()) ids->push_back(a.advocate_id());
    return status;
  };
  std::vector<std::string> refuge, idva, everyone, asked;
  ASSERT_TRUE(list(kRefuge, "", &refuge).ok());
  EXPECT_THAT(refuge, ElementsAre("ann", "bal"));
  ASSERT_TRUE(list(kIdva, "", &idva).ok());
  EXPECT_THAT(idva, ElementsAre("cyd"));
  ASSERT_TRUE(list(kOperator, "", &everyone).ok());
  EXPECT_THAT(everyone, ElementsAre("ann", "bal", "cyd"));
  grpc::Status status = list(kIdva, kRefuge, &asked);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(testing::RuleIds(status), ElementsAre("AUTHZ-OWN-PROVIDER"));
  EXPECT_TRUE(asked.empty());
}

TEST_F(AdvocacyServiceTest, AProviderUpsertsOnlyItsOwnAdvocates) {
  ImportDirectory();
  v1::UpsertAdvocateRequest upsert;
  v1::Advocate& advocate = *upsert.mutable_advocate();
  advocate.set_advocate_id("dot");
  advocate.set_provider_id(kRefuge);
  advocate.set_role(v1::ADVOCATE_ROLE_IDVA);
  advocate.add_languages("en");
  advocate.add_localities("L1");
  advocate.set_capacity(1);
  v1::UpsertAdvocateResponse response;
  auto context = testing::ContextWithDeadline();
  grpc::Status status =
      StubAs(kIdva)->UpsertAdvocate(context.get(), upsert, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(testing::RuleIds(status), ElementsAre("AUTHZ-OWN-PROVIDER"));
  auto own = testing::ContextWithDeadline();
  status = stub_->UpsertAdvocate(own.get(), upsert, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.advocate().provider_id(), kRefuge);
}

TEST_F(AdvocacyServiceTest, AProviderUpsertsOnlyItsOwnProviderRecord) {
  ImportDirectory();
  v1::UpsertProviderRequest upsert;
  v1::Provider& refuge = *upsert.mutable_provider();
  refuge.set_provider_id(kRefuge);
  refuge.set_name("Taken over");
  refuge.set_address("somewhere public");
  refuge.set_address_confidential(false);
  v1::UpsertProviderResponse response;
  auto context = testing::ContextWithDeadline();
  grpc::Status status =
      StubAs(kIdva)->UpsertProvider(context.get(), upsert, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(testing::RuleIds(status), ElementsAre("AUTHZ-OWN-PROVIDER"));
  // The refuge's record is as it was: its address still confidential.
  v1::GetProviderRequest request;
  request.set_provider_id(kRefuge);
  v1::GetProviderResponse seen;
  auto read = testing::ContextWithDeadline();
  ASSERT_TRUE(operator_->GetProvider(read.get(), request, &seen).ok());
  EXPECT_EQ(seen.provider().name(), "Refuge");
  EXPECT_TRUE(seen.provider().address_confidential());
  EXPECT_TRUE(seen.provider().address_redacted());
}

}  // namespace
}  // namespace signpost::advocacy
