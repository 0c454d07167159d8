// The OrderService gRPC adapter over an in-process server (mutual TLS, each
// call as a registered agency) and a real SQLite file: field errors, rule
// refusals, access refusals (audited) and unknown orders reach the client as
// their codes and details, and a happy path round-trips.
#include "services/orders/orders_service.h"

#include <algorithm>
#include <atomic>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "common/access/authz.h"
#include "common/grpc/status.h"
#include "common/ids/ids.h"
#include "common/store/outbox.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "services/orders/orders_app.h"
#include "services/orders/orders_store.h"
#include "signpost/v1/orders.grpc.pb.h"
#include "tests/support/paging_checks.h"
#include "tests/support/test_support.h"

namespace signpost::orders {
namespace {

// GetOrderHistory takes its own request, naming the same order.
v1::GetOrderHistoryRequest HistoryOf(const v1::GetOrderRequest& get) {
  v1::GetOrderHistoryRequest request;
  request.set_order_id(get.order_id());
  return request;
}

using ::testing::ElementsAre;
using testing::PageResult;
using ::testing::UnorderedElementsAre;

std::unique_ptr<store::Database> OpenDb(const testing::TempDir& dir) {
  auto db = store::Database::Open(dir.File("orders.db"), OrdersMigrations());
  EXPECT_TRUE(db.ok()) << db.status();
  return db.ok() ? std::move(*db) : nullptr;
}

OrdersApp::Options AppOptions() {
  auto calendar = calendar::WorkingCalendar::Load(
      testing::SourcePath("deploy/calendar/england-and-wales.txt"),
      "Europe/London");
  EXPECT_TRUE(calendar.ok()) << calendar.status();
  OrdersApp::Options options;
  if (calendar.ok()) options.calendar = *calendar;
  options.person_keys = testing::TestPersonKeys();
  return options;
}

class OrderServiceTest : public ::testing::Test {
 protected:
  OrderServiceTest()
      : db_(OpenDb(dir_)),
        app_(*db_, AppOptions()),
        gate_(*db_, "orders"),
        api_(
            app_, [this] { ++wakes_; }, gate_.gate()),
        server_({&api_}),
        stub_(Stub(kPolice)) {
    // The fixtures' referral, as triage's decision makes it known.
    absl::Status known = db_->Write([this](store::Tx& tx) {
      return RecordReferral(tx, ReferralId(referral_), "WMP", "");
    });
    EXPECT_TRUE(known.ok()) << known;
  }

  // The agencies calling: the force of the fixtures' area (WMP), and
  // Signpost's operator and auditor.
  static constexpr char kPolice[] = "police-wmp";
  static constexpr char kOperator[] = "signpost-operator";
  static constexpr char kAuditor[] = "signpost-auditor";

  // A stub presenting `agency`'s certificate (one channel per agency).
  v1::OrderService::Stub* Stub(const std::string& agency) {
    std::unique_ptr<v1::OrderService::Stub>& stub = stubs_[agency];
    if (stub == nullptr) {
      stub = v1::OrderService::NewStub(server_.ChannelAs(agency));
    }
    return stub.get();
  }

  grpc::Status Apply(const v1::RecordApplicationRequest& request,
                     v1::Order* order) {
    auto context = testing::ContextWithDeadline();
    return testing::Unwrapped<v1::RecordApplicationResponse>(
        [&](v1::RecordApplicationResponse* r) {
          return stub_->RecordApplication(context.get(), request, r);
        },
        order, &v1::RecordApplicationResponse::order);
  }
  v1::RecordApplicationRequest Application(v1::OrderType type) {
    v1::RecordApplicationRequest request;
    request.set_referral_id(referral_);
    request.set_order_type(type);
    request.set_actor("pc-1");
    request.set_area_code("WMP");
    request.set_protected_age(30);
    request.set_respondent_age(35);
    return request;
  }

