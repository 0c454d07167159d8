#include "services/notification/notification_store.h"

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/events/envelope.h"
#include "common/ids/ids.h"
#include "common/status/macros.h"
#include "common/time/timestamps.h"
#include "gtest/gtest.h"
#include "services/notification/projection.h"
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
  // A pending gRPC-stream delivery of `event` to `agency`.
  DeliveryRow NewDelivery(const std::string& agency, const std::string& event,
                          absl::Time at) {
    DeliveryRow row;
    v1::Delivery& d = row.delivery;
    d.set_delivery_id(NewUuid());
    d.set_partner_event_id(
        PartnerEventId(agency, event, v1::FIELD_SET_REFERRER_OUTCOME));
    d.set_field_set(v1::FIELD_SET_REFERRER_OUTCOME);
    d.set_legal_basis("OWN_REFERRAL");
    d.set_transport(v1::TRANSPORT_GRPC_STREAM);
    d.set_status(v1::DELIVERY_STATUS_PENDING);
    row.sequence = 1;
    row.partner_referral_id = referral_.value();
    d.set_agency_id(agency);
    d.set_referral_id(referral_.value());
    d.set_event_id(event);
    d.set_event_type("signpost.v1.ReferralTriaged");
    *d.mutable_delivered_at() = timeutil::ToTimestamp(at);
    return row;
  }
  // One page of the referral's deliveries (`agency` set: its only).
  absl::StatusOr<paging::Page<v1::Delivery>> ReferralDeliveries(
      store::Tx& tx, const ReferralId& referral,
      const std::optional<AgencyId>& agency,
      const paging::PageRequest& page) const {
    DeliveryFilter filter;
    filter.referral_id = referral;
    filter.agency = agency;
    return store_.ListDeliveries(tx, filter, page);
  }
  absl::StatusOr<paging::Page<v1::Delivery>> RecentDeliveries(
      store::Tx& tx, const std::optional<AgencyId>& agency,
      const paging::PageRequest& page) const {
    DeliveryFilter filter;
    filter.agency = agency;
    return store_.ListDeliveries(tx, filter, page);
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
               store_
                   .SaveContext(tx, referral_, {"WMP", true, true, "BASIS", {}})
                   .ok());
           v1::ReferralTriaged decision;
           decision.set_dash_score(12);
           decision.set_person_id("person-1");
           return store_.SaveContext(tx, referral_,
                                     {"GMP", false, true, "", decision});
         })
          .ok());
  auto context = db_->Read(
      [&](store::Tx& tx) { return store_.LoadContext(tx, referral_); });
  ASSERT_TRUE(context.ok() && context->has_value());
  EXPECT_EQ((*context)->area_code, "GMP");
  EXPECT_FALSE((*context)->consent_required);
  EXPECT_TRUE((*context)->marac);
  EXPECT_EQ((*context)->legal_basis, "");
  EXPECT_EQ((*context)->decision.dash_score(), 12);
  EXPECT_EQ((*context)->decision.person_id(), "");  // never stored
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
    return ReferralDeliveries(tx, referral_, std::nullopt, {});
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
      [&](store::Tx& tx) { return RecentDeliveries(tx, std::nullopt, one); });
  ASSERT_TRUE(recent.ok());
  EXPECT_EQ(recent->items.size(), 1u);
  EXPECT_TRUE(recent->next.has_value());
}

// Pages through one of the lists a row at a time; returns the agencies of
// the rows in order.
std::vector<std::string> AgenciesPaged(
    store::Database& db,
    const std::function<absl::StatusOr<paging::Page<v1::Delivery>>(
        store::Tx&, const paging::PageRequest&)>& list) {
  std::vector<std::string> agencies;
  paging::PageRequest page;
  page.size = 1;
  for (int pages = 0; pages < 20; ++pages) {
    auto got = db.Read([&](store::Tx& tx) { return list(tx, page); });
    EXPECT_TRUE(got.ok()) << got.status();
    if (!got.ok()) break;
    for (const v1::Delivery& d : got->items) agencies.push_back(d.agency_id());
    if (!got->next.has_value()) break;
    page.after = got->next;
  }
  return agencies;
}

TEST_F(NotificationStoreTest, AnAgencyFilterLimitsBothListsAndTheirPages) {
  const ReferralId other(NewUuid());
  auto inserted = db_->Write([&](store::Tx& tx) -> absl::Status {
    for (int event = 0; event < 3; ++event) {
      const std::string event_id = NewUuid();
      for (const char* agency : {"a", "b"}) {
        DeliveryRow d =
            NewDelivery(agency, event_id, at_ + absl::Milliseconds(event));
        RETURN_IF_ERROR(store_.InsertDelivery(tx, d).status());
        d.delivery.set_delivery_id(NewUuid());
        d.delivery.set_referral_id(other.value());
        d.partner_referral_id = other.value();
        d.delivery.set_event_id(NewUuid());
        d.delivery.set_partner_event_id(NewUuid());
        RETURN_IF_ERROR(store_.InsertDelivery(tx, d).status());
      }
    }
    return absl::OkStatus();
  });
  ASSERT_TRUE(inserted.ok()) << inserted;
  const std::optional<AgencyId> a = AgencyId("a");
  EXPECT_EQ(AgenciesPaged(*db_,
                          [&](store::Tx& tx, const paging::PageRequest& page) {
                            return ReferralDeliveries(tx, referral_, a, page);
                          }),
            std::vector<std::string>(3, "a"));
  EXPECT_EQ(AgenciesPaged(*db_,
                          [&](store::Tx& tx, const paging::PageRequest& page) {
                            return RecentDeliveries(tx, a, page);
                          }),
            std::vector<std::string>(6, "a"));
  // Unfiltered, both agencies' rows.
  EXPECT_EQ(AgenciesPaged(*db_,
                          [&](store::Tx& tx, const paging::PageRequest& page) {
                            return ReferralDeliveries(tx, referral_,
                                                      std::nullopt, page);
                          })
                .size(),
            6u);
  EXPECT_EQ(AgenciesPaged(*db_,
                          [&](store::Tx& tx, const paging::PageRequest& page) {
                            return RecentDeliveries(tx, std::nullopt, page);
                          })
                .size(),
            12u);
  EXPECT_TRUE(
      AgenciesPaged(*db_, [&](store::Tx& tx, const paging::PageRequest& page) {
        return RecentDeliveries(tx, AgencyId("nobody"), page);
      }).empty());
}

}  // namespace
}  // namespace signpost::notification
