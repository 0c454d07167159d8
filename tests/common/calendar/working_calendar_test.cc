#include "common/calendar/working_calendar.h"

#include "gtest/gtest.h"
#include "tests/support/test_support.h"

namespace signpost::calendar {
namespace {

class CalendarTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto cal = WorkingCalendar::Load(
        testing::SourcePath("deploy/calendar/england-and-wales.txt"),
        "Europe/London");
    ASSERT_TRUE(cal.ok()) << cal.status();
    cal_ = new std::shared_ptr<const WorkingCalendar>(*cal);
  }
  static const WorkingCalendar& Cal() { return **cal_; }
  static absl::Time London(int y, int mo, int d, int h, int mi = 0, int s = 0) {
    return absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, s), Cal().zone());
  }
  static std::string Show(absl::StatusOr<absl::Time> t) {
    if (!t.ok()) return std::string(t.status().message());
    return absl::FormatTime("%a %Y-%m-%d %H:%M:%S %Z", *t, Cal().zone());
  }
  static std::shared_ptr<const WorkingCalendar>* cal_;
};
std::shared_ptr<const WorkingCalendar>* CalendarTest::cal_ = nullptr;

TEST_F(CalendarTest, WorkedExampleFromTheReferencePolicy) {
  // A report on Friday 5 April 2024 with 2 working days: end of Tue 9 April.
  EXPECT_EQ(Show(Cal().EndOfWorkingDays(London(2024, 4, 5, 15), 2)),
            "Tue 2024-04-09 23:59:59 BST");
}

TEST_F(CalendarTest, EasterSkipsGoodFridayAndEasterMonday) {
  EXPECT_EQ(Show(Cal().EndOfWorkingDays(London(2024, 3, 28, 10), 1)),
            "Tue 2024-04-02 23:59:59 BST");
  EXPECT_EQ(Show(Cal().EndOfWorkingDays(London(2025, 4, 17, 10), 1)),
            "Tue 2025-04-22 23:59:59 BST");
}

TEST_F(CalendarTest, ChristmasAndSubstituteDays) {
  EXPECT_EQ(Show(Cal().EndOfWorkingDays(London(2024, 12, 24, 10), 1)),
            "Fri 2024-12-27 23:59:59 GMT");
  // 2026: Boxing Day is a Saturday, so Monday 28 December is its substitute.
  EXPECT_EQ(Show(Cal().EndOfWorkingDays(London(2026, 12, 24, 10), 1)),
            "Tue 2026-12-29 23:59:59 GMT");
  // 2027: Christmas Day is a Saturday; Mon 27 and Tue 28 are substitutes.
  EXPECT_EQ(Show(Cal().EndOfWorkingDays(London(2027, 12, 24, 10), 1)),
            "Wed 2027-12-29 23:59:59 GMT");
}

TEST_F(CalendarTest, EndOfDayIsLocalAcrossTheClockChanges) {
  // Spring forward (Sun 30 Mar 2025): Monday's end is 22:59:59 UTC.
  absl::StatusOr<absl::Time> spring =
      Cal().EndOfWorkingDays(London(2025, 3, 28, 10), 1);
  EXPECT_EQ(Show(spring), "Mon 2025-03-31 23:59:59 BST");
  EXPECT_EQ(absl::FormatTime("%H:%M:%S", *spring, absl::UTCTimeZone()),
            "22:59:59");
  // Fall back (Sun 27 Oct 2024): Monday's end is 23:59:59 UTC.
  absl::StatusOr<absl::Time> autumn =
      Cal().EndOfWorkingDays(London(2024, 10, 25, 10), 1);
  EXPECT_EQ(Show(autumn), "Mon 2024-10-28 23:59:59 GMT");
  EXPECT_EQ(absl::FormatTime("%H:%M:%S", *autumn, absl::UTCTimeZone()),
            "23:59:59");
}

TEST_F(CalendarTest, DapnScenarioO3SkipsSunday) {
  // O3: DAPN served Saturday 6 April 2024 10:00: hearing due Tue 9 April 10:00.
  EXPECT_EQ(Show(Cal().AddHoursSkippingDapnDays(London(2024, 4, 6, 10), 48)),
            "Tue 2024-04-09 10:00:00 BST");
}

TEST_F(CalendarTest, DapnClockAcrossChristmas) {
  // Tue 24 Dec 10:00: 14 h Tue, Christmas Day and Boxing Day skipped, 24 h
  // Fri, 10 h Sat.
  EXPECT_EQ(Show(Cal().AddHoursSkippingDapnDays(London(2024, 12, 24, 10), 48)),
            "Sat 2024-12-28 10:00:00 GMT");
}

TEST_F(CalendarTest, DapnClockAcrossEasterAndTheSpringClockChange) {
  // Sat 30 Mar 2024 10:00 GMT: 14 h Sat; Easter Sunday (also the 23-hour
  // day) and Easter Monday skipped; 24 h Tue; 10 h Wed.
  EXPECT_EQ(Show(Cal().AddHoursSkippingDapnDays(London(2024, 3, 30, 10), 48)),
            "Wed 2024-04-03 10:00:00 BST");
  // Good Friday itself is skipped: Thu 28 Mar 2024 10:00.
  EXPECT_EQ(Show(Cal().AddHoursSkippingDapnDays(London(2024, 3, 28, 10), 48)),
            "Tue 2024-04-02 10:00:00 BST");
}

TEST_F(CalendarTest, DapnClockAcrossTheAutumnClockChange) {
  // Sat 26 Oct 2024 10:00 BST: 14 h Sat, Sunday (25 hours) skipped, 24 h
  // Mon, 10 h Tue: 10:00 GMT on Tuesday.
  EXPECT_EQ(Show(Cal().AddHoursSkippingDapnDays(London(2024, 10, 26, 10), 48)),
            "Tue 2024-10-29 10:00:00 GMT");
}

TEST_F(CalendarTest, DatesOutsideTheCoveredYearsAreRefused) {
  absl::StatusOr<absl::Time> t =
      Cal().EndOfWorkingDays(London(2030, 12, 31, 10), 1);
  EXPECT_EQ(t.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(Cal().first_year(), 2023);
  EXPECT_EQ(Cal().last_year(), 2030);
}

TEST(CalendarParseTest, BadFilesAreRefusedWithTheLine) {
  auto missing_range =
      WorkingCalendar::Parse("2024-01-01 BANK_HOLIDAY x\n", "Europe/London");
  EXPECT_FALSE(missing_range.ok());
  auto bad_kind = WorkingCalendar::Parse(
      "range 2024 2024\n2024-01-01 HOLIDAY x\n", "Europe/London");
  ASSERT_FALSE(bad_kind.ok());
  EXPECT_NE(bad_kind.status().message().find("line 2"), std::string::npos);
  auto no_easter = WorkingCalendar::Parse(
      "range 2024 2024\n2024-12-25 CHRISTMAS_DAY Christmas Day\n",
      "Europe/London");
  EXPECT_NE(no_easter.status().message().find("lacks Good Friday"),
            std::string::npos);
  auto zone = WorkingCalendar::Parse("range 2024 2024\n", "Mars/Olympus");
  EXPECT_NE(zone.status().message().find("unknown time zone"),
            std::string::npos);
}

}  // namespace
}  // namespace signpost::calendar