  // Saves `n` WMP orders updated ten to a second (so updated_at ties),
  // and one GMP order; returns the WMP ids in ListOrders' order.
  std::vector<std::string> SaveOrders(int n) {
    std::vector<std::tuple<int64_t, std::string>> keyed;
    auto saved = db_->Write([&](store::Tx& tx) -> absl::Status {
      for (int i = 0; i <= n; ++i) {
        v1::Order order;
        order.set_order_id(NewUuid());
        order.set_referral_id(NewUuid());
        order.set_order_type(v1::ORDER_TYPE_DVPO);
        order.set_state(v1::ORDER_STATE_APPLIED);
        order.set_area_code(i == n ? "GMP" : "WMP");
        absl::Time at = t0_ + absl::Seconds(i / 10);
        RETURN_IF_ERROR(SaveOrder(tx, order, at));
        if (i < n)
          keyed.emplace_back(-absl::ToUnixMillis(at), order.order_id());
      }
      return absl::OkStatus();
    });
    EXPECT_TRUE(saved.ok()) << saved;
    std::sort(keyed.begin(), keyed.end());
    std::vector<std::string> ids;
    for (const auto& [key, id] : keyed) ids.push_back(id);
    return ids;
  }

  // Opens `n` review items in WMP, ten to a second, each for its own
  // referral, and one in GMP (opened first); returns the WMP ids oldest
  // first, then by id.
  std::vector<std::string> OpenItems(int n) {
    std::vector<std::tuple<int64_t, std::string>> keyed;
    auto opened = db_->Write([&](store::Tx& tx) -> absl::Status {
      for (int i = 0; i <= n; ++i) {
        ConsiderationId id(NewUuid());
        absl::Time at = t0_ + absl::Seconds(i / 10);
        RETURN_IF_ERROR(InsertConsideration(
            tx, id, ReferralId(NewUuid()), v1::CONSIDERATION_DVDS,
            i == n ? "GMP" : "WMP", i == n ? t0_ - absl::Hours(1) : at));
        if (i < n) keyed.emplace_back(absl::ToUnixMillis(at), id.value());
      }
      return absl::OkStatus();
    });
    EXPECT_TRUE(opened.ok()) << opened;
    std::sort(keyed.begin(), keyed.end());
    std::vector<std::string> ids;
    for (const auto& [key, id] : keyed) ids.push_back(id);
    return ids;
  }

  template <typename Request, typename Response, typename Items>
  PageResult Page(grpc::Status (v1::OrderService::Stub::*call)(
                      grpc::ClientContext*, const Request&, Response*),
                  const std::string& agency, Request request, int32_t size,
                  const std::string& token, Items items) {
    request.set_page_size(size);
    request.set_page_token(token);
    Response response;
    auto context = testing::ContextWithDeadline();
    PageResult page;
    page.status = (Stub(agency)->*call)(context.get(), request, &response);
    page.ids = items(response);
    page.next_page_token = response.next_page_token();
    return page;
  }
  PageResult Orders(const std::string& area, int32_t size,
                    const std::string& token,
                    const std::string& agency = kPolice) {
    v1::ListOrdersRequest request;
    request.set_area_code(area);
    return Page(&v1::OrderService::Stub::ListOrders, agency, request, size,
                token, [](const v1::ListOrdersResponse& r) {
                  std::vector<std::string> ids;
                  for (const auto& o : r.orders()) ids.push_back(o.order_id());
                  return ids;
                });
  }
  PageResult Queue(const std::string& area, int32_t size,
                   const std::string& token,
                   const std::string& agency = kPolice) {
    v1::ListReviewQueueRequest request;
    request.set_area_code(area);
    return Page(&v1::OrderService::Stub::ListReviewQueue, agency, request, size,
                token, [](const v1::ListReviewQueueResponse& r) {
                  std::vector<std::string> ids;
                  for (const auto& c : r.items()) {
                    ids.push_back(c.consideration_id());
                  }
                  return ids;
                });
  }
  // Every area's open items (no referral) are the operator's and the
  // auditor's to list.
  PageResult Considerations(const std::string& referral_id, int32_t size,
                            const std::string& token,
                            const std::string& agency = kPolice) {
    v1::ListConsiderationsRequest request;
    request.set_referral_id(referral_id);
    return Page(&v1::OrderService::Stub::ListConsiderations, agency, request,
                size, token, [](const v1::ListConsiderationsResponse& r) {
                  std::vector<std::string> ids;
                  for (const auto& c : r.considerations()) {
                    ids.push_back(c.consideration_id());
                  }
                  return ids;
                });
  }

