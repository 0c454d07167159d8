#include "services/intake/validation.h"

#include <optional>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/access/registry.h"
#include "common/ids/ids.h"
#include "common/time/timestamps.h"
#include "google/protobuf/util/time_util.h"

namespace signpost::intake {
namespace {

using google::protobuf::util::TimeUtil;

constexpr absl::Duration kClockSkew = absl::Minutes(5);
constexpr int kMinutesPerDay = 1440;
// Two a day covers split days; more is a note for safe_times, not rules.
constexpr int kMaxSafeWindows = 14;

bool IsCode(const std::string& s, size_t max_len) {
  if (s.empty() || s.size() > max_len) return false;
  for (char c : s) {
    if (!(absl::ascii_isupper(static_cast<unsigned char>(c)) ||
          absl::ascii_isdigit(static_cast<unsigned char>(c)) || c == '-' ||
          c == '_')) {
      return false;
    }
  }
  return true;
}

// A BCP-47-shaped tag: 2-3 lowercase letters, then optional -subtags.
bool IsLanguageTag(const std::string& s) {
  if (s.empty() || s.size() > 35) return false;
  size_t i = 0;
  while (i < s.size() && absl::ascii_islower(static_cast<unsigned char>(s[i])))
    ++i;
  if (i < 2 || i > 3) return false;
  for (; i < s.size(); ++i) {
    char c = s[i];
    if (!(absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-'))
      return false;
  }
  return s.back() != '-';
}

// A real calendar day written YYYY-MM-DD: "2024-02-30" is refused, not
// moved to 1 March.
std::optional<absl::CivilDay> ParseIsoDay(const std::string& s) {
  absl::CivilDay day;
  if (s.size() != 10 || !absl::ParseCivilTime(s, &day)) return std::nullopt;
  if (absl::FormatCivilTime(day) != s) return std::nullopt;
  return day;
}

// True when `s` holds a control character (C0, DEL or C1) other than those
// in `allowed`.
bool HasControl(absl::string_view s, absl::string_view allowed = "") {
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if ((c < 0x20 || c == 0x7f) &&
        allowed.find(s[i]) == absl::string_view::npos) {
      return true;
    }
    // C1 controls are U+0080..U+009F, encoded 0xC2 0x80..0x9F in UTF-8.
    if (c == 0xc2 && i + 1 < s.size()) {
      const unsigned char next = static_cast<unsigned char>(s[i + 1]);
      if (next >= 0x80 && next <= 0x9f) return true;
    }
  }
  return false;
}

bool IsPhone(const std::string& s) {
  int digits = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (absl::ascii_isdigit(static_cast<unsigned char>(c))) {
      ++digits;
    } else if (!(c == ' ' || (c == '+' && i == 0))) {
      return false;
    }
  }
  return digits >= 7 && digits <= 15;
}

bool ValidTimestamp(const google::protobuf::Timestamp& ts) {
  return ts.seconds() >= TimeUtil::kTimestampMinSeconds &&
         ts.seconds() <= TimeUtil::kTimestampMaxSeconds && ts.nanos() >= 0 &&
         ts.nanos() <= 999999999;
}

using timeutil::FromTimestamp;

void CheckConsent(errors::FieldErrors& errors, const std::string& field,
                  v1::ConsentStatus value, bool required) {
  if (!v1::ConsentStatus_IsValid(value)) {
    errors.Add(field, "unknown consent status");
  } else if (required && value == v1::CONSENT_STATUS_UNSPECIFIED) {
    errors.Add(field, "is required (GIVEN, REFUSED or NOT_YET_ASKED)");
  }
}

void CheckIdempotencyKey(errors::FieldErrors& errors, const std::string& key) {
  if (key.empty()) {
    errors.Add("idempotency_key", "is required");
  } else if (key.size() > 128) {
    errors.Add("idempotency_key", "must be at most 128 characters");
  } else {
    for (char c : key) {
      if (c < 0x21 || c > 0x7e) {
        errors.Add("idempotency_key", "must be printable ASCII without spaces");
        break;
      }
    }
  }
}

void CheckCodes(errors::FieldErrors& errors, const v1::Referral& r) {
  if (!v1::ReferralSource_IsValid(r.source())) {
    errors.Add("referral.source", "unknown referral source");
  } else if (r.source() == v1::REFERRAL_SOURCE_UNSPECIFIED) {
    errors.Add("referral.source", "is required");
  }
  if (!IsCode(r.area_code(), 32)) {
    errors.Add("referral.area_code",
               "is required: 1-32 of A-Z, 0-9, '-' or '_'");
  }
  if (!IsCode(r.locality_code(), 32)) {
    errors.Add("referral.locality_code",
               "is required: 1-32 of A-Z, 0-9, '-' or '_'");
  }
  // Optional: intake records the calling agency. When given it must be an
  // agency id (any case), which intake checks against the caller.
  if (!r.referrer_org().empty() &&
      !access::IsAgencyId(absl::AsciiStrToLower(r.referrer_org()))) {
    errors.Add("referral.referrer_org",
               "must be empty or the calling agency's id: 2-64 of a-z, 0-9 "
               "and '-' (any case)");
  }
}

void CheckHarmTypes(errors::FieldErrors& errors, const v1::Referral& r) {
  if (r.harm_types_size() == 0) {
    errors.Add("referral.harm_types", "at least one harm type is required");
  }
  std::set<int> seen_harms;
  for (int i = 0; i < r.harm_types_size(); ++i) {
    int h = r.harm_types(i);
    std::string field = absl::StrCat("referral.harm_types[", i, "]");
    if (!v1::HarmType_IsValid(h)) {
      errors.Add(field, "unknown harm type");
    } else if (h == v1::HARM_TYPE_UNSPECIFIED) {
      errors.Add(field, "must not be HARM_TYPE_UNSPECIFIED");
    } else if (!seen_harms.insert(h).second) {
      errors.Add(field, "duplicate harm type");
    }
  }
}

void CheckVictim(errors::FieldErrors& errors, const v1::Referral& r) {
  if (!r.has_victim()) {
    errors.Add("referral.victim", "is required");
    return;
  }
  const v1::Victim& v = r.victim();
  if (v.age() < 0 || v.age() > 130) {
    errors.Add("referral.victim.age", "must be between 0 and 130");
  }
  if (!IsLanguageTag(v.language())) {
    errors.Add("referral.victim.language",
               "is required: a BCP-47 language tag such as 'en' or 'pa'");
  }
  for (int i = 0; i < v.cohort_flags_size(); ++i) {
    if (!v1::CohortFlag_IsValid(v.cohort_flags(i)) ||
        v.cohort_flags(i) == v1::COHORT_FLAG_UNSPECIFIED) {
      errors.Add(absl::StrCat("referral.victim.cohort_flags[", i, "]"),
                 "unknown cohort flag");
    }
  }
  if (v.victim_ref().size() > 64) {
    errors.Add("referral.victim.victim_ref", "must be at most 64 characters");
  }
}

void CheckAssessment(errors::FieldErrors& errors, const v1::Assessment& a) {
  if (a.dash_answers_size() != 0 && a.dash_answers_size() != 24) {
    errors.Add("referral.assessment.dash_answers",
               absl::StrCat("must have exactly 24 answers (or none); got ",
                            a.dash_answers_size()));
  }
  if (a.sdash_answers_size() != 0 && a.sdash_answers_size() != 11) {
    errors.Add("referral.assessment.sdash_answers",
               absl::StrCat("must have exactly 11 answers (or none); got ",
                            a.sdash_answers_size()));
  }
  for (int i = 0; i < a.pj_flags_size(); ++i) {
    if (!v1::ProfessionalJudgementFlag_IsValid(a.pj_flags(i)) ||
        a.pj_flags(i) == v1::PROFESSIONAL_JUDGEMENT_FLAG_UNSPECIFIED) {
      errors.Add(absl::StrCat("referral.assessment.pj_flags[", i, "]"),
                 "unknown professional-judgement flag");
    }
  }
  if (a.incidents_last_12_months() < 0 || a.incidents_last_12_months() > 1000) {
    errors.Add("referral.assessment.incidents_last_12_months",
               "must be between 0 and 1000");
  }
}

void CheckReporting(errors::FieldErrors& errors, const v1::Reporting& rep,
                    absl::Time now) {
  bool report_time_ok = false;
  if (!rep.has_report_time()) {
    errors.Add("referral.reporting.report_time", "is required");
  } else if (!ValidTimestamp(rep.report_time())) {
    errors.Add("referral.reporting.report_time", "is not a valid timestamp");
  } else if (FromTimestamp(rep.report_time()) > now + kClockSkew) {
    errors.Add("referral.reporting.report_time", "must not be in the future");
  } else {
    report_time_ok = true;
  }
  if (rep.has_offence_time()) {
    if (!ValidTimestamp(rep.offence_time())) {
      errors.Add("referral.reporting.offence_time", "is not a valid timestamp");
    } else if (report_time_ok && FromTimestamp(rep.offence_time()) >
                                     FromTimestamp(rep.report_time())) {
      errors.Add("referral.reporting.offence_time",
                 "must not be after report_time");
    }
  }
  if (!rep.reported_to_police() && !rep.crime_reference().empty()) {
    errors.Add("referral.reporting.crime_reference",
               "given but reported_to_police is false");
  }
  if (rep.crime_reference().size() > 64) {
    errors.Add("referral.reporting.crime_reference",
               "must be at most 64 characters");
  }
}

void CheckConsents(errors::FieldErrors& errors, const v1::Referral& r) {
  if (!r.has_consent()) {
    errors.Add("referral.consent", "is required");
    return;
  }
  CheckConsent(errors, "referral.consent.referral_consent",
               r.consent().referral_consent(), /*required=*/true);
  CheckConsent(errors, "referral.consent.rj_victim_consent",
               r.consent().rj_victim_consent(), false);
  CheckConsent(errors, "referral.consent.rj_offender_consent",
               r.consent().rj_offender_consent(), false);
}

void CheckPerpetrator(errors::FieldErrors& errors, const v1::Perpetrator& p) {
  if (p.age() < 0 || p.age() > 130) {
    errors.Add("referral.perpetrator.age", "must be between 0 and 130");
  }
  if (!v1::PerpetratorRelationship_IsValid(p.relationship())) {
    errors.Add("referral.perpetrator.relationship", "unknown relationship");
  }
  if (!p.known() &&
      (p.age() != 0 ||
       p.relationship() != v1::PERPETRATOR_RELATIONSHIP_UNSPECIFIED)) {
    errors.Add("referral.perpetrator.known",
               "is false but an age or relationship is given");
  }
}

// A safe address, ignoring surrounding blanks ("  " is no address).
bool HasSafeAddress(const v1::SafeContact& sc) {
  return !absl::StripAsciiWhitespace(sc.safe_address()).empty();
}

void CheckSafeWindow(errors::FieldErrors& errors, const std::string& field,
                     const v1::SafeWindow& w) {
  if (w.days_size() == 0) {
    errors.Add(absl::StrCat(field, ".days"), "at least one day is required");
  }
  std::set<int> seen;
  for (int j = 0; j < w.days_size(); ++j) {
    const int day = w.days(j);
    const std::string day_field = absl::StrCat(field, ".days[", j, "]");
    if (!v1::Weekday_IsValid(day) || day == v1::WEEKDAY_UNSPECIFIED) {
      errors.Add(day_field, "unknown weekday");
    } else if (!seen.insert(day).second) {
      errors.Add(day_field, "duplicate weekday");
    }
  }
  const bool start_ok = w.start_minute() >= 0 && w.start_minute() <= 1439;
  if (!start_ok) {
    errors.Add(absl::StrCat(field, ".start_minute"),
               "must be 0-1439 (minutes after midnight)");
  }
  if (w.end_minute() > kMinutesPerDay ||
      (start_ok ? w.end_minute() <= w.start_minute() : w.end_minute() < 1)) {
    errors.Add(absl::StrCat(field, ".end_minute"),
               "must be after start_minute and at most 1440 (midnight)");
  }
}

void CheckSafeContact(errors::FieldErrors& errors, const v1::SafeContact& sc) {
  bool letter_channel = false;
  for (int i = 0; i < sc.safe_channels_size(); ++i) {
    int c = sc.safe_channels(i);
    const std::string field =
        absl::StrCat("referral.safe_contact.safe_channels[", i, "]");
    if (!v1::ContactChannel_IsValid(c) ||
        c == v1::CONTACT_CHANNEL_UNSPECIFIED) {
      errors.Add(field, "unknown contact channel");
    } else if (c == v1::CONTACT_CHANNEL_LETTER && !sc.letter_safe() &&
               !letter_channel) {
      letter_channel = true;
      errors.Add(field,
                 "LETTER is a safe channel only when letter_safe is "
                 "true (with a safe_address)");
    }
  }
  if (sc.safe_times().size() > 256) {
    errors.Add("referral.safe_contact.safe_times",
               "must be at most 256 characters");
  } else if (HasControl(sc.safe_times())) {
    errors.Add("referral.safe_contact.safe_times",
               "must not contain control characters");
  }
  if (sc.safe_windows_size() > kMaxSafeWindows) {
    errors.Add("referral.safe_contact.safe_windows",
               absl::StrCat("must have at most ", kMaxSafeWindows, " windows"));
  }
  for (int i = 0; i < sc.safe_windows_size(); ++i) {
    CheckSafeWindow(errors,
                    absl::StrCat("referral.safe_contact.safe_windows[", i, "]"),
                    sc.safe_windows(i));
  }
  if (sc.safe_address().size() > 512) {
    errors.Add("referral.safe_contact.safe_address",
               "must be at most 512 characters");
  } else if (HasControl(sc.safe_address())) {
    errors.Add("referral.safe_contact.safe_address",
               "must not contain control characters");
  } else if (sc.letter_safe() && !HasSafeAddress(sc)) {
    errors.Add("referral.safe_contact.safe_address",
               "is required when letter_safe is true");
  }
  if (sc.never_contact() && (sc.safe_channels_size() > 0 || sc.letter_safe())) {
    errors.Add("referral.safe_contact.never_contact",
               "contradicts safe_channels and letter_safe: never_contact "
               "means no channel is safe");
  }
}

void CheckPersonal(errors::FieldErrors& errors,
                   const v1::VictimPersonalData& pd, absl::Time now) {
  if (pd.full_name().size() > 200) {
    errors.Add("referral.personal.full_name", "must be at most 200 characters");
  } else if (HasControl(pd.full_name())) {
    errors.Add("referral.personal.full_name",
               "must not contain control characters");
  }
  if (!pd.date_of_birth().empty()) {
    std::optional<absl::CivilDay> born = ParseIsoDay(pd.date_of_birth());
    const absl::CivilDay today = absl::ToCivilDay(now, absl::UTCTimeZone());
    if (!born.has_value()) {
      errors.Add("referral.personal.date_of_birth",
                 "must be a calendar date written YYYY-MM-DD");
    } else if (*born > today) {
      errors.Add("referral.personal.date_of_birth",
                 "must not be in the future");
    } else if (*born < absl::CivilDay(1900, 1, 1)) {
      errors.Add("referral.personal.date_of_birth",
                 "must be on or after 1900-01-01");
    }
  }
  if (!pd.phone().empty() && !IsPhone(pd.phone())) {
    errors.Add("referral.personal.phone",
               "must be 7-15 digits, optionally with a leading '+' and spaces");
  }
  if (!pd.email().empty() &&
      (pd.email().find('@') == std::string::npos || pd.email().size() > 254)) {
    errors.Add("referral.personal.email", "is not an email address");
  }
  if (pd.address().size() > 500) {
    errors.Add("referral.personal.address", "must be at most 500 characters");
  } else if (HasControl(pd.address(), "\n")) {
    errors.Add("referral.personal.address",
               "must not contain control characters other than line breaks");
  }
  if (pd.narrative().size() > 20000) {
    errors.Add("referral.personal.narrative",
               "must be at most 20000 characters");
  } else if (HasControl(pd.narrative(), "\n\r\t")) {
    errors.Add("referral.personal.narrative",
               "must not contain control characters other than line breaks "
               "and tabs");
  }
}

}  // namespace

errors::FieldErrors ValidateSubmission(const v1::SubmitReferralRequest& request,
                                       absl::Time now) {
  errors::FieldErrors errors;
  CheckIdempotencyKey(errors, request.idempotency_key());
  if (!request.has_referral()) {
    errors.Add("referral", "is required");
    return errors;
  }
  const v1::Referral& r = request.referral();
  CheckCodes(errors, r);
  CheckHarmTypes(errors, r);
  CheckVictim(errors, r);
  CheckAssessment(errors, r.assessment());
  CheckReporting(errors, r.reporting(), now);
  CheckConsents(errors, r);
  CheckPerpetrator(errors, r.perpetrator());
  CheckSafeContact(errors, r.safe_contact());
  CheckPersonal(errors, r.personal(), now);
  return errors;
}

errors::FieldErrors ValidateGetReferral(const v1::GetReferralRequest& request) {
  errors::FieldErrors errors = ValidateReferralId(request.referral_id());
  if (request.break_glass_reason().size() > 1000) {
    errors.Add("break_glass_reason", "must be at most 1000 characters");
  }
  return errors;
}

errors::FieldErrors ValidateReferralId(const std::string& referral_id) {
  errors::FieldErrors errors;
  if (!IsUuid(referral_id)) {
    errors.Add("referral_id", "must be a referral id (UUID)");
  }
  return errors;
}

errors::FieldErrors ValidateErasure(const v1::EraseVictimRequest& request) {
  errors::FieldErrors errors = ValidateReferralId(request.referral_id());
  if (request.ground() == v1::ERASURE_GROUND_UNSPECIFIED ||
      !v1::ErasureGround_IsValid(request.ground())) {
    errors.Add("ground", "must name the legal ground for erasure");
  }
  const absl::string_view reason = absl::StripAsciiWhitespace(request.reason());
  if (reason.size() < 10 || request.reason().size() > 1000) {
    errors.Add("reason", "must say why, in 10-1000 characters");
  } else if (HasControl(request.reason(), "\n")) {
    errors.Add("reason", "must not contain control characters");
  }
  return errors;
}

v1::ReferralFacts ExtractFacts(const v1::Referral& r) {
  v1::ReferralFacts f;
  f.set_source(r.source());
  f.set_area_code(r.area_code());
  f.set_locality_code(r.locality_code());
  *f.mutable_harm_types() = r.harm_types();
  f.set_victim_age(r.victim().age());
  f.set_language(r.victim().language());
  f.set_interpreter_needed(r.victim().interpreter_needed());
  *f.mutable_cohort_flags() = r.victim().cohort_flags();
  f.set_vulnerable_or_intimidated(r.victim().vulnerable_or_intimidated());
  f.set_persistently_targeted(r.victim().persistently_targeted());
  f.set_children_in_household(r.victim().children_in_household());
  *f.mutable_assessment() = r.assessment();
  f.set_reported_to_police(r.reporting().reported_to_police());
  f.set_has_crime_reference(!r.reporting().crime_reference().empty());
  if (r.reporting().has_report_time()) {
    *f.mutable_report_time() = r.reporting().report_time();
  }
  if (r.reporting().has_offence_time()) {
    *f.mutable_offence_time() = r.reporting().offence_time();
  }
  *f.mutable_consent() = r.consent();
  *f.mutable_perpetrator() = r.perpetrator();
  f.set_referrer_org(r.referrer_org());
  *f.mutable_contact_rules() = ContactRulesOf(r.safe_contact());
  return f;
}

v1::ContactRules ContactRulesOf(const v1::SafeContact& sc) {
  v1::ContactRules rules;
  const bool letter_safe = sc.letter_safe() && HasSafeAddress(sc);
  std::set<int> seen;
  for (int c : sc.safe_channels()) {
    if (!v1::ContactChannel_IsValid(c) ||
        c == v1::CONTACT_CHANNEL_UNSPECIFIED ||
        (c == v1::CONTACT_CHANNEL_LETTER && !letter_safe) ||
        !seen.insert(c).second) {
      continue;
    }
    rules.add_safe_channels(static_cast<v1::ContactChannel>(c));
  }
  if (letter_safe && seen.insert(v1::CONTACT_CHANNEL_LETTER).second) {
    rules.add_safe_channels(v1::CONTACT_CHANNEL_LETTER);
  }
  *rules.mutable_safe_windows() = sc.safe_windows();
  rules.set_voicemail_safe(sc.voicemail_safe());
  rules.set_letter_safe(letter_safe);
  rules.set_never_contact(sc.never_contact());
  rules.set_has_safe_address(HasSafeAddress(sc));
  rules.set_recorded(true);
  return rules;
}

}  // namespace signpost::intake
