#include "common/store/database.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/status/macros.h"

namespace signpost::store {

const char kSharedMigration[] = R"sql(
CREATE TABLE outbox (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  event_id TEXT NOT NULL UNIQUE,
  event_type TEXT NOT NULL,
  referral_id TEXT NOT NULL,
  topic TEXT NOT NULL,
  payload BLOB NOT NULL,
  traceparent TEXT NOT NULL,
  occurred_at TEXT NOT NULL,
  created_at_ms INTEGER NOT NULL,
  sent_at_ms INTEGER,
  kafka_partition INTEGER,
  kafka_offset INTEGER
);
CREATE INDEX outbox_unsent ON outbox(seq) WHERE sent_at_ms IS NULL;
CREATE INDEX outbox_referral ON outbox(referral_id, seq);
CREATE TABLE inbox (
  event_id TEXT PRIMARY KEY,
  event_type TEXT NOT NULL,
  processed_at_ms INTEGER NOT NULL
);
)sql";

namespace {

absl::Status SqliteError(sqlite3* db, absl::string_view what) {
  int code = sqlite3_errcode(db);
  std::string msg = absl::StrCat(what, ": ", sqlite3_errmsg(db));
  // Busy, locked and I/O errors are transient (retryable); a full disk is
  // waited out too. A constraint failure is the caller's data, never fixed
  // by retrying.
  if (code == SQLITE_BUSY || code == SQLITE_LOCKED || code == SQLITE_IOERR) {
    return absl::UnavailableError(msg);
  }
  if (code == SQLITE_CONSTRAINT) return absl::AlreadyExistsError(msg);
  if (code == SQLITE_FULL) return absl::ResourceExhaustedError(msg);
  return absl::InternalError(msg);
}

}  // namespace

Statement::~Statement() {
  if (stmt_ == nullptr) return;
  if (in_use_ != nullptr) {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
    *in_use_ = false;
  } else {
    sqlite3_finalize(stmt_);
  }
}

void Statement::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

Statement::Statement(Statement&& other) noexcept
    : db_(other.db_), stmt_(other.stmt_), in_use_(other.in_use_) {
  other.stmt_ = nullptr;
  other.in_use_ = nullptr;
}

Statement& Statement::Bind(int index, absl::string_view text) {
  sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()),
                    SQLITE_TRANSIENT);
  return *this;
}

Statement& Statement::Bind(int index, int64_t value) {
  sqlite3_bind_int64(stmt_, index, value);
  return *this;
}

Statement& Statement::BindBlob(int index, absl::string_view bytes) {
  sqlite3_bind_blob(stmt_, index, bytes.data(), static_cast<int>(bytes.size()),
                    SQLITE_TRANSIENT);
  return *this;
}

Statement& Statement::BindNull(int index) {
  sqlite3_bind_null(stmt_, index);
  return *this;
}

absl::StatusOr<bool> Statement::Step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return SqliteError(db_, "sqlite step");
}

absl::Status Statement::Run() {
  while (true) {
    ASSIGN_OR_RETURN(bool row, Step());
    if (!row) return absl::OkStatus();
  }
}

std::string Statement::ColumnText(int index) const {
  const unsigned char* text = sqlite3_column_text(stmt_, index);
  if (text == nullptr) return "";
  return std::string(reinterpret_cast<const char*>(text),
                     sqlite3_column_bytes(stmt_, index));
}

std::string Statement::ColumnBlob(int index) const {
  const void* blob = sqlite3_column_blob(stmt_, index);
  if (blob == nullptr) return "";
  return std::string(static_cast<const char*>(blob),
                     sqlite3_column_bytes(stmt_, index));
}

int64_t Statement::ColumnInt(int index) const {
  return sqlite3_column_int64(stmt_, index);
}

bool Statement::ColumnIsNull(int index) const {
  return sqlite3_column_type(stmt_, index) == SQLITE_NULL;
}

absl::StatusOr<Statement> Tx::Prepare(absl::string_view sql) {
  if (cache_ != nullptr) {
    StatementCache::Entry& entry = cache_->entries[std::string(sql)];
    if (entry.stmt == nullptr) {
      if (sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                             SQLITE_PREPARE_PERSISTENT, &entry.stmt,
                             nullptr) != SQLITE_OK) {
        cache_->entries.erase(std::string(sql));
        return SqliteError(db_, "sqlite prepare");
      }
    }
    if (!entry.in_use) {
      entry.in_use = true;
      return Statement(db_, entry.stmt, &entry.in_use);
    }
    // The cached one is busy (nested use of the same SQL): use a fresh one.
  }
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt,
                         nullptr) != SQLITE_OK) {
    return SqliteError(db_, absl::StrCat("sqlite prepare"));
  }
  return Statement(db_, stmt);
}

