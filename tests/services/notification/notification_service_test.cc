// The notification gRPC adapter over an in-process server and a real SQLite
// file.
#include "services/notification/notification_service.h"

#include "common/events/envelope.h"
#include "common/grpc/status.h"
#include "common/ids/ids.h"
#include "common/status/macros.h"
#include "common/store/outbox.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/notification/notification_app.h"
#include "services/notification/notification_store.h"
#include "services/notification/subscriptions.h"
#include "signpost/v1/notification.grpc.pb.h"
#include "tests/support/test_support.h"

namespace signpost::notification {
namespace {

using ::testing::UnorderedElementsAre;

std::unique_ptr<store::Database> OpenDb(const testing::TempDir& dir) {
  auto db =
      store::Database::Open(dir.File("n.db"), NotificationStore::Migrations());
  EXPECT_TRUE(db.ok()) << db.status();
  return db.ok() ? std::move(*db) : nullptr;
}

v1::SubscriptionList ExampleSubscriptions() {
  auto list = LoadSubscriptions(
      testing::SourcePath("examples/subscriptions.textproto"));
  EXPECT_TRUE(list.ok()) << list.status();
  return list.ok() ? *list : v1::SubscriptionList();
}

class NotificationServiceTest : public ::testing::Test {
 protected:
  NotificationServiceTest()
      : db_(OpenDb(dir_)),
        app_(*db_, ExampleSubscriptions()),
        api_(app_, executor_),
        server_({&api_}),
        stub_(v1::NotificationService::NewStub(server_.channel())) {}

  grpc::Status List(const v1::ListDeliveriesRequest& request,
                    v1::ListDeliveriesResponse* response) {
    auto context = testing::ContextWithDeadline();
    return stub_->ListDeliveries(context.get(), request, response);
  }
  // Hands `env` to the app as the event consumer would.
  absl::StatusOr<int> Deliver(v1::EventEnvelope env) {
    events::StampType(&env);
    return db_->Write([&](store::Tx& tx) -> absl::StatusOr<int> {
      ASSIGN_OR_RETURN(bool claimed, store::ClaimInbox(tx, env));
      if (!claimed) return 0;
      return app_.Deliver(tx, env, NewTraceparent());
    });
  }

  testing::TempDir dir_;
  std::unique_ptr<store::Database> db_;
  NotificationApp app_;
  grpcutil::Executor executor_{2};
  NotificationServiceImpl api_;
  testing::InProcessServer server_;
  std::unique_ptr<v1::NotificationService::Stub> stub_;
};

TEST_F(NotificationServiceTest, BadRequestNamesEveryBadField) {
  v1::ListDeliveriesRequest request;
  request.set_referral_id("not-a-uuid");
  request.set_limit(5000);
  v1::ListDeliveriesResponse response;
  grpc::Status status = List(request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  std::vector<std::string> fields = testing::BadFields(status);
  EXPECT_THAT(fields, UnorderedElementsAre("referral_id", "limit"));
}

TEST_F(NotificationServiceTest, NegativeLimitIsInvalidArgument) {
  v1::ListDeliveriesRequest request;
  request.set_limit(-1);
  v1::ListDeliveriesResponse response;
  grpc::Status status = List(request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  google::rpc::BadRequest bad;
  ASSERT_TRUE(grpcutil::ExtractBadRequest(status, &bad));
  ASSERT_EQ(bad.field_violations_size(), 1);
  EXPECT_EQ(bad.field_violations(0).field(), "limit");
}

TEST_F(NotificationServiceTest, ListsAReferralsDeliveriesAndTheRecentOnes) {
  const std::string referral = NewUuid();
  v1::EventEnvelope received = events::NewEnvelope("intake", referral);
  received.mutable_referral_received()->mutable_facts()->set_area_code("WMP");
  ASSERT_EQ(*Deliver(received), 0);
  v1::EventEnvelope triaged =
      events::NewEnvelope("triage", referral, &received);
  triaged.mutable_referral_triaged()->set_area_code("WMP");
  triaged.mutable_referral_triaged()->set_status(v1::REFERRAL_STATUS_ROUTED);
  ASSERT_EQ(*Deliver(triaged), 3);

  v1::ListDeliveriesRequest request;
  request.set_referral_id(referral);
  v1::ListDeliveriesResponse response;
  grpc::Status status = List(request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.events_processed(), 2);
  ASSERT_EQ(response.deliveries_size(), 3);
  for (const v1::Delivery& d : response.deliveries()) {
    EXPECT_EQ(d.referral_id(), referral);
    EXPECT_TRUE(IsUuid(d.delivery_id()));
    EXPECT_GT(d.delivered_at().seconds(), 0);
    EXPECT_EQ(d.delivered_at().nanos() % 1000000, 0);
  }

  v1::ListDeliveriesRequest recent;
  recent.set_limit(2);
  v1::ListDeliveriesResponse latest;
  status = List(recent, &latest);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(latest.deliveries_size(), 2);
  EXPECT_EQ(latest.events_processed(), 0);
}

TEST_F(NotificationServiceTest, UnknownReferralHasNoDeliveries) {
  v1::ListDeliveriesRequest request;
  request.set_referral_id(NewUuid());
  v1::ListDeliveriesResponse response;
  grpc::Status status = List(request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.deliveries_size(), 0);
  EXPECT_EQ(response.events_processed(), 0);
}

}  // namespace
}  // namespace signpost::notification
