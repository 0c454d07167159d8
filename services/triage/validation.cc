#include "services/triage/validation.h"

#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/ids/ids.h"

namespace signpost::triage {
namespace {

void CheckReferralId(errors::FieldErrors& errors, const std::string& id) {
  if (!IsUuid(id)) errors.Add("referral_id", "must be a referral id (UUID)");
}

void CheckPractitioner(errors::FieldErrors& errors, const std::string& id) {
  bool ok = !id.empty() && id.size() <= 64;
  for (char c : id) {
    ok &= absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' ||
          c == '_' || c == '.';
  }
  if (!ok) {
    errors.Add("practitioner_id",
               "is required: 1-64 of A-Z, a-z, 0-9, '-', '_', '.'");
  }
}

void CheckAssessment(errors::FieldErrors& errors, const v1::Assessment& a) {
  if (a.dash_answers_size() != 0 && a.dash_answers_size() != 24) {
    errors.Add("assessment.dash_answers",
               "must have exactly 24 answers (or none)");
  }
  if (a.sdash_answers_size() != 0 && a.sdash_answers_size() != 11) {
    errors.Add("assessment.sdash_answers",
               "must have exactly 11 answers (or none)");
  }
  for (int i = 0; i < a.pj_flags_size(); ++i) {
    if (!v1::ProfessionalJudgementFlag_IsValid(a.pj_flags(i)) ||
        a.pj_flags(i) == v1::PROFESSIONAL_JUDGEMENT_FLAG_UNSPECIFIED) {
      errors.Add(absl::StrCat("assessment.pj_flags[", i, "]"),
                 "unknown professional-judgement flag");
    }
  }
  if (a.incidents_last_12_months() < 0 || a.incidents_last_12_months() > 1000) {
    errors.Add("assessment.incidents_last_12_months",
               "must be between 0 and 1000");
  }
}

}  // namespace

errors::FieldErrors ValidateGetDecision(const v1::GetDecisionRequest& r) {
  errors::FieldErrors errors;
  CheckReferralId(errors, r.referral_id());
  return errors;
}

errors::FieldErrors ValidateReassess(const v1::ReassessRequest& r,
                                     absl::Time now) {
  errors::FieldErrors errors;
  CheckReferralId(errors, r.referral_id());
  CheckPractitioner(errors, r.practitioner_id());
  if (!r.has_assessment()) {
    errors.Add("assessment", "is required");
  } else {
    CheckAssessment(errors, r.assessment());
  }
  if (r.has_new_incident_time() &&
      absl::FromUnixSeconds(r.new_incident_time().seconds()) >
          now + absl::Minutes(5)) {
    errors.Add("new_incident_time", "must not be in the future");
  }
  return errors;
}

errors::FieldErrors ValidateOverride(const v1::OverrideRiskRequest& r) {
  errors::FieldErrors errors;
  CheckReferralId(errors, r.referral_id());
  CheckPractitioner(errors, r.practitioner_id());
  if (!v1::RiskLevel_IsValid(r.risk()) ||
      r.risk() == v1::RISK_LEVEL_UNSPECIFIED) {
    errors.Add("risk", "is required: STANDARD, MEDIUM or HIGH");
  }
  if (r.reason().empty() || r.reason().size() > 2000) {
    errors.Add("reason", "is required (at most 2000 characters)");
  }
  return errors;
}

errors::FieldErrors ValidateListMaracAgenda(
    const v1::ListMaracAgendaRequest& r) {
  errors::FieldErrors errors;
  if (r.area_code().empty() || r.area_code().size() > 32) {
    errors.Add("area_code", "is required (1-32 characters)");
  }
  return errors;
}

}  // namespace signpost::triage