  testing::TempDir dir_;
  std::unique_ptr<store::Database> db_;
  OrdersApp app_;
  std::atomic<int> wakes_{0};
  testing::TestGate gate_;
  OrderServiceImpl api_;
  testing::InProcessServer server_;
  std::map<std::string, std::unique_ptr<v1::OrderService::Stub>> stubs_;
  v1::OrderService::Stub* stub_;  // as kPolice
  std::string referral_ = NewUuid();
  absl::Time t0_ = absl::FromUnixSeconds(1717405200);
};

TEST_F(OrderServiceTest, BadRequestNamesEveryBadField) {
  v1::RecordBreachRequest breach;
  breach.set_order_id("not-a-uuid");
  breach.set_action(static_cast<v1::BreachAction>(42));
  breach.set_proceedings(static_cast<v1::BreachProceedings>(9));
  v1::Breach out;
  auto context = testing::ContextWithDeadline();
  grpc::Status status = testing::Unwrapped<v1::RecordBreachResponse>(
      [&](v1::RecordBreachResponse* r) {
        return stub_->RecordBreach(context.get(), breach, r);
      },
      &out, &v1::RecordBreachResponse::breach);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(
      testing::BadFields(status),
      UnorderedElementsAre("order_id", "actor", "occurred_at",
                           "reporting_agency", "action", "proceedings"));

  v1::RecordDecisionRequest decision;
  decision.set_order_id(NewUuid());
  decision.set_actor("pc-1");
  decision.set_granted(true);
  decision.mutable_terms()->set_duration_days(-1);
  decision.set_respondent_age(200);
  v1::Order order;
  auto context2 = testing::ContextWithDeadline();
  status = testing::Unwrapped<v1::RecordDecisionResponse>(
      [&](v1::RecordDecisionResponse* r) {
        return stub_->RecordDecision(context2.get(), decision, r);
      },
      &order, &v1::RecordDecisionResponse::order);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(testing::BadFields(status),
              UnorderedElementsAre("authority.court_or_officer",
                                   "terms.duration_days", "respondent_age"));
  EXPECT_EQ(wakes_, 0);  // nothing was written
}

TEST_F(OrderServiceTest, RefusedTransitionNamesTheRule) {
  v1::Order order;
  ASSERT_TRUE(Apply(Application(v1::ORDER_TYPE_DVPO), &order).ok());
  // A DVPO of 30 days is refused by the statute...
  v1::RecordDecisionRequest decision;
  decision.set_order_id(order.order_id());
  decision.set_granted(true);
  decision.mutable_authority()->set_court_or_officer("WORC-MC");
  decision.mutable_terms()->set_duration_days(30);
  decision.set_actor("pc-1");
  v1::Order decided;
  auto context = testing::ContextWithDeadline();
  grpc::Status status = testing::Unwrapped<v1::RecordDecisionResponse>(
      [&](v1::RecordDecisionResponse* r) {
        return stub_->RecordDecision(context.get(), decision, r);
      },
      &decided, &v1::RecordDecisionResponse::order);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(testing::RuleIds(status), ElementsAre("DVPO-DURATION"));
  // ...and an APPLIED order cannot be served.
  v1::RecordServiceRequest serve;
  serve.set_order_id(order.order_id());
  serve.set_actor("pc-2");
  auto context2 = testing::ContextWithDeadline();
  status = testing::Unwrapped<v1::RecordServiceResponse>(
      [&](v1::RecordServiceResponse* r) {
        return stub_->RecordService(context2.get(), serve, r);
      },
      &decided, &v1::RecordServiceResponse::order);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(testing::RuleIds(status), ElementsAre("ORDER-LIFECYCLE"));
  google::rpc::PreconditionFailure failure;
  ASSERT_TRUE(grpcutil::ExtractPreconditionFailure(status, &failure));
  EXPECT_EQ(failure.violations(0).subject(), "state");
}

// Order and referral ids are random UUIDs: an unknown one is NOT_FOUND to
// every caller (not a refusal, so not audited), and nothing is written.
TEST_F(OrderServiceTest, UnknownIdsAreNotFoundToEveryCaller) {
  v1::GetOrderRequest get;
  get.set_order_id(NewUuid());
  for (const char* reader : {kOperator, kAuditor, kPolice}) {
    v1::Order order;
    auto context = testing::ContextWithDeadline();
    EXPECT_EQ(testing::Unwrapped<v1::GetOrderResponse>(
                  [&](v1::GetOrderResponse* r) {
                    return Stub(reader)->GetOrder(context.get(), get, r);
                  },
                  &order, &v1::GetOrderResponse::order)
                  .error_code(),
              grpc::StatusCode::NOT_FOUND)
        << reader;
    v1::OrderHistory history;
    auto context2 = testing::ContextWithDeadline();
    EXPECT_EQ(testing::Unwrapped<v1::GetOrderHistoryResponse>(
                  [&](v1::GetOrderHistoryResponse* r) {
                    return Stub(reader)->GetOrderHistory(context2.get(),
                                                         HistoryOf(get), r);
                  },
                  &history, &v1::GetOrderHistoryResponse::history)
                  .error_code(),
              grpc::StatusCode::NOT_FOUND)
        << reader;
  }
  v1::Order order;
  v1::RecordServiceRequest serve;
  serve.set_order_id(get.order_id());
  serve.set_actor("pc-2");
  auto context3 = testing::ContextWithDeadline();
  EXPECT_EQ(testing::Unwrapped<v1::RecordServiceResponse>(
                [&](v1::RecordServiceResponse* r) {
                  return stub_->RecordService(context3.get(), serve, r);
                },
                &order, &v1::RecordServiceResponse::order)
                .error_code(),
            grpc::StatusCode::NOT_FOUND);
  v1::RecordApplicationRequest apply = Application(v1::ORDER_TYPE_DVPO);
  apply.set_referral_id(NewUuid());
  EXPECT_EQ(Apply(apply, &order).error_code(), grpc::StatusCode::NOT_FOUND);
  v1::ListConsiderationsRequest list;
  list.set_referral_id(NewUuid());
  v1::ListConsiderationsResponse listed;
  auto context4 = testing::ContextWithDeadline();
  EXPECT_EQ(
      stub_->ListConsiderations(context4.get(), list, &listed).error_code(),
      grpc::StatusCode::NOT_FOUND);
  EXPECT_TRUE(testing::AccessAudits(*db_).empty());
  EXPECT_EQ(wakes_, 0);
}

TEST_F(OrderServiceTest, ApplicationDecisionAndServiceRoundTrip) {
  v1::Order applied;
  grpc::Status status = Apply(Application(v1::ORDER_TYPE_DVPO), &applied);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(IsUuid(applied.order_id()));
  EXPECT_EQ(applied.state(), v1::ORDER_STATE_APPLIED);
  EXPECT_EQ(applied.referral_id(), referral_);

  v1::RecordDecisionRequest decision;
  decision.set_order_id(applied.order_id());
  decision.set_granted(true);
  decision.mutable_authority()->set_court_or_officer("WORC-MC");
  decision.mutable_terms()->set_duration_days(28);
  decision.set_actor("pc-1");
  v1::Order granted;
  auto context = testing::ContextWithDeadline();
  status = testing::Unwrapped<v1::RecordDecisionResponse>(
      [&](v1::RecordDecisionResponse* r) {
        return stub_->RecordDecision(context.get(), decision, r);
      },
      &granted, &v1::RecordDecisionResponse::order);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(granted.state(), v1::ORDER_STATE_GRANTED);
  EXPECT_EQ(granted.timers_size(), 2);  // expiring, expired
  // Stamps are whole milliseconds, so the answer and a later read agree.
  EXPECT_EQ(granted.terms().made_at().nanos() % 1000000, 0);

  v1::RecordServiceRequest serve;
  serve.set_order_id(applied.order_id());
  serve.set_actor("pc-2");
  v1::Order served;
  auto context2 = testing::ContextWithDeadline();
  status = testing::Unwrapped<v1::RecordServiceResponse>(
      [&](v1::RecordServiceResponse* r) {
        return stub_->RecordService(context2.get(), serve, r);
      },
      &served, &v1::RecordServiceResponse::order);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(served.state(), v1::ORDER_STATE_SERVED);

  v1::GetOrderRequest get;
  get.set_order_id(applied.order_id());
  v1::Order read;
  auto context3 = testing::ContextWithDeadline();
  ASSERT_TRUE(testing::Unwrapped<v1::GetOrderResponse>(
                  [&](v1::GetOrderResponse* r) {
                    return stub_->GetOrder(context3.get(), get, r);
                  },
                  &read, &v1::GetOrderResponse::order)
                  .ok());
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(read, served))
      << read.DebugString() << "\nvs\n"
      << served.DebugString();

