// The safe-contact rules: a table of cases (each breach and its boundary),
// the clock changes, and a property test over random rules and contacts.
#include "common/safety/contact_rules.h"

#include <algorithm>
#include <cstdio>
#include <random>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace signpost::safety {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

absl::TimeZone London() {
  absl::TimeZone zone;
  EXPECT_TRUE(absl::LoadTimeZone("Europe/London", &zone));
  return zone;
}

absl::Time Local(int y, int m, int d, int hh, int mm) {
  return absl::FromCivil(absl::CivilMinute(y, m, d, hh, mm), London());
}

// Phone only, weekdays 09:00-12:00, no voicemail, no letters.
v1::ContactRules PhoneWeekdayMornings() {
  v1::ContactRules r;
  r.set_recorded(true);
  r.add_safe_channels(v1::CONTACT_CHANNEL_PHONE);
  v1::SafeWindow* w = r.add_safe_windows();
  for (v1::Weekday d :
       {v1::WEEKDAY_MONDAY, v1::WEEKDAY_TUESDAY, v1::WEEKDAY_WEDNESDAY,
        v1::WEEKDAY_THURSDAY, v1::WEEKDAY_FRIDAY}) {
    w->add_days(d);
  }
  w->set_start_minute(9 * 60);
  w->set_end_minute(12 * 60);
  return r;
}

struct Case {
  const char* name;
  v1::ContactRules rules;
  Contact contact;
  std::vector<std::string> breaches;
};

TEST(BreachesTest, Table) {
  v1::ContactRules never = PhoneWeekdayMornings();
  never.set_never_contact(true);
  v1::ContactRules letters = PhoneWeekdayMornings();
  letters.set_letter_safe(true);
  letters.set_has_safe_address(true);
  v1::ContactRules letter_no_address = letters;
  letter_no_address.set_has_safe_address(false);
  v1::ContactRules voicemail = PhoneWeekdayMornings();
  voicemail.set_voicemail_safe(true);
  v1::ContactRules no_channels;
  no_channels.set_recorded(true);
  v1::ContactRules unrecorded;
  v1::ContactRules any_time = PhoneWeekdayMornings();
  any_time.clear_safe_windows();
  // Monday 3 June 2024.
  const absl::Time mon_0900 = Local(2024, 6, 3, 9, 0);
  const absl::Time mon_0859 = Local(2024, 6, 3, 8, 59);
  const absl::Time mon_1159 = Local(2024, 6, 3, 11, 59);
  const absl::Time mon_1200 = Local(2024, 6, 3, 12, 0);
  const absl::Time sat_1000 = Local(2024, 6, 8, 10, 0);
  const auto P = v1::CONTACT_CHANNEL_PHONE;
  const Case cases[] = {
      {"safe", PhoneWeekdayMornings(), {P, mon_0900}, {}},
      {"window start is inclusive", PhoneWeekdayMornings(), {P, mon_0900}, {}},
      {"a minute before",
       PhoneWeekdayMornings(),
       {P, mon_0859},
       {kOutsideSafeTimes}},
      {"last minute", PhoneWeekdayMornings(), {P, mon_1159}, {}},
      {"window end is exclusive",
       PhoneWeekdayMornings(),
       {P, mon_1200},
       {kOutsideSafeTimes}},
      {"weekend", PhoneWeekdayMornings(), {P, sat_1000}, {kOutsideSafeTimes}},
      {"email when only phone is safe",
       PhoneWeekdayMornings(),
       {v1::CONTACT_CHANNEL_EMAIL, mon_0900},
       {kChannelNotSafe}},
      {"email out of hours",
       PhoneWeekdayMornings(),
       {v1::CONTACT_CHANNEL_EMAIL, sat_1000},
       {kChannelNotSafe, kOutsideSafeTimes}},
      {"never contact", never, {P, mon_0900}, {kNeverContact}},
      {"voicemail not safe",
       PhoneWeekdayMornings(),
       {P, mon_0900, true},
       {kVoicemailNotSafe}},
      {"voicemail safe", voicemail, {P, mon_0900, true}, {}},
      {"letter not safe",
       PhoneWeekdayMornings(),
       {v1::CONTACT_CHANNEL_LETTER, mon_0900},
       {kLetterNotSafe, kNoSafeAddress}},
      {"letter safe, any time",
       letters,
       {v1::CONTACT_CHANNEL_LETTER, sat_1000},
       {}},
      {"letter without a safe address",
       letter_no_address,
       {v1::CONTACT_CHANNEL_LETTER, mon_0900},
       {kNoSafeAddress}},
      {"no channel recorded", no_channels, {P, mon_0900}, {kNoSafeChannel}},
      {"rules not recorded limit nothing",
       unrecorded,
       {v1::CONTACT_CHANNEL_EMAIL, sat_1000},
       {}},
      {"no windows: any time", any_time, {P, sat_1000}, {}},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(Breaches(c.rules, c.contact, London()), c.breaches) << c.name;
  }
}

