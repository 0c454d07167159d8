#include "services/notification/notification_store.h"

#include "common/events/envelope.h"
#include "common/ids/ids.h"
#include "common/status/macros.h"
#include "common/time/timestamps.h"
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
  }
  v1::Delivery NewDelivery(const std::string& agency, const std::string& event,
                           absl::Time at) {
    v1::Delivery d;
    d.set_delivery_id(NewUuid());
    d.set_agency_id(agency);
    d.set_referral_id(referral_.value());
    d.set_event_id(event);
    d.set_event_type("signpost.v1.ReferralTriaged");
    *d.mutable_delivered_at() = timeutil::ToTimestamp(at);
    return d;
  }
  testing::TempDir dir_;
  std::unique_ptr<store::Database> db_;
  NotificationStore store_;
  ReferralId referral_{NewUuid()};
  absl::Time at_ = absl::FromUnixMillis(int64_t{1717405200123});
};

TEST_F(NotificationStoreTest, ContextIsAbsentThenSavedThenReplaced) {
  ASSERT_TRUE(
      db_->Write([&](store::Tx& tx) -> absl::Status {
           auto none = store_.LoadContext(tx, referral_);
           EXPECT_TRUE(none.ok() && !none->has_value());
           EXPECT_TRUE(
               store_.SaveContext(tx, referral_, {"WMP", true, true, "BASIS"})
                   .ok());
           return store_.SaveContext(tx, referral_, {"GMP", false, true, ""});
         })
          .ok());
  auto context = db_->Read(
      [&](store::Tx& tx) { return store_.LoadContext(tx, referral_); });
  ASSERT_TRUE(context.ok() && context->has_value());
  EXPECT_EQ((*context)->area_code, "GMP");
  EXPECT_FALSE((*context)->consent_required);
  EXPECT_TRUE((*context)->marac);
  EXPECT_EQ((*context)->legal_basis, "");
}

TEST_F(NotificationStoreTest, PendingEventsComeInOrderSeenUntilCleared) {
  v1::EventEnvelope first = events::NewEnvelope("intake", referral_.value());
  v1::EventEnvelope second = events::NewEnvelope("advocacy", referral_.value());
  v1::EventEnvelope current = events::NewEnvelope("triage", referral_.value());
  absl::Status status = db_->Write([&](store::Tx& tx) -> absl::Status {
    EXPECT_TRUE(store_.RecordEvent(tx, first, "tp1", true, at_).ok());
    EXPECT_TRUE(store_.RecordEvent(tx, second, "tp2", true, at_).ok());
    return store_.RecordEvent(tx, current, "tp3", false, at_);
  });
  ASSERT_TRUE(status.ok()) << status;
  auto pending = db_->Read([&](store::Tx& tx) {
    return store_.PendingEvents(tx, referral_, EventId(current.event_id()));
  });
  ASSERT_TRUE(pending.ok()) << pending.status();
  ASSERT_EQ(pending->size(), 3u);
  EXPECT_EQ((*pending)[0].envelope.event_id(), first.event_id());
  EXPECT_EQ((*pending)[0].traceparent, "tp1");
  EXPECT_EQ((*pending)[2].envelope.event_id(), current.event_id());

  ASSERT_TRUE(db_->Write([&](store::Tx& tx) {
                   return store_.ClearPending(tx, referral_);
                 })
                  .ok());
  auto after = db_->Read([&](store::Tx& tx) {
    return store_.PendingEvents(tx, referral_, EventId(NewUuid()));
  });
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(after->empty());
  auto decided = db_->Read(
      [&](store::Tx& tx) { return store_.CountDecidedEvents(tx, referral_); });
  EXPECT_EQ(*decided, 3);
}

TEST_F(NotificationStoreTest, RecordingAnEventTwiceIsAConstraintViolation) {
  v1::EventEnvelope e = events::NewEnvelope("intake", referral_.value());
  ASSERT_TRUE(db_->Write([&](store::Tx& tx) {
                   return store_.RecordEvent(tx, e, "tp", true, at_);
                 })
                  .ok());
  EXPECT_EQ(db_->Write([&](store::Tx& tx) {
                 return store_.RecordEvent(tx, e, "tp", true, at_);
               })
                .code(),
            absl::StatusCode::kAlreadyExists);
}

TEST_F(NotificationStoreTest, AnAgencyGetsAnEventOnceAndMillisecondsAreKept) {
  const std::string event = NewUuid();
  auto inserted = db_->Write([&](store::Tx& tx) -> absl::StatusOr<int> {
    int n = 0;
    for (const char* agency : {"a", "b", "a"}) {
      ASSIGN_OR_RETURN(bool made, store_.InsertDelivery(
                                      tx, NewDelivery(agency, event, at_)));
      n += made ? 1 : 0;
    }
    return n;
  });
  ASSERT_TRUE(inserted.ok()) << inserted.status();
  EXPECT_EQ(*inserted, 2);
  auto listed = db_->Read([&](store::Tx& tx) {
    return store_.ReferralDeliveries(tx, referral_, {});
  });
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->items.size(), 2u);
  EXPECT_FALSE(listed->next.has_value());
  EXPECT_EQ(listed->items[0].agency_id(), "a");
  EXPECT_EQ(listed->items[1].agency_id(), "b");
  EXPECT_EQ(listed->items[0].delivered_at().seconds(), 1717405200);
  EXPECT_EQ(listed->items[0].delivered_at().nanos(), 123000000);
  paging::PageRequest one;
  one.size = 1;
  auto recent = db_->Read(
      [&](store::Tx& tx) { return store_.RecentDeliveries(tx, one); });
  ASSERT_TRUE(recent.ok());
  EXPECT_EQ(recent->items.size(), 1u);
  EXPECT_TRUE(recent->next.has_value());
}

}  // namespace
}  // namespace signpost::notification
