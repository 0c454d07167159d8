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
namespace {

// A sealed value's associated data: the row's id and the column, so that a
// ciphertext moved to another row or column does not open.
std::string SealedAad(absl::string_view row_id, absl::string_view column) {
  return absl::StrCat(row_id, "/", column);
}

}  // namespace

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
        ASSIGN_OR_RETURN(key, DataKey(tx, first->person_id));
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
    ASSIGN_OR_RETURN(auto data_key, keys_->NewDataKey(row.person_id));
    row.request_digest = DigestOf(referral, data_key.first);
    RETURN_IF_ERROR(store_.InsertDataKey(tx, row.person_id, data_key.second));
    ASSIGN_OR_RETURN(
        row.sealed_referral,
        crypto::Seal(data_key.first, referral.SerializeAsString(),
                     SealedAad(row.referral_id.value(), "protected_referral")));
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
        ASSIGN_OR_RETURN(std::string key, DataKey(tx, person_id));
        ASSIGN_OR_RETURN(
            read.sealed_reason,
            crypto::Seal(key, absl::StripAsciiWhitespace(break_glass_reason),
                         SealedAad(read.access_id, "break_glass_reason")));
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

absl::StatusOr<std::string> IntakeApp::DataKey(store::Tx& tx,
                                               absl::string_view person_id) {
  ASSIGN_OR_RETURN(std::optional<crypto::WrappedKey> wrapped,
                   store_.FindDataKey(tx, person_id));
  absl::StatusOr<std::string> key =
      wrapped.has_value()
          ? keys_->Unwrap(*wrapped, person_id)
          : absl::DataLossError("the person's data key is gone");
  if (!key.ok()) {
    // The detail (key ids, the key file) is for the operator's log, not
    // for the calling agency.
    log::Error("data key not opened", {{"error", key.status().ToString()}});
    return absl::InternalError("stored personal data could not be opened");
  }
  return key;
}

absl::StatusOr<ReceivedReferral> IntakeApp::OpenReferral(
    store::Tx& tx, StoredReferral stored) {
  ReceivedReferral out{stored.referral_id, {}, stored.received_at};
  std::string bytes = std::move(stored.protected_referral);
  if (stored.format == kSealedFormat) {
    ASSIGN_OR_RETURN(std::string key, DataKey(tx, stored.person_id));
    ASSIGN_OR_RETURN(bytes, crypto::Open(key, bytes,
                                         SealedAad(stored.referral_id.value(),
                                                   "protected_referral")));
  } else if (stored.format != kPlainFormat) {
    return absl::DataLossError(
        absl::StrCat("unknown protected_format '", stored.format, "'"));
  }
  if (!out.referral.ParseFromString(bytes)) {
    return absl::DataLossError("stored referral does not parse");
  }
  return out;
}

absl::Status IntakeApp::CheckKeys() {
  return db_.Read([&](store::Tx& tx) -> absl::Status {
    ASSIGN_OR_RETURN(auto keys, store_.ListDataKeys(tx));
    // Every data key, not one per key id: a key id reused for another key
    // would otherwise pass (milliseconds even for many thousands).
    for (const auto& [person_id, wrapped] : keys) {
      RETURN_IF_ERROR(keys_->Unwrap(wrapped, person_id).status());
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<int> IntakeApp::RotateKeys() {
  return db_.Write([&](store::Tx& tx) -> absl::StatusOr<int> {
    ASSIGN_OR_RETURN(auto keys, store_.ListDataKeys(tx));
    int rewrapped = 0;
    for (const auto& [person_id, wrapped] : keys) {
      if (wrapped.kek_id == keys_->active_id()) continue;
      ASSIGN_OR_RETURN(crypto::WrappedKey fresh,
                       keys_->Rewrap(wrapped, person_id));
      RETURN_IF_ERROR(store_.ReplaceDataKey(tx, person_id, fresh));
      ++rewrapped;
    }
    return rewrapped;
  });
}

absl::StatusOr<int64_t> IntakeApp::CountReferrals() {
  return db_.Read([&](store::Tx& tx) { return store_.Count(tx); });
}

}  // namespace signpost::intake
