#include "common/store/database.h"

#include <sys/stat.h>

#include "common/errors/errors.h"
#include "common/status/macros.h"
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

}  // namespace
}  // namespace signpost::store
