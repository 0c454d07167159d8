#include "tests/load/report.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"

namespace signpost::load {
namespace {

std::string Command(const std::string& command) {
  std::string out;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return out;
  char buf[256];
  while (fgets(buf, sizeof(buf), pipe) != nullptr) out += buf;
  pclose(pipe);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) {
    out.pop_back();
  }
  return out;
}

std::string Line(const std::vector<std::string>& cells) {
  return absl::StrCat("| ", absl::StrJoin(cells, " | "), " |\n");
}

}  // namespace

void Report::Add(const std::string& measurement, const Summary& s,
                 const std::string& baseline, const std::string& ratio) {
  AddText(measurement, absl::StrCat(FormatRate(s.rate), "/s"),
          FormatMs(s.p50_ms), FormatMs(s.p99_ms), FormatMs(s.p999_ms),
          baseline.empty() ? "–" : baseline, ratio.empty() ? "–" : ratio);
}

void Report::AddText(const std::string& measurement, const std::string& rate,
                     const std::string& p50, const std::string& p99,
                     const std::string& p999, const std::string& baseline,
                     const std::string& ratio) {
  rows_.push_back({measurement, rate, p50, p99, p999, baseline, ratio});
}

void Report::Target(const std::string& target, const std::string& goal,
                    const std::string& measured, bool met) {
  targets_.push_back({target, goal, measured, met ? "met" : "**not met**"});
}

std::string Report::Markdown(const std::string& run_facts) const {
  std::string out = absl::StrCat("Run: ", run_facts, ".\n\n");
  absl::StrAppend(&out, Line({"measurement", "rate", "p50", "p99", "p99.9",
                              "baseline (same run)", "ratio"}));
  absl::StrAppend(&out,
                  Line({"---", "---:", "---:", "---:", "---:", "---", "---:"}));
  for (const auto& row : rows_) absl::StrAppend(&out, Line(row));
  if (!targets_.empty()) {
    absl::StrAppend(&out, "\nIssue 16's targets against this run:\n\n",
                    Line({"target", "goal", "measured", "verdict"}),
                    Line({"---", "---", "---", "---"}));
    for (const auto& row : targets_) absl::StrAppend(&out, Line(row));
  }
  if (!notes_.empty()) {
    absl::StrAppend(&out, "\n");
    for (const std::string& note : notes_) {
      absl::StrAppend(&out, "- ", note, "\n");
    }
  }
  return out;
}

std::string RunFacts() {
  const long cores = sysconf(_SC_NPROCESSORS_ONLN);
  const double ram_gib = static_cast<double>(sysconf(_SC_PHYS_PAGES)) *
                         sysconf(_SC_PAGESIZE) / (1024.0 * 1024 * 1024);
  const std::string dir = SIGNPOST_SOURCE_DIR;
  std::string commit = Command(
      absl::StrCat("git -C '", dir, "' rev-parse --short HEAD 2>/dev/null"));
  if (commit.empty()) commit = "unknown";
  const std::string dirty = Command(
      absl::StrCat("git -C '", dir,
                   "' status --porcelain --untracked-files=no 2>/dev/null"));
  return absl::StrFormat(
      "%s, %d cores, %.1f GiB RAM, commit %s%s",
      absl::FormatTime("%Y-%m-%d %H:%M UTC", absl::Now(), absl::UTCTimeZone()),
      cores, ram_gib, commit, dirty.empty() ? "" : " (with local changes)");
}

absl::Status WriteBetweenMarkers(const std::string& path,
                                 const std::string& body) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream s;
  s << in.rdbuf();
  std::string text = s.str();
  const size_t begin = text.find(kBeginMarker);
  const size_t end = text.find(kEndMarker);
  if (begin == std::string::npos || end == std::string::npos || end < begin) {
    return absl::FailedPreconditionError(absl::StrCat(
        path, " has no ", kBeginMarker, " ... ", kEndMarker, " section"));
  }
  const size_t from = begin + std::string(kBeginMarker).size();
  text.replace(from, end - from, absl::StrCat("\n", body));
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp);
    out << text;
    if (!out) return absl::InternalError(absl::StrCat("cannot write ", tmp));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return absl::InternalError(absl::StrCat("cannot replace ", path));
  }
  return absl::OkStatus();
}

std::string Percent(double a, double b) {
  if (b <= 0 || a < 0) return "–";
  const double p = 100.0 * a / b;
  return p < 10 ? absl::StrFormat("%.1f%%", p) : absl::StrFormat("%.0f%%", p);
}

std::string Times(double a, double b) {
  if (b <= 0 || a < 0) return "–";
  const double r = a / b;
  return r < 10 ? absl::StrFormat("%.2f×", r) : absl::StrFormat("%.0f×", r);
}

}  // namespace signpost::load
