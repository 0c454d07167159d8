#include "common/calendar/working_calendar.h"

#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/status/macros.h"

namespace signpost::calendar {

absl::StatusOr<std::shared_ptr<const WorkingCalendar>> WorkingCalendar::Parse(
    const std::string& text, const std::string& time_zone) {
  std::shared_ptr<WorkingCalendar> cal(new WorkingCalendar());
  if (!absl::LoadTimeZone(time_zone, &cal->zone_)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "unknown time zone '", time_zone, "' (is tzdata installed?)"));
  }
  int line_no = 0;
  bool have_range = false;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_no;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line[0] == '#') continue;
    std::vector<absl::string_view> parts =
        absl::StrSplit(line, absl::MaxSplits(' ', 2));
    auto bad = [&](absl::string_view why) {
      return absl::InvalidArgumentError(
          absl::StrCat("line ", line_no, ": ", why));
    };
    if (parts[0] == "range") {
      if (parts.size() != 3)
        return bad("expected 'range <first year> <last year>'");
      std::vector<absl::string_view> years =
          absl::StrSplit(line.substr(6), ' ');
      if (years.size() != 2 || !absl::SimpleAtoi(years[0], &cal->first_year_) ||
          !absl::SimpleAtoi(years[1], &cal->last_year_) ||
          cal->first_year_ > cal->last_year_) {
        return bad("expected 'range <first year> <last year>'");
      }
      have_range = true;
      continue;
    }
    if (parts.size() < 3) return bad("expected '<YYYY-MM-DD> <KIND> <name>'");
    absl::CivilDay day;
    if (!absl::ParseCivilTime(parts[0], &day)) return bad("bad date");
    HolidayKind kind;
    if (parts[1] == "BANK_HOLIDAY") {
      kind = HolidayKind::kBankHoliday;
    } else if (parts[1] == "GOOD_FRIDAY") {
      kind = HolidayKind::kGoodFriday;
    } else if (parts[1] == "CHRISTMAS_DAY") {
      kind = HolidayKind::kChristmasDay;
    } else {
      return bad("KIND must be BANK_HOLIDAY, GOOD_FRIDAY or CHRISTMAS_DAY");
    }
    if (!cal->holidays_.emplace(day, kind).second)
      return bad("date listed twice");
  }
  if (!have_range) return absl::InvalidArgumentError("missing 'range' line");
  for (const auto& [day, kind] : cal->holidays_) {
    if (day.year() < cal->first_year_ || day.year() > cal->last_year_) {
      return absl::InvalidArgumentError(
          absl::StrCat(absl::FormatCivilTime(day), " is outside the range"));
    }
  }
  for (int y = cal->first_year_; y <= cal->last_year_; ++y) {
    bool good_friday = false, christmas = false;
    for (const auto& [day, kind] : cal->holidays_) {
      if (day.year() != y) continue;
      good_friday |= kind == HolidayKind::kGoodFriday;
      christmas |= kind == HolidayKind::kChristmasDay;
    }
    if (!good_friday || !christmas) {
      return absl::InvalidArgumentError(
          absl::StrCat("year ", y, " lacks Good Friday or Christmas Day"));
    }
  }
  return std::shared_ptr<const WorkingCalendar>(std::move(cal));
}

absl::StatusOr<std::shared_ptr<const WorkingCalendar>> WorkingCalendar::Load(
    const std::string& path, const std::string& time_zone) {
  std::ifstream in(path);
  if (!in)
    return absl::InvalidArgumentError(absl::StrCat("cannot read ", path));
  std::stringstream text;
  text << in.rdbuf();
  absl::StatusOr<std::shared_ptr<const WorkingCalendar>> cal =
      Parse(text.str(), time_zone);
  if (!cal.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": ", cal.status().message()));
  }
  return cal;
}

absl::Status WorkingCalendar::CheckCovered(absl::CivilDay day) const {
  if (day.year() < first_year_ || day.year() > last_year_) {
    return absl::OutOfRangeError(
        absl::StrCat("the working-day calendar covers ", first_year_, "-",
                     last_year_, ", not ", absl::FormatCivilTime(day)));
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> WorkingCalendar::IsWorkingDay(absl::CivilDay day) const {
  RETURN_IF_ERROR(CheckCovered(day));
  absl::Weekday wd = absl::GetWeekday(day);
  if (wd == absl::Weekday::saturday || wd == absl::Weekday::sunday)
    return false;
  return holidays_.count(day) == 0;
}

bool WorkingCalendar::IsDapnExcluded(absl::CivilDay day) const {
  return absl::GetWeekday(day) == absl::Weekday::sunday ||
         holidays_.count(day) > 0;
}

absl::StatusOr<absl::Time> WorkingCalendar::EndOfWorkingDays(absl::Time from,
                                                             int n) const {
  if (n < 1) return absl::InvalidArgumentError("working days must be >= 1");
  absl::CivilDay day = absl::ToCivilDay(from, zone_);
  int counted = 0;
  while (counted < n) {
    day += 1;
    ASSIGN_OR_RETURN(bool working, IsWorkingDay(day));
    if (working) ++counted;
  }
  // The last second of that local day (the next midnight may be 23 or 25
  // hours away across a clock change; FromCivil handles that).
  return absl::FromCivil(absl::CivilDay(day + 1), zone_) - absl::Seconds(1);
}

absl::StatusOr<absl::Time> WorkingCalendar::AddHoursSkippingDapnDays(
    absl::Time from, int hours) const {
  if (hours < 0) return absl::InvalidArgumentError("hours must be >= 0");
  absl::Duration remaining = absl::Hours(hours);
  absl::Time cursor = from;
  absl::CivilDay day = absl::ToCivilDay(from, zone_);
  while (true) {
    RETURN_IF_ERROR(CheckCovered(day));
    absl::Time day_end = absl::FromCivil(absl::CivilDay(day + 1), zone_);
    if (!IsDapnExcluded(day)) {
      absl::Duration available = day_end - cursor;
      if (remaining <= available) return cursor + remaining;
      remaining -= available;
    }
    day += 1;
    cursor = day_end;
  }
}

std::string FormatLocal(absl::Time t, const absl::TimeZone& zone) {
  return absl::FormatTime("%a %e %b %Y %H:%M", t, zone);
}

}  // namespace signpost::calendar
