#include "services/advocacy/validation.h"

#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/ids/ids.h"
#include "common/safety/contact_rules.h"
#include "services/advocacy/directory.h"

namespace signpost::advocacy {
namespace {

void CheckUuid(errors::FieldErrors& e, const char* field,
               const std::string& v) {
  if (!IsUuid(v)) e.Add(field, "must be an id (UUID)");
}

void CheckAdvocateId(errors::FieldErrors& e, const std::string& v) {
  if (v.empty() || v.size() > 64) {
    e.Add("advocate_id", "is required (1-64 characters)");
  }
}

// The advocate acting, or none for a provider acting on its own service
// referral.
void CheckActingAdvocateId(errors::FieldErrors& e, const std::string& v) {
  if (v.size() > 64) e.Add("advocate_id", "must be at most 64 characters");
}

// The assignment and the advocate acting on it.
errors::FieldErrors CheckActing(const std::string& assignment_id,
                                const std::string& advocate_id) {
  errors::FieldErrors e;
  CheckUuid(e, "assignment_id", assignment_id);
  CheckActingAdvocateId(e, advocate_id);
  return e;
}

}  // namespace

errors::FieldErrors ValidateUpsertProvider(
    const v1::UpsertProviderRequest& request) {
  // The directory's checks, reported against `provider.` rather than the
  // one-provider directory they run on.
  v1::Directory d;
  *d.add_providers() = request.provider();
  const errors::FieldErrors directory = ValidateDirectory(d);
  errors::FieldErrors e;
  for (const errors::FieldViolation& v : directory.violations()) {
    std::string field = v.field;
    absl::string_view rest = field;
    if (absl::ConsumePrefix(&rest, "providers[0]")) {
      field = absl::StrCat("provider", rest);
    }
    e.Add(field, v.description);
  }
  return e;
}

errors::FieldErrors ValidateImportDirectory(
    const v1::ImportDirectoryRequest& request) {
  const errors::FieldErrors directory = ValidateDirectory(request.directory());
  errors::FieldErrors e;
  for (const errors::FieldViolation& v : directory.violations()) {
    e.Add(absl::StrCat("directory.", v.field), v.description);
  }
  return e;
}

errors::FieldErrors ValidateGetProvider(const v1::GetProviderRequest& request) {
  errors::FieldErrors e;
  if (request.provider_id().empty()) e.Add("provider_id", "is required");
  return e;
}

errors::FieldErrors ValidateSetAvailability(
    const v1::SetAvailabilityRequest& request) {
  errors::FieldErrors e;
  CheckAdvocateId(e, request.advocate_id());
  const v1::Availability& av = request.availability();
  if (av.has_available_from() && av.has_available_to() &&
      av.available_from().seconds() > av.available_to().seconds()) {
    e.Add("availability", "available_from is after available_to");
  }
  return e;
}

errors::FieldErrors ValidateListAdvocates(
    const v1::ListAdvocatesRequest& request) {
  errors::FieldErrors e;
  if (!v1::AdvocateRole_IsValid(request.role())) e.Add("role", "unknown role");
  return e;
}

errors::FieldErrors ValidateGetReferralAssignments(
    const v1::GetReferralAssignmentsRequest& request) {
  errors::FieldErrors e;
  CheckUuid(e, "referral_id", request.referral_id());
  return e;
}

errors::FieldErrors ValidateGetWorklist(const v1::GetWorklistRequest& request) {
  errors::FieldErrors e;
  if (request.advocate_id().empty() == request.provider_id().empty()) {
    e.Add("advocate_id", "give exactly one of advocate_id and provider_id");
  } else if (request.advocate_id().size() > 64) {
    e.Add("advocate_id", "must be at most 64 characters");
  } else if (request.provider_id().size() > 64) {
    e.Add("provider_id", "must be at most 64 characters");
  }
  return e;
}

errors::FieldErrors ValidateAccept(const v1::AcceptAssignmentRequest& request) {
  return CheckActing(request.assignment_id(), request.advocate_id());
}

errors::FieldErrors ValidateDecline(
    const v1::DeclineAssignmentRequest& request) {
  errors::FieldErrors e =
      CheckActing(request.assignment_id(), request.advocate_id());
  if (!v1::DeclineReason_IsValid(request.reason()) ||
      request.reason() == v1::DECLINE_REASON_UNSPECIFIED) {
    e.Add("reason", "is required (a DeclineReason)");
  }
  if (request.note().size() > 2000) {
    e.Add("note", "must be at most 2000 characters");
  }
  return e;
}

errors::FieldErrors ValidateRecordContact(
    const v1::RecordContactRequest& request, absl::Time now) {
  errors::FieldErrors e =
      CheckActing(request.assignment_id(), request.advocate_id());
  if (!v1::ContactOutcome_IsValid(request.outcome()) ||
      request.outcome() == v1::CONTACT_OUTCOME_UNSPECIFIED) {
    e.Add("outcome", "is required (SUCCESSFUL, UNSAFE or NO_ANSWER)");
  }
  if (!v1::ContactChannel_IsValid(request.channel()) ||
      request.channel() == v1::CONTACT_CHANNEL_UNSPECIFIED) {
    e.Add("channel", "is required");
  }
  if (request.has_at() &&
      absl::FromUnixSeconds(request.at().seconds()) > now + absl::Minutes(5)) {
    e.Add("at", "must not be in the future");
  }
  if (request.voicemail_left() &&
      request.channel() != v1::CONTACT_CHANNEL_PHONE) {
    e.Add("voicemail_left", "is only for the PHONE channel");
  }
  const std::string& reason = request.override_reason();
  if (!reason.empty()) {
    if (absl::StripAsciiWhitespace(reason).size() <
        safety::kMinOverrideReason) {
      e.Add("override_reason",
            absl::StrCat("must say why, in at least ",
                         safety::kMinOverrideReason, " characters"));
    } else if (reason.size() > 1000) {
      e.Add("override_reason", "must be at most 1000 characters");
    }
  }
  if (request.has_baseline()) {
    if (request.outcome() != v1::CONTACT_OUTCOME_SUCCESSFUL) {
      e.Add("baseline", "is taken only at a successful contact");
    }
    const v1::OutcomeBaseline& b = request.baseline();
    for (const auto& [field, value] :
         {std::pair<const char*, int>{"baseline.feels_safe", b.feels_safe()},
          {"baseline.copes", b.copes()},
          {"baseline.informed", b.informed()}}) {
      if (!v1::OutcomeAnswer_IsValid(value) ||
          value == v1::OUTCOME_ANSWER_UNSPECIFIED) {
        e.Add(field, "is required (YES, NO or NOT_ASKED)");
      }
    }
  }
  return e;
}

errors::FieldErrors ValidateRecordUpdate(const v1::RecordUpdateRequest& request,
                                         absl::Time now) {
  errors::FieldErrors e =
      CheckActing(request.assignment_id(), request.advocate_id());
  if (request.advocate_id().empty()) e.Add("advocate_id", "is required");
  if (!v1::UpdateKind_IsValid(request.kind()) ||
      request.kind() == v1::UPDATE_KIND_UNSPECIFIED) {
    e.Add("kind",
          "is required (ARREST, INTERVIEW, RELEASE, BAIL, CHARGE, "
          "NO_FURTHER_ACTION, COURT or PROGRESS)");
  }
  if (request.has_at() &&
      absl::FromUnixSeconds(request.at().seconds()) > now + absl::Minutes(5)) {
    e.Add("at", "must not be in the future");
  }
  return e;
}

errors::FieldErrors ValidateCloseCase(const v1::CloseCaseRequest& request) {
  errors::FieldErrors e =
      CheckActing(request.assignment_id(), request.advocate_id());
  if (!v1::ClosureReason_IsValid(request.closure_reason()) ||
      request.closure_reason() == v1::CLOSURE_REASON_UNSPECIFIED) {
    e.Add("closure_reason", "is required");
  }
  for (const auto& [field, value] :
       {std::pair<const char*, int>{"feels_safer", request.feels_safer()},
        {"copes_better", request.copes_better()},
        {"better_informed", request.better_informed()}}) {
    if (!v1::OutcomeAnswer_IsValid(value) ||
        value == v1::OUTCOME_ANSWER_UNSPECIFIED) {
      e.Add(field, "is required (YES, NO or NOT_ASKED)");
    }
  }
  return e;
}

errors::FieldErrors ValidateCheckCapacity(
    const v1::CheckCapacityRequest& request) {
  errors::FieldErrors e;
  if (!v1::Pathway_IsValid(request.pathway()) ||
      request.pathway() == v1::PATHWAY_UNSPECIFIED) {
    e.Add("pathway", "is required");
  }
  if (request.locality_code().empty()) e.Add("locality_code", "is required");
  return e;
}

}  // namespace signpost::advocacy