absl::Status Tx::Exec(absl::string_view sql) {
  std::string owned(sql);
  char* err = nullptr;
  if (sqlite3_exec(db_, owned.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown";
    sqlite3_free(err);
    absl::Status status = SqliteError(db_, "sqlite exec");
    return absl::Status(status.code(), absl::StrCat("sqlite exec: ", msg));
  }
  return absl::OkStatus();
}

int64_t Tx::Changes() const { return sqlite3_changes(db_); }

absl::StatusOr<std::unique_ptr<Database>> Database::OpenExisting(
    const std::string& path) {
  return OpenFile(path, /*create=*/false);
}

absl::StatusOr<std::unique_ptr<Database>> Database::Open(
    const std::string& path,
    const std::vector<std::string>& service_migrations) {
  ASSIGN_OR_RETURN(std::unique_ptr<Database> database,
                   OpenFile(path, /*create=*/true));
  std::vector<std::string> all = {kSharedMigration};
  all.insert(all.end(), service_migrations.begin(), service_migrations.end());
  RETURN_IF_ERROR(database->ApplyMigrations(all));
  return database;
}

absl::StatusOr<std::unique_ptr<Database>> Database::OpenFile(
    const std::string& path, bool create) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db,
                           SQLITE_OPEN_READWRITE |
                               (create ? SQLITE_OPEN_CREATE : 0) |
                               SQLITE_OPEN_FULLMUTEX,
                           nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return absl::UnavailableError(
        absl::StrCat("cannot open database ", path, ": ", msg));
  }
  sqlite3_busy_timeout(db, 5000);
  // Service databases hold personal data: owner-only. SQLite gives the -wal
  // and -shm files the same permissions as the database file.
  if (path != ":memory:" && ::chmod(path.c_str(), S_IRUSR | S_IWUSR) != 0) {
    sqlite3_close(db);
    return absl::UnavailableError(
        absl::StrCat("cannot restrict permissions of ", path));
  }
  std::unique_ptr<Database> database(new Database(db, path));
  {
    absl::MutexLock lock(&database->mu_);
    Tx tx(db);
    for (const char* pragma :
         {"PRAGMA journal_mode=WAL;", "PRAGMA synchronous=FULL;",
          "PRAGMA foreign_keys=ON;",
          // Deleted and overwritten content is zeroed, not left in free
          // pages: erasure must not leave a victim's data in the file.
          "PRAGMA secure_delete=ON;"}) {
      RETURN_IF_ERROR(tx.Exec(pragma));
    }
  }
  return database;
}

Database::~Database() {
  absl::MutexLock lock(&mu_);
  for (auto& [sql, entry] : cache_.entries) sqlite3_finalize(entry.stmt);
  cache_.entries.clear();
  sqlite3_close_v2(db_);
}

absl::Status Database::Checkpoint() {
  absl::MutexLock lock(&mu_);
  Tx tx(db_);
  return tx.Exec("PRAGMA wal_checkpoint(TRUNCATE);");
}

int64_t Database::UserVersion() {
  int64_t version = 0;
  (void)Read([&](Tx& tx) -> absl::Status {
    ASSIGN_OR_RETURN(Statement stmt, tx.Prepare("PRAGMA user_version;"));
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (row) version = stmt.ColumnInt(0);
    return absl::OkStatus();
  });
  return version;
}

absl::Status Database::ApplyMigrations(
    const std::vector<std::string>& migrations) {
  int64_t current = UserVersion();
  if (current > static_cast<int64_t>(migrations.size())) {
    return absl::FailedPreconditionError(
        absl::StrCat("database ", path_, " is at schema version ", current,
                     " but this binary knows only ", migrations.size(),
                     "; refusing to run an older binary on a newer database"));
  }
  for (size_t i = static_cast<size_t>(current); i < migrations.size(); ++i) {
    absl::Status s = Write([&](Tx& tx) -> absl::Status {
      RETURN_IF_ERROR(tx.Exec(migrations[i]));
      return tx.Exec(absl::StrCat("PRAGMA user_version=", i + 1, ";"));
    });
    if (!s.ok()) {
      return absl::Status(s.code(), absl::StrCat("migration ", i + 1,
                                                 " failed: ", s.message()));
    }
  }
  return absl::OkStatus();
}

// The most writes one group commit takes; later ones form the next group.
constexpr size_t kMaxGroup = 256;

