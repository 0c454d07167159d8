// The notification gRPC adapter over an in-process server (mutual TLS, each
// call as a registered agency) and a real SQLite file.
#include "services/notification/notification_service.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/access/authz.h"
#include "common/events/envelope.h"
#include "common/grpc/status.h"
#include "common/grpc/tls.h"
#include "common/ids/ids.h"
#include "common/status/macros.h"
#include "common/store/outbox.h"
#include "common/time/timestamps.h"
#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "gtest/gtest.h"
#include "services/notification/notification_app.h"
#include "services/notification/notification_store.h"
#include "services/notification/subscriptions.h"
#include "signpost/v1/notification.grpc.pb.h"
#include "tests/support/paging_checks.h"
#include "tests/support/test_support.h"

namespace signpost::notification {
namespace {

using ::testing::ElementsAre;
using testing::PageResult;
using ::testing::UnorderedElementsAre;

// Signpost's operator sees every agency's deliveries; any other agency its
// own.
constexpr char kOperator[] = "signpost-operator";

std::unique_ptr<store::Database> OpenDb(const testing::TempDir& dir) {
  auto db =
      store::Database::Open(dir.File("n.db"), NotificationStore::Migrations());
  EXPECT_TRUE(db.ok()) << db.status();
  return db.ok() ? std::move(*db) : nullptr;
}

PartnerPolicy ExamplePolicy() {
  auto policy =
      LoadPolicy(testing::SourcePath("examples/subscriptions.textproto"),
                 *testing::TestRegistry());
  EXPECT_TRUE(policy.ok()) << policy.status();
  return policy.ok() ? *std::move(policy) : PartnerPolicy();
}

class NotificationServiceTest : public ::testing::Test {
 protected:
  NotificationServiceTest()
      : db_(OpenDb(dir_)),
        app_(*db_, ExamplePolicy()),
        gate_(*db_, "notification"),
        api_(app_, gate_.gate()),
        server_({&api_}) {}

  // A stub presenting `agency`'s certificate (one channel per agency).
  v1::NotificationService::Stub* Stub(const std::string& agency) {
    std::unique_ptr<v1::NotificationService::Stub>& stub = stubs_[agency];
    if (stub == nullptr) {
      stub = v1::NotificationService::NewStub(server_.ChannelAs(agency));
    }
    return stub.get();
  }

  grpc::Status List(const v1::ListDeliveriesRequest& request,
                    v1::ListDeliveriesResponse* response,
                    const std::string& agency = kOperator) {
    auto context = testing::ContextWithDeadline();
    return Stub(agency)->ListDeliveries(context.get(), request, response);
  }
  // The agencies of the deliveries `agency` lists for `referral_id` (all
  // recent ones when empty).
  std::vector<std::string> AgenciesListed(const std::string& referral_id,
                                          const std::string& agency) {
    v1::ListDeliveriesRequest request;
    request.set_referral_id(referral_id);
    v1::ListDeliveriesResponse response;
    grpc::Status status = List(request, &response, agency);
    EXPECT_TRUE(status.ok()) << agency << ": " << status.error_message();
    std::vector<std::string> agencies;
    for (const v1::Delivery& d : response.deliveries()) {
      agencies.push_back(d.agency_id());
    }
    return agencies;
  }
  // Hands `env` to the app as the event consumer would.
  absl::StatusOr<int> Deliver(v1::EventEnvelope env) {
    events::StampType(&env);
    absl::StatusOr<int> made =
        db_->Write([&](store::Tx& tx) -> absl::StatusOr<int> {
          ASSIGN_OR_RETURN(bool claimed, store::ClaimInbox(tx, env));
          if (!claimed) return 0;
          return app_.Deliver(tx, env, NewTraceparent());
        });
    app_.Committed();  // the consumer's commit hook
    return made;
  }

