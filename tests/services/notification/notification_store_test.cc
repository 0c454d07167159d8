#include "services/notification/notification_store.h"

#include "common/config/textproto.h"
#include "common/events/envelope.h"
#include "common/store/outbox.h"
#include "gtest/gtest.h"
#include "tests/support/test_support.h"

namespace signpost::notification {
namespace {

class NotificationStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = store::Database::Open(dir_.File("n.db"),
                                    NotificationStore::Migrations());
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
    v1::SubscriptionList list;
    ASSERT_TRUE(
        config::LoadTextProto(
            testing::SourcePath("examples/subscriptions.textproto"), &list)
            .ok());
    store_ = std::make_unique<NotificationStore>(*db_, list);
  }
  events::IncomingEvent Event(v1::EventEnvelope env) {
    events::StampType(&env);
    return {env, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "t"};
  }
  testing::TempDir dir_;
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<NotificationStore> store_;
};

TEST_F(NotificationStoreTest, EventsWaitForTriageThenAreDelivered) {
  v1::EventEnvelope received = events::NewEnvelope("intake", "r1");
  received.mutable_referral_received()->mutable_facts()->set_area_code("WMP");
  EXPECT_EQ(*store_->Deliver(Event(received)), 0);
  EXPECT_EQ(store_->ListDeliveries("r1", 100)->events_processed(), 0);

  v1::EventEnvelope triaged = events::NewEnvelope("triage", "r1", &received);
  triaged.mutable_referral_triaged()->set_area_code("WMP");
  triaged.mutable_referral_triaged()->set_status(v1::REFERRAL_STATUS_ROUTED);
  // referrer-closed-loop gets both; victim-advice-line gets the triage.
  EXPECT_EQ(*store_->Deliver(Event(triaged)), 3);
  auto list = store_->ListDeliveries("r1", 100);
  EXPECT_EQ(list->events_processed(), 2);
  EXPECT_EQ(list->deliveries_size(), 3);
  EXPECT_EQ(store::ListReferralEvents(*db_, "r1")->size(), 3u);
}

TEST_F(NotificationStoreTest, RedeliveryHasNoSecondEffect) {
  v1::EventEnvelope triaged = events::NewEnvelope("triage", "r1");
  triaged.mutable_referral_triaged()->set_area_code("WMP");
  triaged.mutable_referral_triaged()->set_status(v1::REFERRAL_STATUS_ROUTED);
  auto e = Event(triaged);
  EXPECT_EQ(*store_->Deliver(e), 2);
  EXPECT_EQ(*store_->Deliver(e), 0);
  EXPECT_EQ(store_->ListDeliveries("r1", 100)->deliveries_size(), 2);
}

TEST_F(NotificationStoreTest, ConsentRefusedGoesOnlyToMaracWithLegalBasis) {
  v1::EventEnvelope triaged = events::NewEnvelope("triage", "r9");
  auto* t = triaged.mutable_referral_triaged();
  t->set_area_code("WMP");
  t->set_status(v1::REFERRAL_STATUS_CONSENT_REQUIRED);
  t->set_marac(true);
  t->set_legal_basis("DPA2018-SCH1-PARA18");
  EXPECT_EQ(*store_->Deliver(Event(triaged)), 1);
  auto list = store_->ListDeliveries("r9", 100);
  ASSERT_EQ(list->deliveries_size(), 1);
  EXPECT_EQ(list->deliveries(0).agency_id(), "marac-coordinator-wmp");
  EXPECT_EQ(list->deliveries(0).legal_basis(), "DPA2018-SCH1-PARA18");
}

}  // namespace
}  // namespace signpost::notification
