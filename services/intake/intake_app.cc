#include "services/intake/intake_app.h"

#include <optional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/crypto/keyring.h"
#include "common/errors/errors.h"
#include "common/events/envelope.h"
#include "common/log/log.h"
#include "common/status/macros.h"
#include "common/store/access_audit.h"
#include "common/store/outbox.h"
#include "common/time/timestamps.h"
#include "services/intake/idempotency.h"
#include "services/intake/validation.h"

namespace signpost::intake {

absl::StatusOr<SubmitOutcome> IntakeApp::SubmitReferral(
    const access::Principal& caller, const std::string& idempotency_key,
    v1::Referral referral, absl::Time now, absl::string_view traceparent) {
  const std::string agency = caller.agency_id().value();
  if (!referral.referrer_org().empty() &&
      absl::AsciiStrToLower(referral.referrer_org()) != agency) {
    return errors::Denied(access::kRuleOwnAgency, referral.referrer_org(),
                          "names another agency: a referral is recorded as "
                          "the calling agency's own");
  }
  referral.set_referrer_org(agency);
  const absl::Time received_at = timeutil::TruncateToMillis(now);
  // Scoped to the caller: one agency's key never finds another's referral.
  const std::string scoped_key = absl::StrCat(agency, "/", idempotency_key);
  return db_.Write([&](store::Tx& tx) -> absl::StatusOr<SubmitOutcome> {
    ASSIGN_OR_RETURN(std::optional<KeyedReferral> first,
                     store_.FindByIdempotencyKey(tx, scoped_key));
    if (first.has_value()) {
      std::string key;  // rows from before encryption: a plain digest
      if (!first->person_id.empty()) {
        ASSIGN_OR_RETURN(key, keys_->Get(tx, first->person_id));
      }
      RETURN_IF_ERROR(
          CheckRetry(first->request_digest, DigestOf(referral, key)));
      return SubmitOutcome{first->referral_id, /*duplicate=*/true,
                           first->received_at, EventId()};
    }
    NewReferral row{ReferralId(NewUuid()),  scoped_key, "",
                    ExtractFacts(referral), referral,   received_at,
                    caller.agency_id(),     NewUuid(),  ""};
    // A person of their own until linking (issue 10) finds them again: a
    // data key of their own seals the whole referral and keys its digest.
    ASSIGN_OR_RETURN(std::string data_key,
                     keys_->GetOrCreate(tx, row.person_id));
    row.request_digest = DigestOf(referral, data_key);
    ASSIGN_OR_RETURN(
        row.sealed_referral,
        crypto::SealField(data_key, row.referral_id.value(),
                          "protected_referral", referral.SerializeAsString()));
    RETURN_IF_ERROR(store_.Insert(tx, row));

    v1::EventEnvelope event =
        events::NewEnvelope("intake", row.referral_id.value());
    *event.mutable_occurred_at() = timeutil::ToTimestamp(received_at);
    *event.mutable_referral_received()->mutable_facts() = std::move(row.facts);
    events::StampType(&event);
    RETURN_IF_ERROR(
        store::AppendToOutbox(tx, event, events::kIntakeTopic, traceparent));
    return SubmitOutcome{row.referral_id, /*duplicate=*/false, received_at,
                         EventId(event.event_id())};
  });
}

absl::StatusOr<ReferralView> IntakeApp::GetReferral(
    const access::Principal& caller, const ReferralId& referral_id,
    absl::string_view break_glass_reason, absl::Time now,
    absl::string_view traceparent) {
  return db_.Write([&](store::Tx& tx) -> absl::StatusOr<ReferralView> {
    ASSIGN_OR_RETURN(std::optional<ReferralAccessFacts> facts,
                     store_.FindAccessFacts(tx, referral_id));
    ASSIGN_OR_RETURN(
        Disclosure disclosure,
        DecideDisclosure(caller, referral_id, facts, break_glass_reason));
    ASSIGN_OR_RETURN(std::optional<StoredReferral> stored,
                     store_.Find(tx, referral_id));
    if (!stored.has_value()) {
      return errors::InvariantViolation(absl::StrCat(
          "referral ", referral_id.value(), " has access facts but no row"));
    }
    const std::string person_id = stored->person_id;
    ASSIGN_OR_RETURN(std::optional<ReceivedReferral> found,
                     OpenReferral(tx, *std::move(stored)));
    ReferralView view;
    view.field_class = disclosure.field_class;
    if (disclosure.field_class == v1::FIELD_CLASS_PERSONAL ||
        disclosure.field_class == v1::FIELD_CLASS_MARAC_SET) {
      v1::AccessAudited record = store::AccessAllowed(
          caller.agency_id().value(), "/signpost.v1.IntakeService/GetReferral",
          referral_id.value(), disclosure.field_class, disclosure.decision,
          disclosure.rule_id);
      if (disclosure.decision == v1::ACCESS_DECISION_BREAK_GLASS) {
        BreakGlassRead read{NewUuid(), caller.agency_id(), referral_id, "",
                            now};
        ASSIGN_OR_RETURN(std::string key, keys_->Get(tx, person_id));
        ASSIGN_OR_RETURN(
            read.sealed_reason,
            crypto::SealField(key, read.access_id, "break_glass_reason",
                              absl::StripAsciiWhitespace(break_glass_reason)));
        RETURN_IF_ERROR(store_.InsertBreakGlass(tx, read));
        record.set_break_glass_id(read.access_id);
      }
      RETURN_IF_ERROR(
          store::AppendAccessAudit(tx, "intake", record, traceparent));
      view.audited = true;
    }
    found->referral = Project(found->referral, disclosure.field_class);
    view.referral = std::move(*found);
    return view;
  });
}

absl::Status IntakeApp::ApplyRoutingEvent(store::Tx& tx,
                                          const v1::EventEnvelope& event) {
  const ReferralId referral_id(event.referral_id());
  switch (event.payload_case()) {
    case v1::EventEnvelope::kReferralTriaged:
      return store_.SetMarac(tx, referral_id, event.referral_triaged().marac());
    case v1::EventEnvelope::kReferralReassessed:
      return store_.SetMarac(tx, referral_id,
                             event.referral_reassessed().decision().marac());
    case v1::EventEnvelope::kAdvocateOffered:
      return store_.PutHold(
          tx, AssignmentId(event.advocate_offered().assignment_id()),
          referral_id, ProviderId(event.advocate_offered().provider_id()));
    case v1::EventEnvelope::kWaitlistAssigned:
      return store_.PutHold(
          tx, AssignmentId(event.waitlist_assigned().assignment_id()),
          referral_id, ProviderId(event.waitlist_assigned().provider_id()));
    case v1::EventEnvelope::kAssignmentAccepted:
      return store_.AcceptHold(
          tx, AssignmentId(event.assignment_accepted().assignment_id()));
    case v1::EventEnvelope::kAssignmentDeclined:
      return store_.EndHold(
          tx, AssignmentId(event.assignment_declined().assignment_id()));
    case v1::EventEnvelope::kOfferExpired:
      return store_.EndHold(
          tx, AssignmentId(event.offer_expired().assignment_id()));
    case v1::EventEnvelope::kCaseClosed:
      return store_.EndHold(tx,
                            AssignmentId(event.case_closed().assignment_id()));
    default:
      return absl::OkStatus();
  }
}

absl::StatusOr<ReceivedReferral> IntakeApp::OpenReferral(
    store::Tx& tx, StoredReferral stored) {
  ReceivedReferral out{stored.referral_id, {}, stored.received_at};
  std::string bytes = std::move(stored.protected_referral);
  if (stored.format == kSealedFormat) {
    ASSIGN_OR_RETURN(std::string key, keys_->Get(tx, stored.person_id));
    ASSIGN_OR_RETURN(bytes, crypto::OpenField(key, stored.referral_id.value(),
                                              "protected_referral", bytes));
  } else if (stored.format != kPlainFormat) {
    return absl::DataLossError(
        absl::StrCat("unknown protected_format '", stored.format, "'"));
  }
  if (!out.referral.ParseFromString(bytes)) {
    return absl::DataLossError("stored referral does not parse");
  }
  return out;
}

absl::StatusOr<int64_t> IntakeApp::CountReferrals() {
  return db_.Read([&](store::Tx& tx) { return store_.Count(tx); });
}

}  // namespace signpost::intake
