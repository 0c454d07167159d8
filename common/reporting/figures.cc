#include "common/reporting/figures.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace signpost::reporting {
namespace {

v1::Figure MakeFigure(absl::string_view section, const Labels& labels,
                      absl::string_view measure) {
  v1::Figure f;
  f.set_section(std::string(section));
  for (const auto& [key, value] : labels) (*f.mutable_labels())[key] = value;
  f.set_measure(std::string(measure));
  return f;
}

bool IsAreaCode(absl::string_view code) {
  if (code.empty() || code.size() > 32) return false;
  return std::all_of(code.begin(), code.end(), [](char c) {
    return absl::ascii_isalnum(c) || c == '-' || c == '_';
  });
}

}  // namespace

double NearestRankPercentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const double n = static_cast<double>(values.size());
  size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * n));
  rank = std::clamp<size_t>(rank, 1, values.size());
  return values[rank - 1];
}

double RoundTenth(double value) { return std::round(value * 10.0) / 10.0; }

double Percent(int64_t part, int64_t base) {
  if (base == 0) return 0;
  return RoundTenth(100.0 * static_cast<double>(part) /
                    static_cast<double>(base));
}

void FigureBuilder::Value(absl::string_view section, const Labels& labels,
                          absl::string_view measure, double value,
                          int64_t base) {
  v1::Figure f = MakeFigure(section, labels, measure);
  if (base < threshold_) {
    f.set_suppressed(true);  // value and base stay 0
  } else {
    f.set_value(value);
    f.set_base(base);
  }
  figures_.push_back(std::move(f));
}

void FigureBuilder::Count(absl::string_view section, const Labels& labels,
                          absl::string_view measure, int64_t count) {
  Value(section, labels, measure, static_cast<double>(count), count);
}

void FigureBuilder::Percentage(absl::string_view section, const Labels& labels,
                               absl::string_view measure, int64_t part,
                               int64_t base) {
  Value(section, labels, measure, Percent(part, base), base);
}

void FigureBuilder::MedianAndP90(absl::string_view section,
                                 const Labels& labels, absl::string_view prefix,
                                 const std::vector<double>& hours) {
  const auto n = static_cast<int64_t>(hours.size());
  Value(section, labels, absl::StrCat(prefix, "median_hours"),
        RoundTenth(NearestRankPercentile(hours, 50)), n);
  Value(section, labels, absl::StrCat(prefix, "p90_hours"),
        RoundTenth(NearestRankPercentile(hours, 90)), n);
}

errors::FieldErrors CheckFigureRequest(absl::string_view area_code,
                                       bool has_from, absl::Time from,
                                       bool has_to, absl::Time to) {
  errors::FieldErrors errors;
  if (!IsAreaCode(area_code)) {
    errors.Add("area_code",
               "is required (1-32 letters, digits, '-' or '_', e.g. WMP)");
  }
  if (!has_from) errors.Add("from", "is required (the period's start)");
  if (!has_to) errors.Add("to", "is required (the period's end, exclusive)");
  if (has_from && has_to) {
    if (to <= from) {
      errors.Add("to", "must be after from");
    } else if (to - from > kMaxPeriod) {
      errors.Add("to", absl::StrCat("the period may be at most ",
                                    kMaxPeriod / absl::Hours(24), " days"));
    }
  }
  return errors;
}

absl::Status RequireFiguresAccess(const access::Principal& caller,
                                  absl::string_view area_code) {
  if (access::SeesEverything(caller)) return absl::OkStatus();
  return access::RequireArea(caller, area_code, area_code);
}

std::string LabelsText(const v1::Figure& figure) {
  // The proto map has no order; std::map sorts the keys.
  std::map<std::string, std::string> sorted(figure.labels().begin(),
                                            figure.labels().end());
  return absl::StrJoin(sorted, ";", absl::PairFormatter("="));
}

}  // namespace signpost::reporting
