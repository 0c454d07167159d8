// Victim notices: the plan for each notice (channel, when, or why not) and a
// property test that no planned notice breaks the victim's rules.
#include "services/intake/victim_notices.h"

#include <random>

#include "absl/strings/ascii.h"
#include "absl/time/civil_time.h"
#include "common/safety/contact_rules.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace signpost::intake {
namespace {

using ::testing::IsEmpty;

absl::TimeZone London() {
  absl::TimeZone zone;
  EXPECT_TRUE(absl::LoadTimeZone("Europe/London", &zone));
  return zone;
}

absl::Time Local(int y, int m, int d, int hh, int mm) {
  return absl::FromCivil(absl::CivilMinute(y, m, d, hh, mm), London());
}

v1::ContactRules SmsEvenings() {
  v1::ContactRules r;
  r.set_recorded(true);
  r.add_safe_channels(v1::CONTACT_CHANNEL_SMS);
  r.add_safe_channels(v1::CONTACT_CHANNEL_PHONE);
  v1::SafeWindow* w = r.add_safe_windows();
  w->add_days(v1::WEEKDAY_MONDAY);
  w->add_days(v1::WEEKDAY_WEDNESDAY);
  w->set_start_minute(18 * 60);
  w->set_end_minute(20 * 60);
  return r;
}

NoticeReach Everything() {
  NoticeReach reach;
  reach.phone = reach.email = reach.safe_address = true;
  reach.gateways = {v1::CONTACT_CHANNEL_SMS, v1::CONTACT_CHANNEL_EMAIL,
                    v1::CONTACT_CHANNEL_LETTER};
  return reach;
}

TEST(PlanNoticeTest, HeldUntilTheNextSafeTime) {
  // Monday 3 June 2024 10:00: the next safe time is 18:00 that day.
  NoticePlan plan = PlanNotice(SmsEvenings(), Everything(),
                               Local(2024, 6, 3, 10, 0), London());
  ASSERT_TRUE(plan.channel.has_value());
  EXPECT_EQ(*plan.channel, v1::CONTACT_CHANNEL_SMS);
  EXPECT_EQ(plan.send_at, Local(2024, 6, 3, 18, 0));
  // Inside the window: now.
  plan = PlanNotice(SmsEvenings(), Everything(), Local(2024, 6, 3, 19, 0),
                    London());
  EXPECT_EQ(plan.send_at, Local(2024, 6, 3, 19, 0));
  // Monday 20:00 (the end is exclusive): Wednesday 18:00.
  plan = PlanNotice(SmsEvenings(), Everything(), Local(2024, 6, 3, 20, 0),
                    London());
  EXPECT_EQ(plan.send_at, Local(2024, 6, 5, 18, 0));
}

TEST(PlanNoticeTest, SuppressedWithTheReason) {
  v1::ContactRules never = SmsEvenings();
  never.set_never_contact(true);
  EXPECT_EQ(PlanNotice(never, Everything(), Local(2024, 6, 3, 19, 0), London())
                .suppressed,
            kSuppressNeverContact);
  EXPECT_EQ(PlanNotice(v1::ContactRules(), Everything(),
                       Local(2024, 6, 3, 19, 0), London())
                .suppressed,
            kSuppressNoRules);
  v1::ContactRules phone_only;
  phone_only.set_recorded(true);
  phone_only.add_safe_channels(v1::CONTACT_CHANNEL_PHONE);
  EXPECT_EQ(
      PlanNotice(phone_only, Everything(), Local(2024, 6, 3, 19, 0), London())
          .suppressed,
      kSuppressNoSafeChannel);
  NoticeReach no_phone = Everything();
  no_phone.phone = false;
  EXPECT_EQ(
      PlanNotice(SmsEvenings(), no_phone, Local(2024, 6, 3, 19, 0), London())
          .suppressed,
      kSuppressNoDetail);
  NoticeReach no_gateway = Everything();
  no_gateway.gateways.clear();
  EXPECT_EQ(
      PlanNotice(SmsEvenings(), no_gateway, Local(2024, 6, 3, 19, 0), London())
          .suppressed,
      kSuppressNoGateway);
}

TEST(PlanNoticeTest, ALetterNeedsLetterSafeAndASafeAddressAndIsNotTimeBound) {
  v1::ContactRules letters;
  letters.set_recorded(true);
  letters.set_letter_safe(true);
  letters.set_has_safe_address(true);
  letters.add_safe_windows()->add_days(v1::WEEKDAY_SUNDAY);
  letters.mutable_safe_windows(0)->set_start_minute(0);
  letters.mutable_safe_windows(0)->set_end_minute(60);
  NoticePlan plan =
      PlanNotice(letters, Everything(), Local(2024, 6, 3, 10, 0), London());
  ASSERT_TRUE(plan.channel.has_value());
  EXPECT_EQ(*plan.channel, v1::CONTACT_CHANNEL_LETTER);
  EXPECT_EQ(plan.send_at, Local(2024, 6, 3, 10, 0));
  letters.set_has_safe_address(false);
  EXPECT_EQ(
      PlanNotice(letters, Everything(), Local(2024, 6, 3, 10, 0), London())
          .suppressed,
      kSuppressNoSafeChannel);
}

TEST(NoticeTextTest, SaysNothingOfTheCase) {
  for (NoticeKind kind :
       {NoticeKind::kReferralReceived, NoticeKind::kServiceToContact,
        NoticeKind::kAdvocateAssigned}) {
    const std::string text = absl::AsciiStrToLower(NoticeText(kind));
    EXPECT_FALSE(text.empty());
    for (const char* word :
         {"abuse", "domestic", "violence", "rape", "sexual", "assault", "idva",
          "isva", "police", "crime", "victim", "marac", "stalk", "refuge",
          "risk", "sarc", "safeguard", "court", "order"}) {
      EXPECT_EQ(text.find(word), std::string::npos)
          << NoticeKindName(kind) << " says '" << word << "'";
    }
    EXPECT_EQ(ParseNoticeKind(NoticeKindName(kind)), kind);
  }
}

// Random rules, reach and times: a notice that is planned is always on a
// channel and at a time the rules allow, never before now; never contact
// and unrecorded rules never plan anything.
TEST(PlanNoticePropertyTest, NoPlannedNoticeBreaksARule) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> coin(0, 1), channel(1, 5), day(1, 7),
      minute(0, 1439), count(0, 3);
  std::uniform_int_distribution<int64_t> offset(0, 21 * 24 * 60);
  const absl::TimeZone zone = London();
  const absl::Time base = Local(2024, 10, 14, 0, 0);  // spans the GMT change
  int planned = 0, suppressed = 0;
  for (int i = 0; i < 20000; ++i) {
    v1::ContactRules r;
    r.set_recorded(coin(rng) || coin(rng) || coin(rng));
    r.set_never_contact(std::uniform_int_distribution<int>(0, 9)(rng) == 0);
    for (int n = count(rng); n > 0; --n) {
      r.add_safe_channels(static_cast<v1::ContactChannel>(channel(rng)));
    }
    for (int n = count(rng); n > 0; --n) {
      v1::SafeWindow* w = r.add_safe_windows();
      for (int d = 1 + count(rng); d > 0; --d) {
        w->add_days(static_cast<v1::Weekday>(day(rng)));
      }
      const int a = minute(rng);
      w->set_start_minute(a);
      w->set_end_minute(std::uniform_int_distribution<int>(a + 1, 1440)(rng));
    }
    r.set_letter_safe(coin(rng));
    r.set_has_safe_address(coin(rng));
    NoticeReach reach;
    reach.phone = coin(rng);
    reach.email = coin(rng);
    reach.safe_address = coin(rng);
    for (v1::ContactChannel g :
         {v1::CONTACT_CHANNEL_SMS, v1::CONTACT_CHANNEL_EMAIL,
          v1::CONTACT_CHANNEL_LETTER}) {
      if (coin(rng)) reach.gateways.insert(g);
    }
    const absl::Time now = base + absl::Minutes(offset(rng));
    const NoticePlan plan = PlanNotice(r, reach, now, zone);
    if (!plan.channel) {
      ++suppressed;
      ASSERT_FALSE(plan.suppressed.empty());
      continue;
    }
    ++planned;
    ASSERT_TRUE(r.recorded() && !r.never_contact()) << i;
    ASSERT_GE(plan.send_at, now);
    ASSERT_THAT(safety::Breaches(r, {*plan.channel, plan.send_at}, zone),
                IsEmpty())
        << "case " << i;
    ASSERT_EQ(reach.gateways.count(*plan.channel), 1u);
    const bool detail = *plan.channel == v1::CONTACT_CHANNEL_SMS ? reach.phone
                        : *plan.channel == v1::CONTACT_CHANNEL_EMAIL
                            ? reach.email
                            : reach.safe_address;
    ASSERT_TRUE(detail) << i;
  }
  EXPECT_GT(planned, 1000);
  EXPECT_GT(suppressed, 1000);
}

}  // namespace
}  // namespace signpost::intake