absl::Status Database::RunTx(bool write,
                             const std::function<absl::Status(Tx&)>& fn) {
  if (write) return GroupWrite(fn);
  absl::MutexLock lock(&mu_);
  Tx tx(db_, &cache_);
  RETURN_IF_ERROR(tx.Exec("BEGIN;"));
  absl::Status result = fn(tx);
  (void)tx.Exec("COMMIT;");
  return result;
}

size_t Database::queued_writes() {
  absl::MutexLock lock(&queue_mu_);
  return queue_.size();
}

void Database::SetOutboxListener(std::function<void()> listener) {
  absl::MutexLock lock(&listener_mu_);
  outbox_listener_ = std::move(listener);
}

absl::Status Database::GroupWrite(const std::function<absl::Status(Tx&)>& fn) {
  PendingWrite me;
  me.fn = &fn;
  std::vector<PendingWrite*> batch;
  {
    absl::MutexLock lock(&queue_mu_);
    queue_.push_back(&me);
    auto turn = [this, &me]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(queue_mu_) {
      return me.done || !leading_;
    };
    queue_mu_.Await(absl::Condition(&turn));
    if (me.done) return me.result;
    // This caller leads the next group: the writes queued before and
    // after it, oldest first, up to kMaxGroup, and always its own (not
    // done, so still queued): a leader never returns without running it.
    leading_ = true;
    queue_.erase(std::find(queue_.begin(), queue_.end(), &me));
    const auto others = queue_.begin() + static_cast<long>(std::min(
                                             queue_.size(), kMaxGroup - 1));
    batch.assign(queue_.begin(), others);
    queue_.erase(queue_.begin(), others);
    batch.push_back(&me);
  }
  const bool appended = RunGroup(batch);
  absl::Status mine;
  {
    absl::MutexLock lock(&queue_mu_);
    // The others may return (and free their entries) once done is set.
    for (PendingWrite* p : batch) p->done = true;
    mine = me.result;
    leading_ = false;
  }
  if (appended) {
    absl::MutexLock lock(&listener_mu_);
    if (outbox_listener_) outbox_listener_();
  }
  return mine;
}

bool Database::RunGroup(const std::vector<PendingWrite*>& batch) {
  absl::MutexLock lock(&mu_);
  Tx tx(db_, &cache_);
  if (absl::Status begin = tx.Exec("BEGIN IMMEDIATE;"); !begin.ok()) {
    for (PendingWrite* p : batch) p->result = begin;
    return false;
  }
  if (batch.size() == 1) {
    PendingWrite* p = batch[0];
    p->result = (*p->fn)(tx);
    if (p->result.ok()) {
      p->result = tx.Exec("COMMIT;");
      if (p->result.ok()) {
        ++write_commits_;
        ++committed_writes_;
        return tx.outbox_appended();
      }
    }
    (void)tx.Exec("ROLLBACK;");
    return false;
  }
  // SQLite rolled the whole transaction back (an I/O error, a full disk):
  // the group's earlier writes are gone too, and none after write `i` ran.
  // All of them fail, retryably (write `i` keeps its own error).
  auto lost = [&batch](size_t i, const absl::Status& why) {
    const absl::Status status = absl::UnavailableError(
        absl::StrCat("transaction rolled back: ", why.message()));
    for (size_t j = 0; j < batch.size(); ++j) {
      if (j != i || batch[j]->result.ok()) batch[j]->result = status;
    }
  };
  for (size_t i = 0; i < batch.size(); ++i) {
    PendingWrite* p = batch[i];
    p->result = tx.Exec("SAVEPOINT group_write;");
    if (p->result.ok()) p->result = (*p->fn)(tx);
    if (p->result.ok()) {
      p->result = tx.Exec("RELEASE group_write;");
      if (p->result.ok()) continue;
    }
    if (sqlite3_get_autocommit(db_) != 0) {
      lost(i, p->result);
      return false;
    }
    const absl::Status undo = tx.Exec("ROLLBACK TO group_write;");
    (void)tx.Exec("RELEASE group_write;");
    // Never let a later SAVEPOINT open a transaction of its own.
    if (!undo.ok() || sqlite3_get_autocommit(db_) != 0) {
      lost(i, undo.ok() ? p->result : undo);
      return false;
    }
  }
  if (absl::Status commit = tx.Exec("COMMIT;"); !commit.ok()) {
    (void)tx.Exec("ROLLBACK;");
    for (PendingWrite* p : batch) {
      if (p->result.ok()) p->result = commit;
    }
    return false;
  }
  ++write_commits_;
  for (PendingWrite* p : batch) {
    if (p->result.ok()) ++committed_writes_;
  }
  return tx.outbox_appended();
}

}  // namespace signpost::store