  v1::ListOrdersRequest list;
  list.set_referral_id(referral_);
  list.set_area_code("WMP");  // police list within their own areas
  v1::ListOrdersResponse listed;
  auto context4 = testing::ContextWithDeadline();
  ASSERT_TRUE(stub_->ListOrders(context4.get(), list, &listed).ok());
  ASSERT_EQ(listed.orders_size(), 1);
  EXPECT_EQ(listed.orders(0).order_id(), applied.order_id());

  v1::OrderHistory history;
  auto context5 = testing::ContextWithDeadline();
  ASSERT_TRUE(testing::Unwrapped<v1::GetOrderHistoryResponse>(
                  [&](v1::GetOrderHistoryResponse* r) {
                    return stub_->GetOrderHistory(context5.get(),
                                                  HistoryOf(get), r);
                  },
                  &history, &v1::GetOrderHistoryResponse::history)
                  .ok());
  std::vector<v1::OrderState> states;
  std::vector<std::string> actors;
  for (const auto& c : history.changes()) {
    states.push_back(c.to_state());
    actors.push_back(c.actor());
  }
  EXPECT_THAT(states,
              ElementsAre(v1::ORDER_STATE_APPLIED, v1::ORDER_STATE_GRANTED,
                          v1::ORDER_STATE_SERVED));
  // The actor as stored: the agency of the certificate, then the officer.
  EXPECT_THAT(actors, ElementsAre("police-wmp/pc-1", "police-wmp/pc-1",
                                  "police-wmp/pc-2"));
  EXPECT_EQ(wakes_, 3);  // once per committed mutation
  auto recorded = store::ListReferralEvents(*db_, referral_);
  ASSERT_TRUE(recorded.ok());
  EXPECT_EQ(recorded->size(), 3u);  // OrderRecorded for each change
}

TEST_F(OrderServiceTest, ReviewQueueNeedsAnAreaAndListsOpenItems) {
  v1::ListReviewQueueRequest queue;
  v1::ListReviewQueueResponse items;
  auto context = testing::ContextWithDeadline();
  grpc::Status status = stub_->ListReviewQueue(context.get(), queue, &items);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(testing::BadFields(status), ElementsAre("area_code"));
  v1::ListConsiderationsRequest considerations;
  considerations.set_referral_id(referral_);
  v1::ListConsiderationsResponse listed;
  auto context2 = testing::ContextWithDeadline();
  ASSERT_TRUE(
      stub_->ListConsiderations(context2.get(), considerations, &listed).ok());
  EXPECT_EQ(listed.considerations_size(), 0);
}

TEST_F(OrderServiceTest, ListOrdersPagesMostRecentFirstWithoutGaps) {
  const std::vector<std::string> wmp = SaveOrders(520);
  auto fetch = [this](int32_t size, const std::string& token) {
    return Orders("WMP", size, token);
  };
  testing::ExpectPages(fetch, 7, wmp);  // pages end inside updated_at ties
  testing::ExpectPages(fetch, 0, wmp);
  testing::ExpectPageSizeBounds(fetch);
  // Another RPC's token, even with the same kind of key, is refused.
  OpenItems(2);
  testing::ExpectBadTokensRefused(fetch, Queue("WMP", 1, "").next_page_token);
  // So is a token for other filters.
  testing::ExpectRefused(
      Orders("GMP", 1, Orders("WMP", 1, "").next_page_token, kOperator),
      "page_token");
}

TEST_F(OrderServiceTest, ListReviewQueuePagesOldestFirstWithoutGaps) {
  const std::vector<std::string> wmp = OpenItems(520);
  auto fetch = [this](int32_t size, const std::string& token) {
    return Queue("WMP", size, token);
  };
  testing::ExpectPages(fetch, 9, wmp);
  testing::ExpectPages(fetch, 0, wmp);
  testing::ExpectPageSizeBounds(fetch);
  SaveOrders(2);
  testing::ExpectBadTokensRefused(fetch, Orders("WMP", 1, "").next_page_token);
  // Every bad field at once, paging fields included.
  PageResult bad = Queue("", 501, "x");
  EXPECT_THAT(testing::BadFields(bad.status),
              UnorderedElementsAre("area_code", "page_size", "page_token"));
}

TEST_F(OrderServiceTest, ListConsiderationsPagesBothOrders) {
  // All open items: oldest first, then by id (the GMP one is oldest); the
  // operator lists every area's.
  std::vector<std::string> open = OpenItems(520);
  PageResult gmp = Queue("GMP", 1, "", kOperator);
  ASSERT_EQ(gmp.ids.size(), 1u);
  open.insert(open.begin(), gmp.ids[0]);
  auto all_open = [this](int32_t size, const std::string& token) {
    return Considerations("", size, token, kOperator);
  };
  testing::ExpectPages(all_open, 11, open);
  testing::ExpectPageSizeBounds(all_open);
  // One referral's items, by kind, a page at a time.
  auto opened = db_->Write([&](store::Tx& tx) -> absl::Status {
    for (v1::Consideration c : {v1::CONSIDERATION_DAPN, v1::CONSIDERATION_SPO,
                                v1::CONSIDERATION_DVDS}) {
      RETURN_IF_ERROR(InsertConsideration(tx, ConsiderationId(NewUuid()),
                                          ReferralId(referral_), c, "WMP",
                                          t0_));
    }
    return absl::OkStatus();
  });
  ASSERT_TRUE(opened.ok()) << opened;
  PageResult whole = Considerations(referral_, 0, "");
  ASSERT_EQ(whole.ids.size(), 3u);
  EXPECT_TRUE(whole.next_page_token.empty());
  auto of_referral = [this](int32_t size, const std::string& token) {
    return Considerations(referral_, size, token);
  };
  testing::ExpectPages(of_referral, 1, whole.ids);
  // The two orders' tokens do not mix, though their keys look alike.
  testing::ExpectBadTokensRefused(
      of_referral, Considerations("", 1, "", kOperator).next_page_token);
  testing::ExpectRefused(
      Considerations("", 1, Considerations(referral_, 1, "").next_page_token,
                     kOperator),
      "page_token");
}

TEST_F(OrderServiceTest, CallWithoutAClientCertificateFailsAtTheHandshake) {
  auto anonymous = v1::OrderService::NewStub(server_.AnonymousChannel());
  v1::GetOrderRequest get;
  get.set_order_id(NewUuid());
  v1::Order order;
  auto context = testing::ContextWithDeadline();
  EXPECT_EQ(testing::Unwrapped<v1::GetOrderResponse>(
                [&](v1::GetOrderResponse* r) {
                  return anonymous->GetOrder(context.get(), get, r);
                },
                &order, &v1::GetOrderResponse::order)
                .error_code(),
            grpc::StatusCode::UNAVAILABLE);
  v1::ListOrdersRequest list;
  list.set_area_code("WMP");
  v1::ListOrdersResponse listed;
  auto context2 = testing::ContextWithDeadline();
  EXPECT_EQ(anonymous->ListOrders(context2.get(), list, &listed).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(listed.orders_size(), 0);
}

TEST_F(OrderServiceTest, RoleOutsideTheTableIsRefusedAndAudited) {
  v1::Order applied;
  ASSERT_TRUE(Apply(Application(v1::ORDER_TYPE_DVPO), &applied).ok());
  const int wakes = wakes_;
  v1::RecordDecisionRequest decision;
  decision.set_order_id(applied.order_id());
  decision.set_granted(true);
  decision.mutable_authority()->set_court_or_officer("WORC-MC");
  decision.mutable_terms()->set_duration_days(28);
  decision.set_actor("pc-1");
  // The commissioner holds no orders role; the operator only reads orders.
  for (const char* agency : {"pcc-wmp", kOperator}) {
    v1::Order decided;
    auto context = testing::ContextWithDeadline();
    grpc::Status status = testing::Unwrapped<v1::RecordDecisionResponse>(
        [&](v1::RecordDecisionResponse* r) {
          return Stub(agency)->RecordDecision(context.get(), decision, r);
        },
        &decided, &v1::RecordDecisionResponse::order);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED)
        << agency << ": " << status.error_message();
    EXPECT_THAT(testing::RuleIds(status), ElementsAre(access::kRuleFunction))
        << agency;
  }
  // Nothing was written...
  EXPECT_EQ(wakes_, wakes);
  v1::GetOrderRequest get;
  get.set_order_id(applied.order_id());
  v1::Order read;
  auto context = testing::ContextWithDeadline();
  ASSERT_TRUE(testing::Unwrapped<v1::GetOrderResponse>(
                  [&](v1::GetOrderResponse* r) {
                    return stub_->GetOrder(context.get(), get, r);
                  },
                  &read, &v1::GetOrderResponse::order)
                  .ok());
  EXPECT_EQ(read.state(), v1::ORDER_STATE_APPLIED);
  // ...and each refusal is in the access audit, without an object (the
  // function rule refuses the method itself).
  std::vector<v1::AccessAudited> audits = testing::AccessAudits(*db_);
  ASSERT_EQ(audits.size(), 2u);
  EXPECT_EQ(audits[0].agency_id(), "pcc-wmp");
  EXPECT_EQ(audits[1].agency_id(), kOperator);
  for (const v1::AccessAudited& audit : audits) {
    EXPECT_EQ(audit.rpc(), "/signpost.v1.OrderService/RecordDecision");
    EXPECT_EQ(audit.decision(), v1::ACCESS_DECISION_REFUSED);
    EXPECT_EQ(audit.rule_id(), access::kRuleFunction);
    EXPECT_EQ(audit.status_code(), "PERMISSION_DENIED");
    EXPECT_EQ(audit.field_class(), v1::FIELD_CLASS_NONE);
    EXPECT_EQ(audit.object_id(), "");
  }
}

TEST_F(OrderServiceTest, OversightReadsEveryAreaAndPoliceTheirOwn) {
  const std::vector<std::string> wmp = SaveOrders(2);
  OpenItems(1);
  // The auditor reads an order, lists another area's and every area's open
  // review items.
  v1::GetOrderRequest get;
  get.set_order_id(wmp[0]);
  v1::Order read;
  auto context = testing::ContextWithDeadline();
  grpc::Status status = testing::Unwrapped<v1::GetOrderResponse>(
      [&](v1::GetOrderResponse* r) {
        return Stub(kAuditor)->GetOrder(context.get(), get, r);
      },
      &read, &v1::GetOrderResponse::order);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(read.order_id(), wmp[0]);
  PageResult gmp = Orders("GMP", 10, "", kAuditor);
  ASSERT_TRUE(gmp.status.ok()) << gmp.status.error_message();
  EXPECT_EQ(gmp.ids.size(), 1u);
  PageResult open = Considerations("", 10, "", kAuditor);
  ASSERT_TRUE(open.status.ok()) << open.status.error_message();
  EXPECT_EQ(open.ids.size(), 2u);
  // WMP police: their own area only, and no list of every area's items.
  PageResult own = Orders("WMP", 10, "");
  ASSERT_TRUE(own.status.ok()) << own.status.error_message();
  EXPECT_EQ(own.ids, wmp);
  for (const PageResult& refused :
       {Orders("GMP", 10, ""), Orders("", 10, ""), Queue("GMP", 10, ""),
        Considerations("", 10, "")}) {
    EXPECT_EQ(refused.status.error_code(), grpc::StatusCode::PERMISSION_DENIED)
        << refused.status.error_message();
    EXPECT_THAT(testing::RuleIds(refused.status),
                ElementsAre(access::kRuleOwnArea));
    EXPECT_TRUE(refused.ids.empty());
  }
}

}  // namespace
}  // namespace signpost::orders
