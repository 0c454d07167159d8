#include "services/intake/validation.h"

#include <functional>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/test_support.h"

namespace signpost::intake {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::UnorderedElementsAre;

const absl::Time kNow = absl::FromUnixSeconds(1717405200 + 3600);

std::vector<std::string> BadFields(const v1::SubmitReferralRequest& r) {
  std::vector<std::string> fields;
  errors::FieldErrors errors = ValidateSubmission(r, kNow);
  for (const auto& [field, description] : errors.violations()) {
    fields.push_back(field);
  }
  return fields;
}

TEST(ValidationTest, EveryExampleReferralIsValid) {
  for (const std::string& name : testing::ExampleNames()) {
    EXPECT_THAT(BadFields(testing::LoadExample(name)), ElementsAre()) << name;
  }
}

// kNow is 2024-06-03 (UTC).
TEST(ValidationTest, DatesOfBirthMustBeRealPastDays) {
  struct Case {
    std::string dob;
    bool valid;
  };
  const Case cases[] = {
      {"1990-05-17", true},  {"2024-06-03", true},  {"1900-01-01", true},
      {"2024-06-04", false},  // tomorrow
      {"2031-01-01", false},  // the future
      {"2023-02-29", false},  // not a leap year
      {"2024-02-30", false}, {"2024-13-01", false}, {"1899-12-31", false},
      {"1990-5-17", false},  {"17/05/1990", false}, {"1990-05-17T00", false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.dob);
    v1::SubmitReferralRequest r =
        testing::LoadExample("t01_strangulation_punjabi");
    r.mutable_referral()->mutable_personal()->set_date_of_birth(c.dob);
    if (c.valid) {
      EXPECT_THAT(BadFields(r), ElementsAre());
    } else {
      EXPECT_THAT(BadFields(r), ElementsAre("referral.personal.date_of_birth"));
    }
  }
}

TEST(ValidationTest, ControlCharactersInNamesAndTextAreRefused) {
  v1::SubmitReferralRequest r =
      testing::LoadExample("t01_strangulation_punjabi");
  auto* pd = r.mutable_referral()->mutable_personal();
  pd->set_full_name(std::string("Example\x07Person", 14));
  pd->set_address("1 Example Street\nExampletown\x1b[2J");
  pd->set_narrative(std::string("Line one\nLine two\twith a tab\x00", 29));
  r.mutable_referral()->mutable_safe_contact()->set_safe_times(
      "mornings\u0085");
  EXPECT_THAT(BadFields(r),
              UnorderedElementsAre("referral.personal.full_name",
                                   "referral.personal.address",
                                   "referral.personal.narrative",
                                   "referral.safe_contact.safe_times"));
  // Line breaks (and, in the narrative, tabs) are text, not controls.
  pd->set_full_name("Example Person");
  pd->set_address("1 Example Street\nExampletown");
  pd->set_narrative("Line one\r\nLine two\twith a tab");
  r.mutable_referral()->mutable_safe_contact()->set_safe_times("mornings");
  EXPECT_THAT(BadFields(r), ElementsAre());
}

TEST(ValidationTest, EmptyRequestNamesKeyAndReferral) {
  EXPECT_THAT(BadFields(v1::SubmitReferralRequest()),
              UnorderedElementsAre("idempotency_key", "referral"));
}

TEST(ValidationTest, EveryBadFieldIsListedAtOnce) {
  v1::SubmitReferralRequest r =
      testing::LoadExample("t01_strangulation_punjabi");
  r.mutable_referral()->set_source(v1::REFERRAL_SOURCE_UNSPECIFIED);
  r.mutable_referral()->mutable_victim()->set_age(-1);
  r.mutable_referral()
      ->mutable_assessment()
      ->mutable_dash_answers()
      ->RemoveLast();
  r.mutable_referral()->add_harm_types(static_cast<v1::HarmType>(99));
  r.mutable_referral()->mutable_consent()->clear_referral_consent();
  r.mutable_referral()->mutable_reporting()->clear_report_time();
  EXPECT_THAT(BadFields(r),
              UnorderedElementsAre("referral.source", "referral.victim.age",
                                   "referral.assessment.dash_answers",
                                   "referral.harm_types[1]",
                                   "referral.consent.referral_consent",
                                   "referral.reporting.report_time"));
}

TEST(ValidationTest, DashNeedsExactly24AnswersOrNone) {
  v1::SubmitReferralRequest r = testing::LoadExample("t02_standard_da");
  r.mutable_referral()->mutable_assessment()->add_dash_answers(true);
  EXPECT_THAT(BadFields(r), ElementsAre("referral.assessment.dash_answers"));
  r.mutable_referral()->mutable_assessment()->clear_dash_answers();
  EXPECT_THAT(BadFields(r), ElementsAre());
}

TEST(ValidationTest, ContradictionsAreRefused) {
  v1::SubmitReferralRequest r = testing::LoadExample("t04_recent_rape_ae");
  auto* rep = r.mutable_referral()->mutable_reporting();
  rep->mutable_offence_time()->set_seconds(rep->report_time().seconds() + 60);
  rep->set_reported_to_police(false);
  EXPECT_THAT(BadFields(r),
              UnorderedElementsAre("referral.reporting.offence_time",
                                   "referral.reporting.crime_reference"));
}

TEST(ValidationTest, FutureReportTimeIsRefused) {
  v1::SubmitReferralRequest r =
      testing::LoadExample("t08_burglary_self_referral");
  r.mutable_referral()->mutable_reporting()->mutable_report_time()->set_seconds(
      absl::ToUnixSeconds(kNow + absl::Hours(1)));
  EXPECT_THAT(BadFields(r), ElementsAre("referral.reporting.report_time"));
}

TEST(ValidationTest, DescriptionsNeverEchoPersonalData) {
  v1::SubmitReferralRequest r =
      testing::LoadExample("t01_strangulation_punjabi");
  r.mutable_referral()->mutable_personal()->set_phone(
      "call 07700 900 at night");
  r.mutable_referral()->mutable_personal()->set_date_of_birth("17/02/1994");
  errors::FieldErrors errors = ValidateSubmission(r, kNow);
  ASSERT_EQ(errors.size(), 2u);
  std::string message(errors.ToStatus().message());
  EXPECT_EQ(message.find("07700"), std::string::npos);
  EXPECT_EQ(message.find("1994"), std::string::npos);
}

// A window on the given days from `start` to `end` minutes.
v1::SafeWindow Window(std::vector<v1::Weekday> days, int start, int end) {
  v1::SafeWindow w;
  for (v1::Weekday d : days) w.add_days(d);
  w.set_start_minute(start);
  w.set_end_minute(end);
  return w;
}

// Each bad safe-contact rule names its own field; a good variant of each is
// accepted.
TEST(ValidationTest, SafeContactRulesNameEachBadField) {
  const v1::Weekday kMon = v1::WEEKDAY_MONDAY;
  struct Case {
    std::string name;
    std::function<void(v1::SafeContact&)> change;
    std::vector<std::string> bad;  // empty: valid
  };
  const std::string w0 = "referral.safe_contact.safe_windows[0]";
  const std::vector<Case> cases = {
      {"no days",
       [](v1::SafeContact& sc) { *sc.add_safe_windows() = Window({}, 0, 60); },
       {w0 + ".days"}},
      {"unspecified day",
       [](v1::SafeContact& sc) {
         *sc.add_safe_windows() = Window({v1::WEEKDAY_UNSPECIFIED}, 0, 60);
       },
       {w0 + ".days[0]"}},
      {"unknown day",
       [&](v1::SafeContact& sc) {
         *sc.add_safe_windows() =
             Window({kMon, static_cast<v1::Weekday>(8)}, 0, 60);
       },
       {w0 + ".days[1]"}},
      {"duplicate day",
       [&](v1::SafeContact& sc) {
         *sc.add_safe_windows() =
             Window({kMon, v1::WEEKDAY_SUNDAY, kMon}, 0, 60);
       },
       {w0 + ".days[2]"}},
      {"start below 0",
       [&](v1::SafeContact& sc) {
         *sc.add_safe_windows() = Window({kMon}, -1, 60);
       },
       {w0 + ".start_minute"}},
      {"start 1440",
       [&](v1::SafeContact& sc) {
         *sc.add_safe_windows() = Window({kMon}, 1440, 1440);
       },
       {w0 + ".start_minute"}},
      {"end at start",
       [&](v1::SafeContact& sc) {
         *sc.add_safe_windows() = Window({kMon}, 600, 600);
       },
       {w0 + ".end_minute"}},
      {"end after midnight",
       [&](v1::SafeContact& sc) {
         *sc.add_safe_windows() = Window({kMon}, 600, 1441);
       },
       {w0 + ".end_minute"}},
      {"the whole day",
       [&](v1::SafeContact& sc) {
         *sc.add_safe_windows() = Window({kMon}, 0, 1440);
       },
       {}},
      {"the last minute",
       [&](v1::SafeContact& sc) {
         *sc.add_safe_windows() = Window({kMon}, 1439, 1440);
       },
       {}},
      {"fourteen windows",
       [&](v1::SafeContact& sc) {
         for (int i = 0; i < 14; ++i) {
           *sc.add_safe_windows() = Window({kMon}, i * 60, i * 60 + 30);
         }
       },
       {}},
      {"fifteen windows",
       [&](v1::SafeContact& sc) {
         for (int i = 0; i < 15; ++i) {
           *sc.add_safe_windows() = Window({kMon}, i * 60, i * 60 + 30);
         }
       },
       {"referral.safe_contact.safe_windows"}},
      {"address too long",
       [](v1::SafeContact& sc) { sc.set_safe_address(std::string(513, 'a')); },
       {"referral.safe_contact.safe_address"}},
      {"address of 512",
       [](v1::SafeContact& sc) { sc.set_safe_address(std::string(512, 'a')); },
       {}},
      {"address with a control character",
       [](v1::SafeContact& sc) { sc.set_safe_address("1 Safe Street\x1b[2J"); },
       {"referral.safe_contact.safe_address"}},
      {"letter without an address",
       [](v1::SafeContact& sc) { sc.set_letter_safe(true); },
       {"referral.safe_contact.safe_address"}},
      {"letter to a blank address",
       [](v1::SafeContact& sc) {
         sc.set_letter_safe(true);
         sc.set_safe_address("   ");
       },
       {"referral.safe_contact.safe_address"}},
      {"letter with an address",
       [](v1::SafeContact& sc) {
         sc.set_letter_safe(true);
         sc.set_safe_address("c/o 1 Safe Street, Exampletown");
         sc.add_safe_channels(v1::CONTACT_CHANNEL_LETTER);
       },
       {}},
      {"LETTER channel without letter_safe",
       [](v1::SafeContact& sc) {
         sc.set_safe_address("c/o 1 Safe Street, Exampletown");
         sc.add_safe_channels(v1::CONTACT_CHANNEL_LETTER);
       },
       {"referral.safe_contact.safe_channels[1]"}},
      {"never contact, yet a safe channel",
       [](v1::SafeContact& sc) { sc.set_never_contact(true); },
       {"referral.safe_contact.never_contact"}},
      {"never contact alone",
       [](v1::SafeContact& sc) {
         sc.clear_safe_channels();
         sc.set_never_contact(true);
       },
       {}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    v1::SubmitReferralRequest r =
        testing::LoadExample("t01_strangulation_punjabi");
    v1::SafeContact& sc = *r.mutable_referral()->mutable_safe_contact();
    sc.clear_safe_windows();
    c.change(sc);
    EXPECT_THAT(BadFields(r), ElementsAreArray(c.bad));
  }
}

TEST(ContactRulesTest, ContactRulesOfCodesTheSafeContact) {
  using C = v1::ContactChannel;
  const C kPhone = v1::CONTACT_CHANNEL_PHONE;
  const C kSms = v1::CONTACT_CHANNEL_SMS;
  const C kLetter = v1::CONTACT_CHANNEL_LETTER;
  struct Case {
    std::string name;
    std::vector<C> channels;
    bool letter_safe;
    std::string safe_address;
    std::vector<C> want_channels;
    bool want_letter_safe;
  };
  const std::vector<Case> cases = {
      {"nothing recorded", {}, false, "", {}, false},
      {"duplicates once, in order",
       {kSms, kPhone, kSms, kPhone},
       false,
       "",
       {kSms, kPhone},
       false},
      {"letter with an address",
       {kPhone},
       true,
       "1 Safe St",
       {kPhone, kLetter},
       true},
      {"LETTER listed and letter_safe",
       {kLetter, kPhone, kLetter},
       true,
       "1 Safe St",
       {kLetter, kPhone},
       true},
      {"letter without an address", {kPhone}, true, "", {kPhone}, false},
      {"letter to a blank address", {kPhone}, true, "  ", {kPhone}, false},
      {"LETTER listed without letter_safe",
       {kLetter, kPhone},
       false,
       "1 Safe St",
       {kPhone},
       false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    v1::SafeContact sc;
    for (C ch : c.channels) sc.add_safe_channels(ch);
    sc.set_letter_safe(c.letter_safe);
    sc.set_safe_address(c.safe_address);
    v1::ContactRules rules = ContactRulesOf(sc);
    std::vector<C> got;
    for (int ch : rules.safe_channels()) got.push_back(static_cast<C>(ch));
    EXPECT_THAT(got, ElementsAreArray(c.want_channels));
    EXPECT_EQ(rules.letter_safe(), c.want_letter_safe);
    EXPECT_EQ(rules.has_safe_address(), c.safe_address == "1 Safe St");
    EXPECT_TRUE(rules.recorded());
    EXPECT_FALSE(rules.never_contact());
  }
}

TEST(ContactRulesTest, WindowsVoicemailAndNeverContactAreCopied) {
  v1::SafeContact sc;
  *sc.add_safe_windows() =
      Window({v1::WEEKDAY_SATURDAY, v1::WEEKDAY_SUNDAY}, 600, 660);
  *sc.add_safe_windows() = Window({v1::WEEKDAY_MONDAY}, 1200, 1440);
  sc.set_voicemail_safe(true);
  v1::ContactRules rules = ContactRulesOf(sc);
  ASSERT_EQ(rules.safe_windows_size(), 2);
  EXPECT_EQ(rules.safe_windows(0).SerializeAsString(),
            sc.safe_windows(0).SerializeAsString());
  EXPECT_EQ(rules.safe_windows(1).end_minute(), 1440);
  EXPECT_TRUE(rules.voicemail_safe());
  EXPECT_FALSE(rules.never_contact());

  v1::SafeContact never;
  never.set_never_contact(true);
  v1::ContactRules none = ContactRulesOf(never);
  EXPECT_TRUE(none.never_contact());
  EXPECT_TRUE(none.recorded());
  EXPECT_FALSE(none.voicemail_safe());
  EXPECT_EQ(none.safe_channels_size(), 0);
}

TEST(FactsTest, FactsCarryTheContactRulesNotTheSafeAddress) {
  v1::SubmitReferralRequest r =
      testing::LoadExample("t01_strangulation_punjabi");
  v1::SafeContact& sc = *r.mutable_referral()->mutable_safe_contact();
  sc.set_letter_safe(true);
  sc.set_safe_address("Flat 9, Quillwort Mews, marker SAF-731");
  v1::ReferralFacts facts = ExtractFacts(r.referral());
  const v1::ContactRules& rules = facts.contact_rules();
  EXPECT_TRUE(rules.recorded());
  EXPECT_TRUE(rules.letter_safe());
  EXPECT_TRUE(rules.has_safe_address());
  EXPECT_THAT(
      std::vector<int>(rules.safe_channels().begin(),
                       rules.safe_channels().end()),
      ElementsAre(v1::CONTACT_CHANNEL_PHONE, v1::CONTACT_CHANNEL_LETTER));
  // The example's weekday mornings, coded.
  ASSERT_EQ(rules.safe_windows_size(), 1);
  EXPECT_EQ(rules.safe_windows(0).days_size(), 5);
  EXPECT_EQ(rules.safe_windows(0).start_minute(), 540);
  EXPECT_EQ(rules.safe_windows(0).end_minute(), 720);
  EXPECT_EQ(facts.SerializeAsString().find("SAF-731"), std::string::npos);
}

TEST(FactsTest, FactsCarryNoPersonalData) {
  v1::SubmitReferralRequest r =
      testing::LoadExample("t01_strangulation_punjabi");
  v1::ReferralFacts facts = ExtractFacts(r.referral());
  std::string bytes = facts.SerializeAsString();
  const v1::VictimPersonalData& pd = r.referral().personal();
  for (const std::string& secret :
       {pd.full_name(), pd.phone(), pd.narrative(),
        r.referral().safe_contact().safe_times(),
        r.referral().reporting().crime_reference()}) {
    ASSERT_FALSE(secret.empty());
    EXPECT_EQ(bytes.find(secret), std::string::npos) << secret;
  }
  EXPECT_TRUE(facts.has_crime_reference());
  EXPECT_EQ(facts.victim_age(), 30);
  EXPECT_EQ(facts.language(), "pa");
}

}  // namespace
}  // namespace signpost::intake