TEST(BreachesTest, WindowsAreInLocalTimeAcrossTheClockChange) {
  // 09:00-12:00 London: 08:00 UTC in summer (BST), 09:00 UTC in winter.
  const v1::ContactRules r = PhoneWeekdayMornings();
  const absl::Time summer_0830_utc = absl::FromCivil(
      absl::CivilMinute(2024, 6, 3, 8, 30), absl::UTCTimeZone());
  const absl::Time winter_0830_utc = absl::FromCivil(
      absl::CivilMinute(2024, 12, 2, 8, 30), absl::UTCTimeZone());
  EXPECT_THAT(
      Breaches(r, {v1::CONTACT_CHANNEL_PHONE, summer_0830_utc}, London()),
      IsEmpty());
  EXPECT_THAT(
      Breaches(r, {v1::CONTACT_CHANNEL_PHONE, winter_0830_utc}, London()),
      ElementsAre(kOutsideSafeTimes));
}

TEST(NextSafeTimeTest, HoldsUntilTheNextWindow) {
  const v1::ContactRules r = PhoneWeekdayMornings();
  // Friday 7 June 2024 13:00 -> Monday 10 June 09:00.
  EXPECT_EQ(NextSafeTime(r, v1::CONTACT_CHANNEL_PHONE, Local(2024, 6, 7, 13, 0),
                         London()),
            Local(2024, 6, 10, 9, 0));
  // Inside a window: now.
  EXPECT_EQ(NextSafeTime(r, v1::CONTACT_CHANNEL_PHONE, Local(2024, 6, 7, 10, 0),
                         London()),
            Local(2024, 6, 7, 10, 0));
  // Not a safe channel: never.
  EXPECT_EQ(NextSafeTime(r, v1::CONTACT_CHANNEL_SMS, Local(2024, 6, 7, 10, 0),
                         London()),
            std::nullopt);
  v1::ContactRules never = r;
  never.set_never_contact(true);
  EXPECT_EQ(NextSafeTime(never, v1::CONTACT_CHANNEL_PHONE,
                         Local(2024, 6, 7, 10, 0), London()),
            std::nullopt);
}

TEST(DescribeWindowsTest, ReadsAsTheAdvocateWouldSayIt) {
  EXPECT_EQ(DescribeWindows(PhoneWeekdayMornings()),
            "Mon,Tue,Wed,Thu,Fri 09:00-12:00");
  EXPECT_EQ(DescribeWindows(v1::ContactRules()), "any time");
}

// An independent reading of the windows, for the property test: the local
// weekday and time as absl::FormatTime prints them in London.
bool InWindowByFormat(const v1::ContactRules& r, absl::Time t) {
  if (r.safe_windows().empty()) return true;
  const std::string local = absl::FormatTime("%u %H %M", t, London());
  int day = 0, hh = 0, mm = 0;
  if (std::sscanf(local.c_str(), "%d %d %d", &day, &hh, &mm) != 3) {
    return false;
  }
  const int minute = hh * 60 + mm;
  for (const v1::SafeWindow& w : r.safe_windows()) {
    for (int d : w.days()) {
      if (d == day && minute >= w.start_minute() && minute < w.end_minute()) {
        return true;
      }
    }
  }
  return false;
}

