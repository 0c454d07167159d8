// SQLite access for one service's own database: WAL mode, synchronous=FULL,
// foreign keys on, and schema migrations tracked by PRAGMA user_version.
// Every database also holds the shared outbox and inbox tables (migration 1).
//
// Thread-safe: one connection guarded by a mutex; all work happens inside
// Read() or Write() (a BEGIN IMMEDIATE transaction, committed only if the
// callback returns OK, otherwise rolled back so nothing is half-written).
//
// Group commit: Write() calls that arrive while another is running queue
// up, and the next of them to run takes the whole queue into one
// transaction, each callback in its own savepoint. A callback that fails
// is rolled back to its savepoint alone; the others commit together with
// one fsync. Every caller returns only after the commit that holds its
// work is durable (or with the error that kept it from being written).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

struct sqlite3;
struct sqlite3_stmt;

namespace signpost::store {

// A prepared statement. Bind indexes are 1-based, column indexes 0-based.
// Statements from Tx::Prepare are cached per connection: destroying one
// resets it for reuse instead of finalising it.
class Statement {
 public:
  Statement(sqlite3* db, sqlite3_stmt* stmt, bool* in_use = nullptr)
      : db_(db), stmt_(stmt), in_use_(in_use) {}
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  Statement(Statement&& other) noexcept;

  Statement& Bind(int index, absl::string_view text);
  Statement& Bind(int index, int64_t value);
  Statement& BindBlob(int index, absl::string_view bytes);
  Statement& BindNull(int index);

  // Steps once: true when a row is available, false when done.
  absl::StatusOr<bool> Step();
  // Steps to completion, expecting no rows.
  absl::Status Run();
  // Makes the statement ready to bind and run again (bindings cleared).
  void Reset();

  std::string ColumnText(int index) const;
  std::string ColumnBlob(int index) const;
  int64_t ColumnInt(int index) const;
  bool ColumnIsNull(int index) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
  bool* in_use_;  // set for a cached statement
};

// Prepared statements kept per connection, keyed by SQL text.
struct StatementCache {
  struct Entry {
    sqlite3_stmt* stmt = nullptr;
    bool in_use = false;
  };
  std::unordered_map<std::string, Entry> entries;
};

// Handle passed to Read()/Write() callbacks; valid only inside them.
class Tx {
 public:
  explicit Tx(sqlite3* db, StatementCache* cache = nullptr)
      : db_(db), cache_(cache) {}
  absl::StatusOr<Statement> Prepare(absl::string_view sql);
  absl::Status Exec(absl::string_view sql);
  // Rows changed by the last statement.
  int64_t Changes() const;
  // Called by AppendToOutbox and the requeues (outbox.h): the commit of this
  // transaction tells the database's outbox listener (the relay) that there
  // is more to publish.
  void NoteOutboxAppend() { outbox_appended_ = true; }
  bool outbox_appended() const { return outbox_appended_; }

 private:
  sqlite3* db_;
  StatementCache* cache_;
  bool outbox_appended_ = false;
};

class Database {
 public:
  // Opens (creating if needed) the file at `path` and applies, in order, the
  // shared migration then `service_migrations`. Each migration runs in its
  // own transaction and bumps user_version.
  static absl::StatusOr<std::unique_ptr<Database>> Open(
      const std::string& path,
      const std::vector<std::string>& service_migrations);
  // Opens an existing database file as it is, without migrating it (for
  // maintenance tools that work on any service's database). UNAVAILABLE when
  // there is no such file.
  static absl::StatusOr<std::unique_ptr<Database>> OpenExisting(
      const std::string& path);
  ~Database();

  // Runs `fn(tx)` in one BEGIN IMMEDIATE transaction, committed only when
  // it returns OK (rolled back otherwise, so nothing is half-written).
  // `fn` returns absl::Status or absl::StatusOr<T>; Write returns the same.
  template <typename Fn>
  auto Write(Fn&& fn) -> std::invoke_result_t<Fn&, Tx&> {
    return Run(/*write=*/true, std::forward<Fn>(fn));
  }
  // The same for a read-only transaction (BEGIN DEFERRED).
  template <typename Fn>
  auto Read(Fn&& fn) -> std::invoke_result_t<Fn&, Tx&> {
    return Run(/*write=*/false, std::forward<Fn>(fn));
  }

  // Called after every commit of a transaction that appended outbox rows,
  // on the committing thread, never with a store lock held. Null clears it;
  // once this returns, the previous listener is not running and will not
  // run again.
  void SetOutboxListener(std::function<void()> listener);

  // Copies the write-ahead log into the database file and truncates it
  // (after an erasure: with secure_delete on, the erased values are then
  // gone from the -wal file too).
  absl::Status Checkpoint();

  int64_t UserVersion();
  const std::string& path() const { return path_; }

  // Write transactions committed, and the Write() calls they held (their
  // ratio is the mean group size). Thread-safe.
  int64_t write_commits() const { return write_commits_.load(); }
  int64_t committed_writes() const { return committed_writes_.load(); }
  // Write() calls waiting for the group in progress to finish (tests).
  size_t queued_writes();

 private:
  Database(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  static absl::StatusOr<std::unique_ptr<Database>> OpenFile(
      const std::string& path, bool create);
  absl::Status ApplyMigrations(const std::vector<std::string>& migrations);
  absl::Status RunTx(bool write, const std::function<absl::Status(Tx&)>& fn);
  // One Write() call waiting in the group-commit queue.
  struct PendingWrite {
    const std::function<absl::Status(Tx&)>* fn = nullptr;
    absl::Status result;
    bool done = false;
  };
  absl::Status GroupWrite(const std::function<absl::Status(Tx&)>& fn);
  // Runs `batch` in one transaction; true when it appended outbox rows.
  bool RunGroup(const std::vector<PendingWrite*>& batch);

  template <typename Fn>
  auto Run(bool write, Fn&& fn) -> std::invoke_result_t<Fn&, Tx&> {
    using Result = std::invoke_result_t<Fn&, Tx&>;
    if constexpr (std::is_same_v<Result, absl::Status>) {
      return RunTx(write, fn);
    } else {
      std::optional<Result> result;
      absl::Status status = RunTx(write, [&](Tx& tx) -> absl::Status {
        result.emplace(fn(tx));
        return result->status();
      });
      if (!status.ok()) return status;
      return std::move(*result);
    }
  }

  absl::Mutex mu_;
  sqlite3* db_ ABSL_GUARDED_BY(mu_);
  StatementCache cache_ ABSL_GUARDED_BY(mu_);
  std::string path_;
  // The group-commit queue, and whether a caller is running a group.
  absl::Mutex queue_mu_;
  std::vector<PendingWrite*> queue_ ABSL_GUARDED_BY(queue_mu_);
  bool leading_ ABSL_GUARDED_BY(queue_mu_) = false;
  std::atomic<int64_t> write_commits_{0};
  std::atomic<int64_t> committed_writes_{0};
  absl::Mutex listener_mu_;
  std::function<void()> outbox_listener_ ABSL_GUARDED_BY(listener_mu_);
};

// The shared schema every service database starts with (outbox + inbox).
extern const char kSharedMigration[];

}  // namespace signpost::store
