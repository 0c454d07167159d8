// The OrderService gRPC adapter over an in-process server and a real SQLite
// file: field errors, rule refusals and unknown orders reach the client as
// their codes and details, and a happy path round-trips.
#include "services/orders/orders_service.h"

#include <atomic>

#include "common/grpc/status.h"
#include "common/ids/ids.h"
#include "common/store/outbox.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "services/orders/orders_app.h"
#include "services/orders/orders_store.h"
#include "signpost/v1/orders.grpc.pb.h"
#include "tests/support/test_support.h"

namespace signpost::orders {
namespace {

using ::testing::ElementsAre;
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
  return options;
}

class OrderServiceTest : public ::testing::Test {
 protected:
  OrderServiceTest()
      : db_(OpenDb(dir_)),
        app_(*db_, AppOptions()),
        api_(
            app_, [this] { ++wakes_; }, executor_),
        server_({&api_}),
        stub_(v1::OrderService::NewStub(server_.channel())) {}

  grpc::Status Apply(const v1::RecordApplicationRequest& request,
                     v1::Order* order) {
    auto context = testing::ContextWithDeadline();
    return stub_->RecordApplication(context.get(), request, order);
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

  testing::TempDir dir_;
  std::unique_ptr<store::Database> db_;
  OrdersApp app_;
  std::atomic<int> wakes_{0};
  grpcutil::Executor executor_{2};
  OrderServiceImpl api_;
  testing::InProcessServer server_;
  std::unique_ptr<v1::OrderService::Stub> stub_;
  std::string referral_ = NewUuid();
};

TEST_F(OrderServiceTest, BadRequestNamesEveryBadField) {
  v1::RecordBreachRequest breach;
  breach.set_order_id("not-a-uuid");
  breach.set_action(static_cast<v1::BreachAction>(42));
  breach.set_proceedings(static_cast<v1::BreachProceedings>(9));
  v1::Breach out;
  auto context = testing::ContextWithDeadline();
  grpc::Status status = stub_->RecordBreach(context.get(), breach, &out);
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
  status = stub_->RecordDecision(context2.get(), decision, &order);
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
  grpc::Status status =
      stub_->RecordDecision(context.get(), decision, &decided);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(testing::RuleIds(status), ElementsAre("DVPO-DURATION"));
  // ...and an APPLIED order cannot be served.
  v1::RecordServiceRequest serve;
  serve.set_order_id(order.order_id());
  serve.set_actor("pc-2");
  auto context2 = testing::ContextWithDeadline();
  status = stub_->RecordService(context2.get(), serve, &decided);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(testing::RuleIds(status), ElementsAre("ORDER-LIFECYCLE"));
  google::rpc::PreconditionFailure failure;
  ASSERT_TRUE(grpcutil::ExtractPreconditionFailure(status, &failure));
  EXPECT_EQ(failure.violations(0).subject(), "state");
}

TEST_F(OrderServiceTest, UnknownOrderIsNotFound) {
  v1::GetOrderRequest get;
  get.set_order_id(NewUuid());
  v1::Order order;
  auto context = testing::ContextWithDeadline();
  EXPECT_EQ(stub_->GetOrder(context.get(), get, &order).error_code(),
            grpc::StatusCode::NOT_FOUND);
  v1::OrderHistory history;
  auto context2 = testing::ContextWithDeadline();
  EXPECT_EQ(stub_->GetOrderHistory(context2.get(), get, &history).error_code(),
            grpc::StatusCode::NOT_FOUND);
  v1::RecordServiceRequest serve;
  serve.set_order_id(get.order_id());
  serve.set_actor("pc-2");
  auto context3 = testing::ContextWithDeadline();
  EXPECT_EQ(stub_->RecordService(context3.get(), serve, &order).error_code(),
            grpc::StatusCode::NOT_FOUND);
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
  status = stub_->RecordDecision(context.get(), decision, &granted);
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
  status = stub_->RecordService(context2.get(), serve, &served);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(served.state(), v1::ORDER_STATE_SERVED);

  v1::GetOrderRequest get;
  get.set_order_id(applied.order_id());
  v1::Order read;
  auto context3 = testing::ContextWithDeadline();
  ASSERT_TRUE(stub_->GetOrder(context3.get(), get, &read).ok());
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(read, served))
      << read.DebugString() << "\nvs\n"
      << served.DebugString();

  v1::ListOrdersRequest list;
  list.set_referral_id(referral_);
  v1::ListOrdersResponse listed;
  auto context4 = testing::ContextWithDeadline();
  ASSERT_TRUE(stub_->ListOrders(context4.get(), list, &listed).ok());
  ASSERT_EQ(listed.orders_size(), 1);
  EXPECT_EQ(listed.orders(0).order_id(), applied.order_id());

  v1::OrderHistory history;
  auto context5 = testing::ContextWithDeadline();
  ASSERT_TRUE(stub_->GetOrderHistory(context5.get(), get, &history).ok());
  std::vector<v1::OrderState> states;
  for (const auto& c : history.changes()) states.push_back(c.to_state());
  EXPECT_THAT(states,
              ElementsAre(v1::ORDER_STATE_APPLIED, v1::ORDER_STATE_GRANTED,
                          v1::ORDER_STATE_SERVED));
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

}  // namespace
}  // namespace signpost::orders
