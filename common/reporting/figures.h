// Figures (issue 13): the aggregate numbers practices are run and
// commissioned on, built from each service's own data. Pure domain code (no
// gRPC, no SQLite): a builder that makes v1::Figure messages with small-count
// suppression applied, the nearest-rank percentile, rounded percentages, the
// period check every ReportingService shares, and who may see an area's
// figures.
//
// Suppression (docs/api-and-events.md, "Figures"): a figure whose base (the
// number of cases it is over) is below the threshold is withheld: value 0,
// base 0 (the base itself would give the small count away) and suppressed
// set. A count is its own base. The threshold is policy: at least
// kMinSuppressionThreshold, default 5.
//
// Thread-safe: functions are pure; a FigureBuilder is not shared.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/access/authz.h"
#include "common/errors/errors.h"
#include "signpost/v1/reporting.pb.h"

namespace signpost::reporting {

// The policy floor and default of --figures_min_count: it may be raised,
// never lowered below 5.
inline constexpr int kMinSuppressionThreshold = 5;
// The longest period one request may ask for.
inline constexpr absl::Duration kMaxPeriod = absl::Hours(24 * 400);

// What one GetFigures asks for, checked: the area and the period [from, to).
struct FigureQuery {
  std::string area_code;
  absl::Time from;
  absl::Time to;
  // When the figures are made: state "now" (the current waitlist) and which
  // deadlines have fallen due.
  absl::Time now;
  int threshold = kMinSuppressionThreshold;
};

// A figure's labels: what it breaks down by, e.g. {"pathway",
// "PATHWAY_IDVA"}. Empty for an overall figure.
using Labels = std::map<std::string, std::string>;

// The value at nearest rank ceil(p/100 * n) (1-based) of `values`, which
// need not be sorted; p in (0, 100]. 0 for no values.
double NearestRankPercentile(std::vector<double> values, double p);
// 100 * part / base, rounded to one decimal place; 0 when base is 0.
double Percent(int64_t part, int64_t base);
// Rounded to one decimal place (durations in hours).
double RoundTenth(double value);

// Collects the figures of one section at a time, suppressing as it goes.
class FigureBuilder {
 public:
  explicit FigureBuilder(int threshold) : threshold_(threshold) {}

  // A count of cases ("count" measure unless named otherwise).
  void Count(absl::string_view section, const Labels& labels,
             absl::string_view measure, int64_t count);
  // The percentage of `base` cases that `part` are.
  void Percentage(absl::string_view section, const Labels& labels,
                  absl::string_view measure, int64_t part, int64_t base);
  // A value computed over `base` cases (a median, a difference of
  // percentages), suppressed with its base.
  void Value(absl::string_view section, const Labels& labels,
             absl::string_view measure, double value, int64_t base);
  // "<prefix>median_hours" and "<prefix>p90_hours" of `hours`, each over
  // hours.size() cases.
  void MedianAndP90(absl::string_view section, const Labels& labels,
                    absl::string_view prefix, const std::vector<double>& hours);

  int threshold() const { return threshold_; }
  std::vector<v1::Figure> Take() { return std::move(figures_); }

 private:
  int threshold_;
  std::vector<v1::Figure> figures_;
};

// The problems of a requested area and period, every one at once (fields
// "area_code", "from", "to").
errors::FieldErrors CheckFigureRequest(absl::string_view area_code,
                                       bool has_from, absl::Time from,
                                       bool has_to, absl::Time to);

// OK when `caller` may see `area_code`'s figures: operators and auditors
// see every area, a commissioner its own areas only (AUTHZ-OWN-AREA). The
// function rule (authz.cc) has already admitted only those roles.
absl::Status RequireFiguresAccess(const access::Principal& caller,
                                  absl::string_view area_code);

// The figure's labels as "k=v;k=v", keys sorted (CSV and tables).
std::string LabelsText(const v1::Figure& figure);

}  // namespace signpost::reporting
