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

bool YearsOk(int years) { return years >= kMinYears && years <= kMaxYears; }

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
  if (!YearsOk(policy.default_years_after_closure())) {
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
    if (!YearsOk(area.years_after_closure())) {
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

int RetentionYears(const v1::RetentionPolicy& policy,
                   const std::string& area_code) {
  for (const v1::AreaRetention& area : policy.areas()) {
    if (area.area_code() == area_code) return area.years_after_closure();
  }
  return policy.default_years_after_closure();
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
    const absl::Time at =
        AddYears(*r.closed_at, RetentionYears(policy, r.area_code));
    if (!due.has_value() || at > *due) due = at;
  }
  return due;
}

}  // namespace signpost::intake
