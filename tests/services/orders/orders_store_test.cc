#include "services/orders/orders_store.h"

#include "common/events/envelope.h"
#include "common/ids/ids.h"
#include "common/store/outbox.h"
#include "gtest/gtest.h"
#include "services/orders/orders_service.h"
#include "tests/support/test_support.h"

namespace signpost::orders {
namespace {

class OrdersStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = store::Database::Open(dir_.File("orders.db"),
                                    OrdersStore::Migrations());
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
    store_ = std::make_unique<OrdersStore>(*db_);
  }
  testing::TempDir dir_;
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<OrdersStore> store_;
  std::string referral_ = NewUuid();
};

TEST_F(OrdersStoreTest, ConsiderationFlagsOpenRecordsOnce) {
  events::IncomingEvent e;
  e.envelope = events::NewEnvelope("triage", referral_);
  e.envelope.mutable_referral_triaged()->add_considerations(
      v1::CONSIDERATION_DVDS);
  e.envelope.mutable_referral_triaged()->add_considerations(
      v1::CONSIDERATION_DAPN);
  e.envelope.mutable_referral_triaged()->set_area_code("WMP");
  events::StampType(&e.envelope);
  EXPECT_EQ(*store_->OpenConsiderations(e), 2);
  EXPECT_EQ(*store_->OpenConsiderations(e), 0);
  auto list = store_->ListConsiderations(referral_);
  ASSERT_EQ(list->size(), 2u);
  EXPECT_TRUE((*list)[0].open());
  EXPECT_EQ(store::ListReferralEvents(*db_, referral_)->size(), 2u);
}

TEST_F(OrdersStoreTest, OrderMovesThroughItsLifecycleAndRefusesASkip) {
  v1::RecordOrderRequest create;
  create.set_referral_id(referral_);
  create.set_order_type(v1::ORDER_TYPE_DVPO);
  create.set_state(v1::ORDER_STATE_APPLIED);
  auto order = store_->RecordOrder(create, NewTraceparent());
  ASSERT_TRUE(order.ok()) << order.status();

  v1::RecordOrderRequest serve;
  serve.set_order_id(order->order_id());
  serve.set_state(v1::ORDER_STATE_SERVED);
  auto refused = store_->RecordOrder(serve, NewTraceparent());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find("ORDER-LIFECYCLE"),
            std::string::npos);

  v1::RecordOrderRequest grant = serve;
  grant.set_state(v1::ORDER_STATE_GRANTED);
  ASSERT_TRUE(store_->RecordOrder(grant, NewTraceparent()).ok());
  ASSERT_TRUE(store_->RecordOrder(serve, NewTraceparent()).ok());
  auto events = store::ListReferralEvents(*db_, referral_);
  ASSERT_EQ(events->size(), 3u);  // the refused change wrote nothing
  EXPECT_EQ((*events)[2].envelope.order_recorded().previous_state(),
            v1::ORDER_STATE_GRANTED);
}

TEST_F(OrdersStoreTest, UnknownOrderIsNotFound) {
  v1::RecordOrderRequest r;
  r.set_order_id(NewUuid());
  r.set_state(v1::ORDER_STATE_GRANTED);
  EXPECT_EQ(store_->RecordOrder(r, NewTraceparent()).status().code(),
            absl::StatusCode::kNotFound);
}

TEST(RecordOrderValidationTest, NewOrderNeedsReferralTypeAndState) {
  grpcutil::FieldErrors errors = ValidateRecordOrder(v1::RecordOrderRequest());
  std::vector<std::string> fields;
  for (const auto& [f, d] : errors.violations()) fields.push_back(f);
  EXPECT_EQ(fields,
            (std::vector<std::string>{"referral_id", "order_type", "state"}));
}

}  // namespace
}  // namespace signpost::orders
