// Checks of how SQLite runs a store's query, for the tests that keep history
// lookups cheap (issue 16): the plan (EXPLAIN QUERY PLAN) and how much work
// one run does (the virtual machine steps, which grow with every index entry
// or row the query reads). The query runs on a connection of its own, opened
// read-only on the database file, so the store's connection is untouched.
// Not thread-safe (one test at a time).
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"

namespace signpost::testing {

// One bound parameter, in order (?1, ?2, ...).
using SqlArg = std::variant<int64_t, std::string>;

struct QueryRun {
  std::vector<std::string> plan;  // the detail column, one line per step
  int64_t vm_steps = 0;           // SQLITE_STMTSTATUS_VM_STEP of one run
  int rows = 0;                   // rows returned
};

// Runs `sql` once with `args` on the database at `db_path`, and its plan.
// Fails the test (and returns what it has) on any SQLite error.
inline QueryRun RunQuery(const std::string& db_path, const std::string& sql,
                         const std::vector<SqlArg>& args) {
  QueryRun run;
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) !=
      SQLITE_OK) {
    ADD_FAILURE() << "cannot open " << db_path;
    sqlite3_close(db);
    return run;
  }
  auto run_one = [&](const std::string& text, bool explain) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, text.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
      ADD_FAILURE() << sqlite3_errmsg(db) << " in " << text;
      return;
    }
    for (size_t i = 0; i < args.size(); ++i) {
      const int index = static_cast<int>(i + 1);
      if (const int64_t* n = std::get_if<int64_t>(&args[i])) {
        sqlite3_bind_int64(stmt, index, *n);
      } else {
        const std::string& s = std::get<std::string>(args[i]);
        sqlite3_bind_text(stmt, index, s.data(), static_cast<int>(s.size()),
                          SQLITE_TRANSIENT);
      }
    }
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      if (explain) {
        run.plan.emplace_back(
            reinterpret_cast<const char*>(sqlite3_column_text(stmt, 3)));
      } else {
        ++run.rows;
      }
    }
    if (rc != SQLITE_DONE)
      ADD_FAILURE() << sqlite3_errmsg(db) << " in " << text;
    if (!explain) {
      run.vm_steps = sqlite3_stmt_status(stmt, SQLITE_STMTSTATUS_VM_STEP, 0);
    }
    sqlite3_finalize(stmt);
  };
  run_one(absl::StrCat("EXPLAIN QUERY PLAN ", sql), /*explain=*/true);
  run_one(sql, /*explain=*/false);
  sqlite3_close(db);
  return run;
}

// Success when every step of `plan` that reads `table` searches it through
// an index or its primary key, and none scans it.
inline ::testing::AssertionResult SearchesByIndex(const QueryRun& run,
                                                  const std::string& table) {
  bool searched = false;
  for (const std::string& step : run.plan) {
    if (!absl::StrContains(step, absl::StrCat(" ", table))) continue;
    if (absl::StartsWith(step, absl::StrCat("SCAN ", table))) {
      return ::testing::AssertionFailure()
             << "scans " << table << ": " << absl::StrJoin(run.plan, " | ");
    }
    if (absl::StrContains(step, "USING INDEX") ||
        absl::StrContains(step, "USING COVERING INDEX") ||
        absl::StrContains(step, "PRIMARY KEY")) {
      searched = true;
    }
  }
  if (!searched) {
    return ::testing::AssertionFailure()
           << "no index search of " << table << ": "
           << absl::StrJoin(run.plan, " | ");
  }
  return ::testing::AssertionSuccess();
}

}  // namespace signpost::testing
