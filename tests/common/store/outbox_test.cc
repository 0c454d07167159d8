#include "common/store/outbox.h"

#include "common/events/envelope.h"
#include "common/status/macros.h"
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

namespace signpost::store {
namespace {

// Replay (OutboxService): sent rows queued again by referral or by range,
// of the chosen types only; a dry run counts and changes nothing.
TEST(OutboxReplayTest, SentRowsAreQueuedAgainBySelection) {
  testing::TempDir dir;
  auto db = Database::Open(dir.File("o.db"), {});
  ASSERT_TRUE(db.ok());
  v1::EventEnvelope a = Received("r1"), b = Received("r1"), c = Received("r2");
  v1::EventEnvelope d = events::NewEnvelope("intake", "r1");
  d.mutable_referral_withdrawn()->set_reason(
      v1::WITHDRAWAL_REASON_ENTERED_IN_ERROR);
  events::StampType(&d);
  ASSERT_TRUE((*db)
                  ->Write([&](Tx& tx) -> absl::Status {
                    for (auto* e : {&a, &b, &c, &d}) {
                      if (auto s = AppendToOutbox(tx, *e, "t", "tp"); !s.ok())
                        return s;
                    }
                    // As the relay leaves them: sent, with their offsets.
                    auto q = tx.Prepare(
                        "UPDATE outbox SET sent_at_ms = created_at_ms, "
                        "kafka_partition = 0, kafka_offset = seq");
                    if (!q.ok()) return q.status();
                    return q->Run();
                  })
                  .ok());
  ASSERT_EQ(*CountUnsent(**db), 0);
  auto requeue = [&](const ReplaySelection& s, bool dry) {
    return (*db)->Write([&](Tx& tx) -> absl::StatusOr<int> {
      return RequeueSentEvents(tx, s, dry);
    });
  };
  ReplaySelection r1;
  r1.referral_id = "r1";
  EXPECT_EQ(*requeue(r1, /*dry=*/true), 3);
  EXPECT_EQ(*CountUnsent(**db), 0);
  r1.types = {"signpost.v1.ReferralWithdrawn"};
  EXPECT_EQ(*requeue(r1, false), 1);
  EXPECT_EQ(*CountUnsent(**db), 1);
  auto history = ListReferralEvents(**db, "r1");
  ASSERT_TRUE(history.ok());
  EXPECT_TRUE((*history)[0].sent);
  EXPECT_FALSE((*history)[2].sent);
  // The same event id goes out again.
  EXPECT_EQ((*history)[2].envelope.event_id(), d.event_id());
  // A range that holds everything: the three still sent.
  ReplaySelection range;
  range.from = absl::Now() - absl::Hours(1);
  range.to = absl::Now() + absl::Hours(1);
  EXPECT_EQ(*requeue(range, false), 3);
  EXPECT_EQ(*CountUnsent(**db), 4);
  ReplaySelection none;
  none.from = absl::Now() + absl::Hours(1);
  none.to = absl::Now() + absl::Hours(2);
  EXPECT_EQ(*requeue(none, false), 0);
}

// A partner topic's record is never replayed here, and the service's guard
// keeps out what it names.
TEST(OutboxReplayTest, PartnerTopicsAndGuardedRowsStayOut) {
  testing::TempDir dir;
  auto db = Database::Open(dir.File("o.db"), {});
  ASSERT_TRUE(db.ok());
  v1::EventEnvelope a = Received("r1"), b = Received("r1");
  v1::EventEnvelope c = Received("r2");
  ASSERT_TRUE(
      (*db)
          ->Write([&](Tx& tx) -> absl::Status {
            RETURN_IF_ERROR(AppendToOutbox(tx, a, "signpost.intake.v1", "tp"));
            RETURN_IF_ERROR(
                AppendToOutbox(tx, b, "signpost.partner.police-wmp.v1", "tp"));
            RETURN_IF_ERROR(AppendToOutbox(tx, c, "signpost.intake.v1", "tp"));
            auto q = tx.Prepare("UPDATE outbox SET sent_at_ms = 1");
            if (!q.ok()) return q.status();
            return q->Run();
          })
          .ok());
  auto requeue = [&](const ReplaySelection& s) {
    return (*db)->Write([&](Tx& tx) -> absl::StatusOr<int> {
      return RequeueSentEvents(tx, s, /*dry_run=*/false);
    });
  };
  ReplaySelection r1;
  r1.referral_id = "r1";
  EXPECT_EQ(*requeue(r1), 1);  // not the partner topic's copy
  ReplaySelection guarded;
  guarded.referral_id = "r2";
  guarded.guard = "referral_id <> 'r2'";
  EXPECT_EQ(*requeue(guarded), 0);
  EXPECT_EQ(*CountUnsent(**db), 1);
}

}  // namespace
}  // namespace signpost::store

#include "common/service/outbox_service.h"

namespace signpost::service {
namespace {

TEST(ReplayValidationTest, EitherAReferralOrARangeAndEachBadFieldNamed) {
  store::ReplaySelection s;
  v1::ReplayOutboxRequest none;
  EXPECT_EQ(ValidateReplay(none, s).size(), 3u);
  v1::ReplayOutboxRequest both;
  both.set_referral_id("r1");
  both.mutable_from()->set_seconds(100);
  both.mutable_to()->set_seconds(50);
  both.add_types("ReferralReceived");
  errors::FieldErrors e = ValidateReplay(both, s);
  std::vector<std::string> fields;
  for (const auto& v : e.violations()) fields.push_back(v.field);
  EXPECT_EQ(fields,
            (std::vector<std::string>{"referral_id", "to", "types[0]"}));
  v1::ReplayOutboxRequest ok;
  ok.set_referral_id("r1");
  ok.add_types("signpost.v1.ReferralReceived");
  store::ReplaySelection good;
  EXPECT_TRUE(ValidateReplay(ok, good).empty());
  EXPECT_EQ(good.referral_id, "r1");
  EXPECT_EQ(good.types.size(), 1u);
}

}  // namespace
}  // namespace signpost::service
