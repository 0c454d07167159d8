#include "services/intake/intake_app.h"

#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/events/envelope.h"
#include "common/status/macros.h"
#include "common/store/outbox.h"
#include "common/time/timestamps.h"
#include "services/intake/idempotency.h"
#include "services/intake/validation.h"

namespace signpost::intake {

absl::StatusOr<SubmitOutcome> IntakeApp::SubmitReferral(
    const std::string& idempotency_key, const v1::Referral& referral,
    absl::Time now, absl::string_view traceparent) {
  const absl::Time received_at = timeutil::TruncateToMillis(now);
  const std::string digest = DigestOf(referral);
  return db_.Write([&](store::Tx& tx) -> absl::StatusOr<SubmitOutcome> {
    ASSIGN_OR_RETURN(std::optional<KeyedReferral> first,
                     store_.FindByIdempotencyKey(tx, idempotency_key));
    if (first.has_value()) {
      RETURN_IF_ERROR(CheckRetry(first->request_digest, digest));
      return SubmitOutcome{first->referral_id, /*duplicate=*/true,
                           first->received_at, EventId()};
    }
    NewReferral row{ReferralId(NewUuid()),  idempotency_key, digest,
                    ExtractFacts(referral), referral,        received_at};
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

absl::StatusOr<ReceivedReferral> IntakeApp::GetReferral(
    const ReferralId& referral_id) {
  ASSIGN_OR_RETURN(
      std::optional<ReceivedReferral> found,
      db_.Read([&](store::Tx& tx) { return store_.Find(tx, referral_id); }));
  if (!found.has_value()) {
    return absl::NotFoundError(
        absl::StrCat("referral ", referral_id.value(), " not found"));
  }
  return std::move(*found);
}

absl::StatusOr<int64_t> IntakeApp::CountReferrals() {
  return db_.Read([&](store::Tx& tx) { return store_.Count(tx); });
}

}  // namespace signpost::intake