  // A referral from `referrer`, received and triaged (routed).
  void Submit(const std::string& referral, const std::string& referrer,
              bool marac) {
    v1::EventEnvelope received = events::NewEnvelope("intake", referral);
    auto* facts = received.mutable_referral_received()->mutable_facts();
    facts->set_area_code("WMP");
    facts->set_referrer_org(referrer);
    ASSERT_EQ(*Deliver(received), 0);
    v1::EventEnvelope triaged =
        events::NewEnvelope("triage", referral, &received);
    triaged.mutable_referral_triaged()->set_area_code("WMP");
    triaged.mutable_referral_triaged()->set_marac(marac);
    triaged.mutable_referral_triaged()->set_status(v1::REFERRAL_STATUS_ROUTED);
    ASSERT_EQ(*Deliver(triaged), marac ? 3 : 2);
  }

  PageResult Page(const std::string& referral_id, int32_t page_size,
                  const std::string& page_token) {
    v1::ListDeliveriesRequest request;
    request.set_referral_id(referral_id);
    request.set_page_size(page_size);
    request.set_page_token(page_token);
    v1::ListDeliveriesResponse response;
    PageResult page;
    page.status = List(request, &response);
    for (const auto& d : response.deliveries()) {
      page.ids.push_back(d.delivery_id());
    }
    page.next_page_token = response.next_page_token();
    return page;
  }

  // Records 520 deliveries of `referral` (26 agencies, 20 events, four
  // events to a millisecond, so ties need the recorded order) and some of
  // another referral; returns the referral's ids in list order and all ids
  // newest first.
  std::pair<std::vector<std::string>, std::vector<std::string>> Record(
      const std::string& referral) {
    const absl::Time t0 = absl::FromUnixSeconds(1717405200);
    std::vector<std::tuple<int64_t, std::string, int, std::string>> mine;
    std::vector<std::tuple<int64_t, std::string>> all;
    NotificationStore store;
    absl::Status written = db_->Write([&](store::Tx& tx) -> absl::Status {
      int recorded = 0;
      for (int event = 0; event < 22; ++event) {
        const std::string event_id = NewUuid();
        const absl::Time at = t0 + absl::Milliseconds(event / 4);
        for (int agency = 25; agency >= 0; --agency) {
          DeliveryRow row;
          v1::Delivery& d = row.delivery;
          d.set_delivery_id(NewUuid());
          d.set_partner_event_id(NewUuid());
          d.set_transport(v1::TRANSPORT_GRPC_STREAM);
          d.set_status(v1::DELIVERY_STATUS_PENDING);
          d.set_agency_id(absl::StrCat("agency-", agency));
          d.set_referral_id(event < 20 ? referral : NewUuid());
          d.set_event_id(event_id);
          d.set_event_type("signpost.v1.ReferralTriaged");
          *d.mutable_delivered_at() = timeutil::ToTimestamp(at);
          RETURN_IF_ERROR(store.InsertDelivery(tx, row).status());
          const int64_t ms = absl::ToUnixMillis(at);
          if (event < 20) {
            mine.emplace_back(ms, d.agency_id(), recorded, d.delivery_id());
          }
          all.emplace_back(-ms, d.delivery_id());
          ++recorded;
        }
      }
      return absl::OkStatus();
    });
    EXPECT_TRUE(written.ok()) << written;
    std::sort(mine.begin(), mine.end());
    std::sort(all.begin(), all.end());
    std::pair<std::vector<std::string>, std::vector<std::string>> ids;
    for (const auto& row : mine) ids.first.push_back(std::get<3>(row));
    for (const auto& row : all) ids.second.push_back(std::get<1>(row));
    return ids;
  }

