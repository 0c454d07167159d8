#include "common/store/outbox.h"

#include "common/events/envelope.h"
#include "gtest/gtest.h"
#include "tests/support/test_support.h"

namespace signpost::store {
namespace {

v1::EventEnvelope Received(const std::string& referral_id) {
  v1::EventEnvelope e = events::NewEnvelope("intake", referral_id);
  e.mutable_referral_received()->mutable_facts()->set_area_code("WMP");
  events::StampType(&e);
  return e;
}

TEST(OutboxTest, AppendedEventsAreTheReferralsHistoryInOrder) {
  testing::TempDir dir;
  auto db = Database::Open(dir.File("o.db"), {});
  ASSERT_TRUE(db.ok());
  v1::EventEnvelope a = Received("r1"), b = Received("r1"), c = Received("r2");
  ASSERT_TRUE((*db)
                  ->Write([&](Tx& tx) -> absl::Status {
                    for (auto* e : {&a, &b, &c}) {
                      if (auto s = AppendToOutbox(tx, *e, "t", "tp"); !s.ok())
                        return s;
                    }
                    return absl::OkStatus();
                  })
                  .ok());
  auto history = ListReferralEvents(**db, "r1");
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 2u);
  EXPECT_EQ((*history)[0].envelope.event_id(), a.event_id());
  EXPECT_EQ((*history)[1].envelope.event_id(), b.event_id());
  EXPECT_FALSE((*history)[0].sent);
  EXPECT_EQ(*CountUnsent(**db), 3);
}

TEST(OutboxTest, RolledBackTransactionLeavesNoEvent) {
  testing::TempDir dir;
  auto db = Database::Open(dir.File("o.db"), {});
  ASSERT_TRUE(db.ok());
  absl::Status s = (*db)->Write([&](Tx& tx) -> absl::Status {
    if (auto e = AppendToOutbox(tx, Received("r1"), "t", "tp"); !e.ok())
      return e;
    return absl::AbortedError("state change failed");
  });
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(*CountUnsent(**db), 0);
}

TEST(InboxTest, SecondClaimOfSameEventIsRefused) {
  testing::TempDir dir;
  auto db = Database::Open(dir.File("i.db"), {});
  ASSERT_TRUE(db.ok());
  v1::EventEnvelope e = Received("r1");
  std::vector<bool> claims;
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE((*db)
                    ->Write([&](Tx& tx) -> absl::Status {
                      auto claimed = ClaimInbox(tx, e);
                      if (!claimed.ok()) return claimed.status();
                      claims.push_back(*claimed);
                      return absl::OkStatus();
                    })
                    .ok());
  }
  EXPECT_EQ(claims, (std::vector<bool>{true, false}));
}

}  // namespace
}  // namespace signpost::store
