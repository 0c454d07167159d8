// A referral's timeline and a person's subject access (issue 14, items 3
// and 4), put together from records of the event log alone: pure domain
// code over records already read (audit/log_reader.h reads them), so that
// AuditService and an auditor's offline `signpost-cli audit timeline
// --bootstrap` give the same answer.
//
// Every record's signature is checked first (events::EventVerifier); a
// record that does not verify is counted in `unverified` and never used.
// Dead-letter copies and partner-topic copies are left out (a partner's
// share is told by notification's DeliveryRecorded, for every transport).
//
// Which records belong to a referral R:
//   - every event keyed by R (the Kafka key of every service event);
//   - every access-audit entry whose object is R, or an assignment, order
//     or consideration id, or a linked referral id, that R's events name.
// Which referrals belong to a person P: those whose events carry
// person_id P (ReferralTriaged, VictimErased, ...).
//
// The output holds ids, codes, rule ids, agencies and times only: the
// summary line is built from the payload's top-level enum, number and
// boolean fields and from string fields that are ids or codes (names
// ending _id or _code, and stage, kind, match, legal_basis, refusal_rule);
// the person id is left out. ListAccess leaves out the audit's own reads
// (AuditService calls) and lists a share delivered again once.
#pragma once

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/errors/errors.h"
#include "common/events/signing.h"
#include "common/kafka/kafka.h"
#include "signpost/v1/audit.pb.h"

namespace signpost::audit {

// Every bad field of a request, at once.
errors::FieldErrors CheckTimelineRequest(const v1::GetTimelineRequest& request);
errors::FieldErrors CheckListAccessRequest(
    const v1::ListAccessRequest& request);

// Every event of `referral_id` in causal order: each after its cause, and
// otherwise by occurred_at (then producer and chain position). A re-sent
// copy of an event (the same event id) is counted on the first, not listed.
v1::GetTimelineResponse BuildTimeline(
    const std::vector<kafka::ConsumedMessage>& records,
    const events::EventVerifier& keys, absl::string_view referral_id);

// Every agency that received (a delivered share) or read (an allowed or
// break-glass read that released more than nothing) data of `person_id`'s
// referrals with an event time in [from, to), in time order.
v1::ListAccessResponse BuildAccessList(
    const std::vector<kafka::ConsumedMessage>& records,
    const events::EventVerifier& keys, absl::string_view person_id,
    absl::Time from, absl::Time to);

}  // namespace signpost::audit