  testing::TempDir dir_;
  std::unique_ptr<store::Database> db_;
  NotificationApp app_;
  testing::TestGate gate_;
  NotificationServiceImpl api_;
  testing::InProcessServer server_;
  std::map<std::string, std::unique_ptr<v1::NotificationService::Stub>> stubs_;
};

TEST_F(NotificationServiceTest, BadRequestNamesEveryBadField) {
  v1::ListDeliveriesRequest request;
  request.set_referral_id("not-a-uuid");
  request.set_page_size(5000);
  request.set_page_token("not-a-token");
  v1::ListDeliveriesResponse response;
  grpc::Status status = List(request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  std::vector<std::string> fields = testing::BadFields(status);
  EXPECT_THAT(fields,
              UnorderedElementsAre("referral_id", "page_size", "page_token"));
}

TEST_F(NotificationServiceTest, NegativePageSizeIsInvalidArgument) {
  v1::ListDeliveriesRequest request;
  request.set_page_size(-1);
  v1::ListDeliveriesResponse response;
  grpc::Status status = List(request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  google::rpc::BadRequest bad;
  ASSERT_TRUE(grpcutil::ExtractBadRequest(status, &bad));
  ASSERT_EQ(bad.field_violations_size(), 1);
  EXPECT_EQ(bad.field_violations(0).field(), "page_size");
}

TEST_F(NotificationServiceTest, ListsAReferralsDeliveriesAndTheRecentOnes) {
  const std::string referral = NewUuid();
  Submit(referral, "police-wmp", /*marac=*/false);

  v1::ListDeliveriesRequest request;
  request.set_referral_id(referral);
  v1::ListDeliveriesResponse response;
  grpc::Status status = List(request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.events_processed(), 2);
  ASSERT_EQ(response.deliveries_size(), 4);  // 2 events x (Kafka, stream)
  for (const v1::Delivery& d : response.deliveries()) {
    EXPECT_EQ(d.referral_id(), referral);
    EXPECT_TRUE(IsUuid(d.delivery_id()));
    EXPECT_GT(d.delivered_at().seconds(), 0);
    EXPECT_EQ(d.delivered_at().nanos() % 1000000, 0);
  }

  EXPECT_TRUE(response.next_page_token().empty());

  v1::ListDeliveriesRequest recent;
  recent.set_page_size(2);
  v1::ListDeliveriesResponse latest;
  status = List(recent, &latest);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(latest.deliveries_size(), 2);
  EXPECT_EQ(latest.events_processed(), 0);
  EXPECT_FALSE(latest.next_page_token().empty());
}

TEST_F(NotificationServiceTest, UnknownReferralIsNotFound) {
  v1::ListDeliveriesRequest request;
  request.set_referral_id(NewUuid());
  for (const char* agency : {kOperator, "police-wmp"}) {
    v1::ListDeliveriesResponse response;
    grpc::Status status = List(request, &response, agency);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << agency;
    EXPECT_EQ(response.deliveries_size(), 0);
  }
}

TEST_F(NotificationServiceTest, AReferralsDeliveriesPageWithoutGaps) {
  const std::string referral = NewUuid();
  const std::vector<std::string> mine = Record(referral).first;
  ASSERT_EQ(mine.size(), 520u);
  auto fetch = [&](int32_t size, const std::string& token) {
    return Page(referral, size, token);
  };
  testing::ExpectPages(fetch, 7, mine);
  testing::ExpectPages(fetch, 0, mine);
  testing::ExpectPageSizeBounds(fetch);
  // The recent list's token (other keys, other filters) is refused.
  testing::ExpectBadTokensRefused(fetch, Page("", 1, "").next_page_token);
}

TEST_F(NotificationServiceTest, RecentDeliveriesPageNewestFirst) {
  const std::string referral = NewUuid();
  const std::vector<std::string> all = Record(referral).second;
  ASSERT_EQ(all.size(), 572u);
  auto fetch = [&](int32_t size, const std::string& token) {
    return Page("", size, token);
  };
  testing::ExpectPages(fetch, 9, all);
  testing::ExpectPageSizeBounds(fetch);
  // A referral's token is refused here, and the other way round.
  const std::string token = Page(referral, 1, "").next_page_token;
  ASSERT_FALSE(token.empty());
  testing::ExpectBadTokensRefused(fetch, token);
  testing::ExpectRefused(Page(referral, 1, fetch(1, "").next_page_token),
                         "page_token");
}

TEST_F(NotificationServiceTest, AnAgencyListsOnlyItsOwnDeliveries) {
  const std::string referral = NewUuid();
  Submit(referral, "nhs-lth-ae", /*marac=*/true);

  EXPECT_THAT(AgenciesListed(referral, "nhs-lth-ae"),
              ElementsAre("nhs-lth-ae", "nhs-lth-ae"));
  EXPECT_THAT(AgenciesListed("", "nhs-lth-ae"),
              ElementsAre("nhs-lth-ae", "nhs-lth-ae"));
  EXPECT_THAT(AgenciesListed(referral, "marac-coordinator-wmp"),
              ElementsAre("marac-coordinator-wmp", "marac-coordinator-wmp"));
  EXPECT_THAT(AgenciesListed(referral, "police-wmp"), ::testing::IsEmpty());
  EXPECT_THAT(AgenciesListed("", "pcc-wmp"), ::testing::IsEmpty());
  for (const char* oversight : {kOperator, "signpost-auditor"}) {
    EXPECT_THAT(
        AgenciesListed(referral, oversight),
        UnorderedElementsAre("nhs-lth-ae", "nhs-lth-ae",
                             "marac-coordinator-wmp", "marac-coordinator-wmp"))
        << oversight;
  }
  // Nothing was refused, so nothing was audited.
  EXPECT_TRUE(testing::AccessAudits(*db_).empty());
}

TEST_F(NotificationServiceTest,
       CallWithoutAClientCertificateFailsAtTheHandshake) {
  auto anonymous = v1::NotificationService::NewStub(server_.AnonymousChannel());
  v1::ListDeliveriesRequest request;
  v1::ListDeliveriesResponse response;
  auto context = testing::ContextWithDeadline();
  EXPECT_EQ(
      anonymous->ListDeliveries(context.get(), request, &response).error_code(),
      grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(response.deliveries_size(), 0);
}

// Every role of the registry may call ListDeliveries (each agency sees its
// own), so no registered agency is outside its function rule; a Signpost
// service's own identity is, and is refused and audited like one.
TEST_F(NotificationServiceTest, ServiceIdentityIsRefusedAndAudited) {
  const std::string& pki = testing::TestPki();
  auto credentials = grpcutil::MutualTlsChannelCredentials(
      {absl::StrCat(pki, "/services/triage.crt"),
       absl::StrCat(pki, "/services/triage.key"),
       absl::StrCat(pki, "/ca.crt")});
  ASSERT_TRUE(credentials.ok()) << credentials.status();
  grpc::ChannelArguments args;
  args.SetInt("grpc.use_local_subchannel_pool", 1);
  auto service = v1::NotificationService::NewStub(
      grpc::CreateCustomChannel(server_.address(), *credentials, args));
  v1::ListDeliveriesRequest request;
  v1::ListDeliveriesResponse response;
  auto context = testing::ContextWithDeadline();
  grpc::Status status =
      service->ListDeliveries(context.get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(testing::RuleIds(status),
              ElementsAre(access::kRuleServiceCaller));
  std::vector<v1::AccessAudited> audits = testing::AccessAudits(*db_);
  ASSERT_EQ(audits.size(), 1u);
  EXPECT_EQ(audits[0].agency_id(), "service/triage");
  EXPECT_EQ(audits[0].rpc(), "/signpost.v1.NotificationService/ListDeliveries");
  EXPECT_EQ(audits[0].decision(), v1::ACCESS_DECISION_REFUSED);
  EXPECT_EQ(audits[0].rule_id(), access::kRuleServiceCaller);
  EXPECT_EQ(audits[0].status_code(), "PERMISSION_DENIED");
}

// Reads `agency`'s stream after `after` until `count` events arrived (or the
// deadline passes); the stream is then cancelled.
std::vector<v1::PartnerEvent> ReadStream(v1::NotificationService::Stub* stub,
                                         int64_t after, size_t count,
                                         grpc::Status* status = nullptr) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(20));
  v1::SubscribeRequest request;
  request.set_after_sequence(after);
  auto reader = stub->Subscribe(&context, request);
  std::vector<v1::PartnerEvent> out;
  v1::SubscribeResponse response;
  while (out.size() < count && reader->Read(&response)) {
    out.push_back(response.event());
  }
  if (out.size() == count) context.TryCancel();  // still open: stop it
  grpc::Status finished = reader->Finish();
  if (status != nullptr) *status = finished;
  return out;
}

TEST_F(NotificationServiceTest, SubscribeStreamsTheCallersOwnFeedFromACursor) {
  const std::string r1 = NewUuid();
  Submit(r1, "police-wmp", /*marac=*/true);
  std::vector<v1::PartnerEvent> first = ReadStream(Stub("police-wmp"), 0, 2);
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[0].type(), "referral.received");
  EXPECT_EQ(first[1].type(), "referral.triaged");
  for (const v1::PartnerEvent& e : first) {
    EXPECT_EQ(e.agency_id(), "police-wmp");  // from the certificate
    EXPECT_EQ(e.referral_id(), r1);
  }
  // Events that arrive while the stream is open are sent as they come.
  const std::string r2 = NewUuid();
  std::thread later([&] {
    absl::SleepFor(absl::Milliseconds(300));
    Submit(r2, "police-wmp", /*marac=*/false);
  });
  std::vector<v1::PartnerEvent> next =
      ReadStream(Stub("police-wmp"), first[1].sequence(), 2);
  later.join();
  ASSERT_EQ(next.size(), 2u);
  EXPECT_EQ(next[0].referral_id(), r2);
  EXPECT_GT(next[0].sequence(), first[1].sequence());
  // What the stream wrote is delivered.
  v1::ListDeliveriesRequest request;
  request.set_referral_id(r1);
  request.set_transport(v1::TRANSPORT_GRPC_STREAM);
  request.set_status(v1::DELIVERY_STATUS_DELIVERED);
  v1::ListDeliveriesResponse response;
  ASSERT_TRUE(List(request, &response, "police-wmp").ok());
  EXPECT_EQ(response.deliveries_size(), 2);
  // MARAC's stream holds MARAC's event only.
  std::vector<v1::PartnerEvent> marac =
      ReadStream(Stub("marac-coordinator-wmp"), 0, 1);
  ASSERT_EQ(marac.size(), 1u);
  EXPECT_EQ(marac[0].field_set(), v1::FIELD_SET_MARAC);
}

TEST_F(NotificationServiceTest,
       SubscribeRefusesRolesWithoutAFeedAndBadCursors) {
  grpc::Status status;
  EXPECT_TRUE(ReadStream(Stub("pcc-wmp"), 0, 1, &status).empty());
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  std::vector<v1::AccessAudited> audits = testing::AccessAudits(*db_);
  ASSERT_EQ(audits.size(), 1u);
  EXPECT_EQ(audits[0].rpc(), "/signpost.v1.NotificationService/Subscribe");
  EXPECT_TRUE(ReadStream(Stub("police-wmp"), -5, 1, &status).empty());
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(testing::BadFields(status), ElementsAre("after_sequence"));
}

TEST_F(NotificationServiceTest, ReplayIsForTheAgencyItselfOrTheOperator) {
  v1::ReplayDeliveriesRequest request;
  request.set_agency_id("police-wmp");
  v1::ReplayDeliveriesResponse response;
  auto context = testing::ContextWithDeadline();
  grpc::Status status =
      Stub("nhs-lth-ae")->ReplayDeliveries(context.get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(testing::RuleIds(status), ElementsAre(access::kRuleOwnAgency));
  context = testing::ContextWithDeadline();
  status = Stub("pcc-wmp")->ReplayDeliveries(context.get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  for (const char* agency : {"police-wmp", kOperator}) {
    context = testing::ContextWithDeadline();
    status = Stub(agency)->ReplayDeliveries(context.get(), request, &response);
    EXPECT_TRUE(status.ok()) << agency << ": " << status.error_message();
    EXPECT_EQ(response.requeued(), 0);
  }
  request.set_referral_id("nope");
  request.set_transport(v1::TRANSPORT_GRPC_STREAM);
  context = testing::ContextWithDeadline();
  status = Stub(kOperator)->ReplayDeliveries(context.get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(testing::BadFields(status),
              UnorderedElementsAre("referral_id", "transport"));
}

TEST_F(NotificationServiceTest, ListFiltersAreChecked) {
  v1::ListDeliveriesRequest request;
  request.set_status(static_cast<v1::DeliveryStatus>(42));
  request.set_transport(static_cast<v1::Transport>(42));
  *request.mutable_since() = timeutil::ToTimestamp(absl::FromUnixSeconds(20));
  *request.mutable_until() = timeutil::ToTimestamp(absl::FromUnixSeconds(10));
  request.set_agency_id("Not An Agency");
  v1::ListDeliveriesResponse response;
  grpc::Status status = List(request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(
      testing::BadFields(status),
      UnorderedElementsAre("status", "transport", "until", "agency_id"));
}

}  // namespace
}  // namespace signpost::notification