TEST(NextSafeTimeTest, AWindowStartSkippedByTheSpringClockChange) {
  // Sunday 31 March 2024: 01:00 GMT jumps to 02:00 BST. A window of
  // 01:30-02:00 does not exist that day; one of 01:30-03:00 opens when the
  // clocks go forward, at 02:00 BST.
  v1::ContactRules r;
  r.set_recorded(true);
  r.add_safe_channels(v1::CONTACT_CHANNEL_PHONE);
  v1::SafeWindow* w = r.add_safe_windows();
  w->add_days(v1::WEEKDAY_SUNDAY);
  w->set_start_minute(90);
  w->set_end_minute(120);
  const absl::Time saturday = Local(2024, 3, 30, 12, 0);
  std::optional<absl::Time> next =
      NextSafeTime(r, v1::CONTACT_CHANNEL_PHONE, saturday, London());
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(*next, Local(2024, 4, 7, 1, 30));  // the next Sunday
  EXPECT_THAT(Breaches(r, {v1::CONTACT_CHANNEL_PHONE, *next}, London()),
              IsEmpty());
  w->set_end_minute(180);
  next = NextSafeTime(r, v1::CONTACT_CHANNEL_PHONE, saturday, London());
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(absl::FormatTime("%Y-%m-%d %H:%M", *next, London()),
            "2024-03-31 02:00");
}

// Random rules and random contacts: a contact with no breach is always on a
// safe channel, inside a window and not against never-contact; and the
// time NextSafeTime gives is always one with no breach.
v1::ContactRules RandomRules(std::mt19937& rng) {
  std::uniform_int_distribution<int> coin(0, 1), channel(1, 5), day(1, 7),
      minute(0, 1439), count(0, 3);
  v1::ContactRules r;
  r.set_recorded(true);
  r.set_never_contact(std::uniform_int_distribution<int>(0, 9)(rng) == 0);
  for (int i = count(rng); i > 0; --i) {
    r.add_safe_channels(static_cast<v1::ContactChannel>(channel(rng)));
  }
  for (int i = count(rng); i > 0; --i) {
    v1::SafeWindow* w = r.add_safe_windows();
    for (int d = 1 + count(rng); d > 0; --d) {
      w->add_days(static_cast<v1::Weekday>(day(rng)));
    }
    const int a = minute(rng);
    w->set_start_minute(a);
    w->set_end_minute(std::uniform_int_distribution<int>(a + 1, 1440)(rng));
  }
  r.set_voicemail_safe(coin(rng));
  r.set_letter_safe(coin(rng));
  r.set_has_safe_address(coin(rng));
  return r;
}

TEST(BreachesPropertyTest, NoUnflaggedContactBreaksARule) {
  std::mt19937 rng(20241122);
  const absl::TimeZone zone = London();
  const absl::Time base = Local(2024, 3, 25, 0, 0);  // spans the BST change
  std::uniform_int_distribution<int> channel(1, 5), coin(0, 1);
  std::uniform_int_distribution<int64_t> offset(0, 14 * 24 * 60);
  int safe_seen = 0, held_seen = 0;
  for (int i = 0; i < 20000; ++i) {
    const v1::ContactRules r = RandomRules(rng);
    const auto ch = static_cast<v1::ContactChannel>(channel(rng));
    const Contact c{ch, base + absl::Minutes(offset(rng)),
                    ch == v1::CONTACT_CHANNEL_PHONE && coin(rng) == 1};
    const std::vector<std::string> breaches = Breaches(r, c, zone);
    if (breaches.empty()) {
      ++safe_seen;
      // An independent statement of the rules.
      ASSERT_FALSE(r.never_contact());
      if (c.channel == v1::CONTACT_CHANNEL_LETTER) {
        ASSERT_TRUE(r.letter_safe() && r.has_safe_address());
      } else {
        ASSERT_NE(std::find(r.safe_channels().begin(), r.safe_channels().end(),
                            c.channel),
                  r.safe_channels().end());
        ASSERT_TRUE(InWindowByFormat(r, c.at)) << i;
        ASSERT_TRUE(!c.voicemail_left || r.voicemail_safe());
      }
    }
    const std::optional<absl::Time> next =
        NextSafeTime(r, c.channel, c.at, zone);
    if (next) {
      ++held_seen;
      ASSERT_GE(*next, c.at);
      ASSERT_THAT(Breaches(r, {c.channel, *next}, zone), IsEmpty())
          << "NextSafeTime gave an unsafe time, case " << i;
    }
  }
  // The generator reaches both outcomes often (the test can fail).
  EXPECT_GT(safe_seen, 500);
  EXPECT_GT(held_seen, 500);
}

}  // namespace
}  // namespace signpost::safety
