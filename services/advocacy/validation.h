// Field checks for advocacy's requests: every bad field at once, as field
// violations (INVALID_ARGUMENT via FieldErrors::ToStatus). The directory's
// own checks are in directory.h. Thread-safe (pure).
#pragma once

#include "absl/time/time.h"
#include "common/errors/errors.h"
#include "signpost/v1/advocacy.pb.h"

namespace signpost::advocacy {

// UpsertProvider: the directory's checks, named `provider.<field>`.
errors::FieldErrors ValidateUpsertProvider(
    const v1::UpsertProviderRequest& request);
// ImportDirectory: every bad field, named `directory.<field>`.
errors::FieldErrors ValidateImportDirectory(
    const v1::ImportDirectoryRequest& request);
errors::FieldErrors ValidateGetProvider(const v1::GetProviderRequest& request);
errors::FieldErrors ValidateSetAvailability(
    const v1::SetAvailabilityRequest& request);
errors::FieldErrors ValidateListAdvocates(
    const v1::ListAdvocatesRequest& request);
errors::FieldErrors ValidateGetReferralAssignments(
    const v1::GetReferralAssignmentsRequest& request);
errors::FieldErrors ValidateGetWorklist(const v1::GetWorklistRequest& request);
errors::FieldErrors ValidateAccept(const v1::AcceptAssignmentRequest& request);
errors::FieldErrors ValidateDecline(
    const v1::DeclineAssignmentRequest& request);
// A contact may not be dated more than a few minutes after `now`.
errors::FieldErrors ValidateRecordContact(
    const v1::RecordContactRequest& request, absl::Time now);
errors::FieldErrors ValidateCloseCase(const v1::CloseCaseRequest& request);
errors::FieldErrors ValidateRecordUpdate(const v1::RecordUpdateRequest& request,
                                         absl::Time now);
errors::FieldErrors ValidateCheckCapacity(
    const v1::CheckCapacityRequest& request);

}  // namespace signpost::advocacy
