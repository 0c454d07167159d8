// The England & Wales working-day calendar, shared by triage (Victims' Code
// deadlines) and orders (DVPN/DAPN hearing clocks). Loaded from a data file of
// bank holidays; computes in a named IANA zone (Europe/London), so deadlines
// stay right across the clock changes. Immutable after Load(): thread-safe.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"

namespace signpost::calendar {

enum class HolidayKind { kBankHoliday, kGoodFriday, kChristmasDay };

class WorkingCalendar {
 public:
  // Parses the data file text (see deploy/calendar/england-and-wales.txt).
  static absl::StatusOr<std::shared_ptr<const WorkingCalendar>> Parse(
      const std::string& text, const std::string& time_zone);
  static absl::StatusOr<std::shared_ptr<const WorkingCalendar>> Load(
      const std::string& path, const std::string& time_zone);

  // A weekday that is not listed as a holiday. OutOfRange outside the
  // covered years.
  absl::StatusOr<bool> IsWorkingDay(absl::CivilDay day) const;

  // The end (23:59:59 local) of the n-th working day after the local day of
  // `from`: 2 working days from Friday 5 April 2024 is the end of Tuesday
  // 9 April 2024. n >= 1.
  absl::StatusOr<absl::Time> EndOfWorkingDays(absl::Time from, int n) const;

  // `from` plus `hours` of elapsed time counted only on days that are not
  // Sundays, Christmas Day, Good Friday or bank holidays (DAPN s29(3)).
  absl::StatusOr<absl::Time> AddHoursSkippingDapnDays(absl::Time from,
                                                      int hours) const;

  const absl::TimeZone& zone() const { return zone_; }
  int first_year() const { return first_year_; }
  int last_year() const { return last_year_; }

 private:
  WorkingCalendar() = default;
  absl::Status CheckCovered(absl::CivilDay day) const;
  bool IsDapnExcluded(absl::CivilDay day) const;

  absl::TimeZone zone_;
  int first_year_ = 0;
  int last_year_ = 0;
  std::map<absl::CivilDay, HolidayKind> holidays_;
};

// "Tue 4 Jun 2024 23:59" in the calendar's zone, for reasons and displays.
std::string FormatLocal(absl::Time t, const absl::TimeZone& zone);

}  // namespace signpost::calendar
