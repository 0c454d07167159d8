// The load harness's report: a Markdown table of measurements (rate, p50,
// p99, p99.9, the same-run baseline and the ratio to it), a table of issue
// 16's targets with the measured value, and notes; and the writer that puts
// it between the bench markers of docs/performance.md. Not thread-safe.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "tests/load/stats.h"

namespace signpost::load {

inline constexpr char kBeginMarker[] = "<!-- bench:begin -->";
inline constexpr char kEndMarker[] = "<!-- bench:end -->";

class Report {
 public:
  // A measurement row; `baseline` and `ratio` may be empty.
  void Add(const std::string& measurement, const Summary& summary,
           const std::string& baseline = "", const std::string& ratio = "");
  // A row with free-text cells.
  void AddText(const std::string& measurement, const std::string& rate,
               const std::string& p50, const std::string& p99,
               const std::string& p999, const std::string& baseline,
               const std::string& ratio);
  void Target(const std::string& target, const std::string& goal,
              const std::string& measured, bool met);
  void Note(const std::string& line) { notes_.push_back(line); }

  // The whole section body: run facts, both tables, the notes.
  std::string Markdown(const std::string& run_facts) const;

 private:
  std::vector<std::vector<std::string>> rows_;
  std::vector<std::vector<std::string>> targets_;
  std::vector<std::string> notes_;
};

// "2026-01-02 10:00 UTC, 2 cores, 23.4 GiB, commit abc1234 (modified)".
std::string RunFacts();

// Replaces the text between the markers in `path` with `body`.
absl::Status WriteBetweenMarkers(const std::string& path,
                                 const std::string& body);

// "3.3%" or "29×" style ratio of a to b; "–" when b is not positive.
std::string Percent(double a, double b);
std::string Times(double a, double b);

}  // namespace signpost::load
