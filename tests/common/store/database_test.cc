#include "common/store/database.h"

#include <sys/stat.h>

#include <atomic>
#include <functional>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "common/errors/errors.h"
#include "common/status/macros.h"
#include "common/store/outbox.h"
#include "gtest/gtest.h"
#include "tests/support/test_support.h"

namespace signpost::store {
namespace {

class DatabaseTest : public ::testing::Test {
 protected:
  testing::TempDir dir_;
  std::string path_ = dir_.File("svc.db");
  std::vector<std::string> migrations_ = {
      "CREATE TABLE things (id INTEGER PRIMARY KEY, name TEXT NOT NULL "
      "UNIQUE);"};

  int64_t CountThings(Database& db) {
    int64_t n = -1;
    EXPECT_TRUE(db.Read([&](Tx& tx) -> absl::Status {
                    auto q = tx.Prepare("SELECT COUNT(*) FROM things");
                    if (!q.ok()) return q.status();
                    auto row = q->Step();
                    if (!row.ok()) return row.status();
                    n = q->ColumnInt(0);
                    return absl::OkStatus();
                  }).ok());
    return n;
  }
};

TEST_F(DatabaseTest, MigrationsSetUserVersionAndWalWithFullSync) {
  auto db = Database::Open(path_, migrations_);
  ASSERT_TRUE(db.ok()) << db.status();
  EXPECT_EQ((*db)->UserVersion(),
            2);  // shared outbox/inbox + one service migration
  std::string journal;
  int64_t sync = -1;
  ASSERT_TRUE((*db)
                  ->Read([&](Tx& tx) -> absl::Status {
                    auto q = tx.Prepare("PRAGMA journal_mode");
                    if (!q.ok()) return q.status();
                    (void)q->Step();
                    journal = q->ColumnText(0);
                    auto s = tx.Prepare("PRAGMA synchronous");
                    if (!s.ok()) return s.status();
                    (void)s->Step();
                    sync = s->ColumnInt(0);
                    return absl::OkStatus();
                  })
                  .ok());
  EXPECT_EQ(journal, "wal");
  EXPECT_EQ(sync, 2);  // FULL
}

TEST_F(DatabaseTest, DatabaseFileIsOwnerOnly) {
  ASSERT_TRUE(Database::Open(path_, migrations_).ok());
  struct stat st;
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
}

TEST_F(DatabaseTest, ReopeningAppliesOnlyNewMigrations) {
  { ASSERT_TRUE(Database::Open(path_, migrations_).ok()); }
  migrations_.push_back("ALTER TABLE things ADD COLUMN colour TEXT;");
  auto db = Database::Open(path_, migrations_);
  ASSERT_TRUE(db.ok()) << db.status();
  EXPECT_EQ((*db)->UserVersion(), 3);
}

TEST_F(DatabaseTest, OlderBinaryRefusesNewerSchema) {
  migrations_.push_back("ALTER TABLE things ADD COLUMN colour TEXT;");
  { ASSERT_TRUE(Database::Open(path_, migrations_).ok()); }
  migrations_.pop_back();
  auto db = Database::Open(path_, migrations_);
  EXPECT_EQ(db.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(DatabaseTest, FailedWriteLeavesNothingHalfWritten) {
  auto db = Database::Open(path_, migrations_);
  ASSERT_TRUE(db.ok());
  absl::Status s = (*db)->Write([](Tx& tx) -> absl::Status {
    if (auto e = tx.Exec("INSERT INTO things (name) VALUES ('a')"); !e.ok())
      return e;
    return tx.Exec(
        "INSERT INTO things (name) VALUES ('a')");  // unique violation
  });
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(CountThings(**db), 0);
  s = (*db)->Write([](Tx& tx) -> absl::Status {
    if (auto e = tx.Exec("INSERT INTO things (name) VALUES ('b')"); !e.ok())
      return e;
    return absl::InvalidArgumentError("handler changed its mind");
  });
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CountThings(**db), 0);
}

TEST_F(DatabaseTest, WriteReturnsTheCallbacksValueOrError) {
  auto db = Database::Open(path_, migrations_);
  ASSERT_TRUE(db.ok());
  absl::StatusOr<int64_t> id =
      (*db)->Write([](Tx& tx) -> absl::StatusOr<int64_t> {
        RETURN_IF_ERROR(tx.Exec("INSERT INTO things (name) VALUES ('a')"));
        ASSIGN_OR_RETURN(Statement q, tx.Prepare("SELECT last_insert_rowid()"));
        RETURN_IF_ERROR(q.Step());
        return q.ColumnInt(0);
      });
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(*id, 1);
  absl::StatusOr<std::string> failed =
      (*db)->Write([](Tx& tx) -> absl::StatusOr<std::string> {
        RETURN_IF_ERROR(tx.Exec("INSERT INTO things (name) VALUES ('b')"));
        return absl::NotFoundError("no such thing");
      });
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(CountThings(**db), 1);  // 'b' rolled back
  absl::StatusOr<int64_t> read =
      (*db)->Read([](Tx& tx) -> absl::StatusOr<int64_t> {
        ASSIGN_OR_RETURN(Statement q,
                         tx.Prepare("SELECT COUNT(*) FROM things"));
        RETURN_IF_ERROR(q.Step());
        return q.ColumnInt(0);
      });
  EXPECT_EQ(*read, 1);
}

TEST_F(DatabaseTest, ConstraintFailureIsAlreadyExistsNotRetryable) {
  auto db = Database::Open(path_, migrations_);
  ASSERT_TRUE(db.ok());
  absl::Status s = (*db)->Write([](Tx& tx) -> absl::Status {
    RETURN_IF_ERROR(tx.Exec("INSERT INTO things (name) VALUES ('a')"));
    return tx.Exec("INSERT INTO things (name) VALUES ('a')");
  });
  EXPECT_EQ(s.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(errors::Classify(s), errors::Disposition::kDeadLetter);
}

TEST_F(DatabaseTest, BadMigrationIsReportedWithItsNumber) {
  migrations_.push_back("CREATE TABLE broken (");
  auto db = Database::Open(path_, migrations_);
  ASSERT_FALSE(db.ok());
  EXPECT_NE(db.status().message().find("migration 3"), std::string::npos);
}

TEST_F(DatabaseTest, UnwritablePathFailsClearly) {
  auto db = Database::Open("/nonexistent-dir/x.db", migrations_);
  ASSERT_FALSE(db.ok());
  EXPECT_NE(db.status().message().find("/nonexistent-dir/x.db"),
            std::string::npos);
}

// Group commit: while one write runs, the writes that arrive queue up and
// then run together in one transaction (one fsync), each in its own
// savepoint, so that one that fails is rolled back alone.
class GroupCommitTest : public DatabaseTest {
 protected:
  void SetUp() override {
    auto db = Database::Open(path_, migrations_);
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
  }

  // Starts a write that holds the database until `release_` is notified,
  // then `n` writes of `fn(i)` behind it, and waits until all `n` queue.
  void HoldThenQueue(int n, std::function<absl::Status(int, Tx&)> fn) {
    threads_.emplace_back([this] {
      EXPECT_TRUE(db_->Write([this](Tx& tx) -> absl::Status {
                       entered_.Notify();
                       release_.WaitForNotification();
                       return tx.Exec(
                           "INSERT INTO things (name) VALUES "
                           "('holder')");
                     })
                      .ok());
    });
    entered_.WaitForNotification();
    results_.resize(n);
    for (int i = 0; i < n; ++i) {
      threads_.emplace_back([this, i, fn] {
        results_[i] = db_->Write([&](Tx& tx) { return fn(i, tx); });
      });
    }
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    while (db_->queued_writes() < static_cast<size_t>(n) &&
           absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(1));
    }
    ASSERT_EQ(db_->queued_writes(), static_cast<size_t>(n));
    release_.Notify();
    for (std::thread& t : threads_) t.join();
    threads_.clear();
  }

  static absl::Status InsertThing(Tx& tx, const std::string& name) {
    ASSIGN_OR_RETURN(Statement q,
                     tx.Prepare("INSERT INTO things (name) VALUES (?)"));
    q.Bind(1, name);
    return q.Run();
  }

  std::unique_ptr<Database> db_;
  absl::Notification entered_;
  absl::Notification release_;
  std::vector<std::thread> threads_;
  std::vector<absl::Status> results_;
};

TEST_F(GroupCommitTest, QueuedWritesShareOneCommit) {
  const int64_t commits_before = db_->write_commits();
  HoldThenQueue(
      8, [](int i, Tx& tx) { return InsertThing(tx, absl::StrCat("t", i)); });
  for (const absl::Status& s : results_) EXPECT_TRUE(s.ok()) << s;
  EXPECT_EQ(CountThings(*db_), 9);
  // The holder's commit, then one for all eight.
  EXPECT_EQ(db_->write_commits() - commits_before, 2);
  EXPECT_GE(db_->committed_writes(), 9);
}

TEST_F(GroupCommitTest, MoreWritersThanOneGroupTakesAllRunOnce) {
  // 600 writers behind a held write: more than one group's 256. Each must
  // run exactly once and report its own outcome.
  HoldThenQueue(
      600, [](int i, Tx& tx) { return InsertThing(tx, absl::StrCat("t", i)); });
  for (const absl::Status& s : results_) EXPECT_TRUE(s.ok()) << s;
  EXPECT_EQ(CountThings(*db_), 601);
  EXPECT_EQ(db_->queued_writes(), 0u);
}

TEST_F(GroupCommitTest, AFailingWriteIsRolledBackAloneAndGetsItsError) {
  HoldThenQueue(6, [](int i, Tx& tx) -> absl::Status {
    RETURN_IF_ERROR(InsertThing(tx, absl::StrCat("t", i)));
    if (i == 2) return absl::InvalidArgumentError("writer 2 changed its mind");
    // A constraint failure part-way through: its first row must go too.
    if (i == 4) return InsertThing(tx, "holder");
    return absl::OkStatus();
  });
  for (int i = 0; i < 6; ++i) {
    SCOPED_TRACE(i);
    if (i == 2) {
      EXPECT_EQ(results_[i].code(), absl::StatusCode::kInvalidArgument);
    } else if (i == 4) {
      EXPECT_EQ(results_[i].code(), absl::StatusCode::kAlreadyExists);
    } else {
      EXPECT_TRUE(results_[i].ok()) << results_[i];
    }
  }
  std::vector<std::string> names;
  ASSERT_TRUE(db_->Read([&](Tx& tx) -> absl::Status {
                   ASSIGN_OR_RETURN(
                       Statement q,
                       tx.Prepare("SELECT name FROM things ORDER BY name"));
                   while (true) {
                     ASSIGN_OR_RETURN(bool row, q.Step());
                     if (!row) return absl::OkStatus();
                     names.push_back(q.ColumnText(0));
                   }
                 })
                  .ok());
  EXPECT_EQ(names,
            (std::vector<std::string>{"holder", "t0", "t1", "t3", "t5"}));
}

TEST_F(GroupCommitTest, WritesSeeTheGroupsEarlierWritesInOrder) {
  // Each queued write reads the count and writes a row named by it: run in
  // one transaction, one after another, they see 1..n (never a repeat).
  HoldThenQueue(5, [](int, Tx& tx) -> absl::Status {
    ASSIGN_OR_RETURN(Statement q, tx.Prepare("SELECT COUNT(*) FROM things"));
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) return absl::InternalError("no count");
    const int64_t n = q.ColumnInt(0);
    return InsertThing(tx, absl::StrCat("n", n));
  });
  for (const absl::Status& s : results_) EXPECT_TRUE(s.ok()) << s;
  EXPECT_EQ(CountThings(*db_), 6);
}

TEST_F(GroupCommitTest, TheOutboxListenerHearsOnlyCommitsThatAppended) {
  std::atomic<int> heard{0};
  db_->SetOutboxListener([&heard] { ++heard; });
  ASSERT_TRUE(db_->Write([](Tx& tx) { return InsertThing(tx, "plain"); }).ok());
  EXPECT_EQ(heard.load(), 0);
  v1::EventEnvelope e;
  e.set_event_id("e-1");
  e.set_type("ReferralReceived");
  e.set_referral_id("r-1");
  ASSERT_TRUE(db_->Write([&](Tx& tx) {
                   return AppendToOutbox(tx, e, "signpost.intake.v1", "tp");
                 })
                  .ok());
  EXPECT_EQ(heard.load(), 1);
  // A write that appended and then failed commits nothing: no wake.
  e.set_event_id("e-2");
  EXPECT_FALSE(db_->Write([&](Tx& tx) -> absl::Status {
                    RETURN_IF_ERROR(
                        AppendToOutbox(tx, e, "signpost.intake.v1", "tp"));
                    return absl::InvalidArgumentError("no");
                  })
                   .ok());
  EXPECT_EQ(heard.load(), 1);
  db_->SetOutboxListener(nullptr);
  e.set_event_id("e-3");
  ASSERT_TRUE(db_->Write([&](Tx& tx) {
                   return AppendToOutbox(tx, e, "signpost.intake.v1", "tp");
                 })
                  .ok());
  EXPECT_EQ(heard.load(), 1);
}

}  // namespace
}  // namespace signpost::store
