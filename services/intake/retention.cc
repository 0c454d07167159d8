#include "services/intake/retention.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/config/textproto.h"
#include "common/errors/errors.h"
#include "common/status/macros.h"

namespace signpost::intake {
namespace {

constexpr int kMinYears = 1;
constexpr int kMaxYears = 100;
constexpr int kMaxDays = 36500;

bool YearsOk(int years) { return years >= kMinYears && years <= kMaxYears; }
bool DaysOk(int days) { return days >= 0 && days <= kMaxDays; }

absl::Time AddYears(absl::Time t, int years) {
  const absl::CivilSecond c = absl::ToCivilSecond(t, absl::UTCTimeZone());
  // 29 February plus a year not a leap year normalises to 1 March.
  return absl::FromCivil(absl::CivilSecond(c.year() + years, c.month(), c.day(),
                                           c.hour(), c.minute(), c.second()),
                         absl::UTCTimeZone());
}

}  // namespace

absl::Status ValidateRetentionPolicy(const v1::RetentionPolicy& policy) {
  errors::FieldErrors errors;
  if (policy.version().empty()) errors.Add("version", "is required");
  const std::string range =
      absl::StrCat("must be ", kMinYears, "-", kMaxYears, " years");
  const std::string day_range = absl::StrCat("must be 0-", kMaxDays, " days");
  if (policy.has_default_days_after_closure()) {
    if (!DaysOk(policy.default_days_after_closure())) {
      errors.Add("default_days_after_closure", day_range);
    }
    if (policy.default_years_after_closure() != 0) {
      errors.Add("default_years_after_closure", "give years or days, not both");
    }
  } else if (!YearsOk(policy.default_years_after_closure())) {
    errors.Add("default_years_after_closure", range);
  }
  std::set<std::string> seen;
  for (int i = 0; i < policy.areas_size(); ++i) {
    const v1::AreaRetention& area = policy.areas(i);
    const std::string field = absl::StrCat("areas[", i, "]");
    if (area.area_code().empty()) {
      errors.Add(field + ".area_code", "is required");
    } else if (!seen.insert(area.area_code()).second) {
      errors.Add(field + ".area_code", "is listed twice");
    }
    if (area.has_days_after_closure()) {
      if (!DaysOk(area.days_after_closure())) {
        errors.Add(field + ".days_after_closure", day_range);
      }
      if (area.years_after_closure() != 0) {
        errors.Add(field + ".years_after_closure",
                   "give years or days, not both");
      }
    } else if (!YearsOk(area.years_after_closure())) {
      errors.Add(field + ".years_after_closure", range);
    }
  }
  return errors.ToStatus();
}

absl::StatusOr<v1::RetentionPolicy> LoadRetentionPolicy(
    const std::string& path) {
  v1::RetentionPolicy policy;
  RETURN_IF_ERROR(config::LoadTextProto(path, &policy));
  if (absl::Status valid = ValidateRetentionPolicy(policy); !valid.ok()) {
    std::vector<std::string> problems;
    for (const errors::FieldViolation& v : errors::FieldViolationsOf(valid)) {
      problems.push_back(absl::StrCat(v.field, " ", v.description));
    }
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": ", absl::StrJoin(problems, "; ")));
  }
  return policy;
}

absl::Time RetentionEnd(const v1::RetentionPolicy& policy,
                        const std::string& area_code, absl::Time closed_at) {
  for (const v1::AreaRetention& area : policy.areas()) {
    if (area.area_code() != area_code) continue;
    if (area.has_days_after_closure()) {
      return closed_at + absl::Hours(24) * area.days_after_closure();
    }
    return AddYears(closed_at, area.years_after_closure());
  }
  if (policy.has_default_days_after_closure()) {
    return closed_at + absl::Hours(24) * policy.default_days_after_closure();
  }
  return AddYears(closed_at, policy.default_years_after_closure());
}

std::optional<absl::Time> RetentionDue(
    const v1::RetentionPolicy& policy,
    const std::vector<PersonReferral>& referrals) {
  std::optional<absl::Time> due;
  for (const PersonReferral& r : referrals) {
    if (r.lifecycle == v1::REFERRAL_LIFECYCLE_LINKED ||
        r.lifecycle == v1::REFERRAL_LIFECYCLE_ERASED) {
      continue;
    }
    if (!r.closed_at.has_value()) return std::nullopt;
    const absl::Time at = RetentionEnd(policy, r.area_code, *r.closed_at);
    if (!due.has_value() || at > *due) due = at;
  }
  return due;
}

}  // namespace signpost::intake
