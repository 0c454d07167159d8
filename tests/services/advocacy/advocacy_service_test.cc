// The advocacy gRPC adapter over an in-process server and a real SQLite file.
#include "services/advocacy/advocacy_service.h"

#include <algorithm>
#include <atomic>
#include <string>
#include <vector>

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
using testing::PageResult;
using ::testing::UnorderedElementsAre;

constexpr char kDirectory[] = R"pb(
  providers {
    provider_id: "refuge"
    name: "Refuge"
    address: "secret place"
    address_confidential: true
  }
  advocates {
    advocate_id: "ann"
    provider_id: "refuge"
    role: ADVOCATE_ROLE_IDVA
    languages: "en"
    localities: "L1"
    capacity: 2
  }
)pb";

class AdvocacyServiceTest : public ::testing::Test {
 protected:
  AdvocacyServiceTest()
      : db_(OpenDb(dir_)),
        app_(*db_),
        api_(
            app_, [this] { ++wakes_; }, executor_),
        server_({&api_}),
        stub_(v1::AdvocacyService::NewStub(server_.channel())) {}

  static std::unique_ptr<store::Database> OpenDb(const testing::TempDir& dir) {
    auto db = store::Database::Open(dir.File("advocacy.db"),
                                    AdvocacyStore::Migrations());
    EXPECT_TRUE(db.ok()) << db.status();
    return db.ok() ? std::move(*db) : nullptr;
  }

  void ImportDirectory() {
    v1::Directory directory;
    ASSERT_TRUE(config::ParseTextProto(kDirectory, "d", &directory).ok());
    v1::ImportDirectoryResponse response;
    auto context = testing::ContextWithDeadline();
    grpc::Status status =
        stub_->ImportDirectory(context.get(), directory, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(response.advocates(), 1);
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
        stub_->GetReferralAssignments(context.get(), request, &response);
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
    return stub_->AcceptAssignment(context.get(), request, response);
  }

  // Imports `n` IDVAs (adv-0000, ...) and one ISVA, shuffled; returns the
  // IDVAs' ids in advocate_id order.
  std::vector<std::string> ImportIdvas(int n) {
    v1::Directory directory;
    v1::Provider* p = directory.add_providers();
    p->set_provider_id("p1");
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
      a->set_provider_id("p1");
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
    page.status = stub_->ListAdvocates(context.get(), request, &response);
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
  grpcutil::Executor executor_{2};
  AdvocacyServiceImpl api_;
  testing::InProcessServer server_;
  std::unique_ptr<v1::AdvocacyService::Stub> stub_;
};

TEST_F(AdvocacyServiceTest, BadDeclineNamesEveryBadField) {
  v1::DeclineAssignmentRequest request;
  request.set_assignment_id("not-a-uuid");
  request.set_note(std::string(2001, 'x'));
  v1::Assignment response;
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
  v1::Advocate request;
  request.set_capacity(501);
  v1::Advocate response;
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

TEST_F(AdvocacyServiceTest, UnknownAssignmentIsNotFound) {
  v1::Assignment response;
  grpc::Status status = Accept(NewUuid(), "ann", &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  v1::GetWorklistRequest request;
  request.set_advocate_id("nobody");
  v1::GetWorklistResponse worklist;
  auto context = testing::ContextWithDeadline();
  EXPECT_EQ(stub_->GetWorklist(context.get(), request, &worklist).error_code(),
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
  request.set_provider_id("refuge");
  v1::Provider seen;
  auto other = testing::ContextWithDeadline();
  other->AddMetadata("x-signpost-org", "police-wmp");
  ASSERT_TRUE(stub_->GetProvider(other.get(), request, &seen).ok());
  EXPECT_EQ(seen.address(), "");
  EXPECT_TRUE(seen.address_redacted());
  auto own = testing::ContextWithDeadline();
  own->AddMetadata("x-signpost-org", "refuge");
  ASSERT_TRUE(stub_->GetProvider(own.get(), request, &seen).ok());
  EXPECT_EQ(seen.address(), "secret place");
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

}  // namespace
}  // namespace signpost::advocacy
