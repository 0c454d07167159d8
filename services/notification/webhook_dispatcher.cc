#include "services/notification/webhook_dispatcher.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/http/webhook_signature.h"
#include "common/log/log.h"
#include "google/protobuf/util/json_util.h"

namespace signpost::notification {
namespace {

// At most this many sends per agency in one run, so one busy agency does
// not hold up the others; their acceptance is one transaction.
constexpr int kBatch = 32;

}  // namespace

WebhookDispatcher::WebhookDispatcher(NotificationApp& app,
                                     const http::HttpClient& client,
                                     Options options)
    : app_(app), client_(client), options_(options) {
  for (const AgencyPolicy& agency : app_.policy().agencies()) {
    if (agency.webhook.has_value()) {
      breakers_[agency.agency_id] =
          std::make_unique<http::CircuitBreaker>(options_.breaker);
    }
  }
}

const http::CircuitBreaker* WebhookDispatcher::BreakerOf(
    const std::string& agency_id) const {
  auto it = breakers_.find(agency_id);
  return it == breakers_.end() ? nullptr : it->second.get();
}

absl::Time WebhookDispatcher::RunOnce(absl::Time now) {
  absl::Time next = now + absl::Seconds(1);
  for (const AgencyPolicy& agency : app_.policy().agencies()) {
    if (!agency.webhook.has_value()) continue;
    next = std::min(next, RunAgency(agency, now));
  }
  return next;
}

absl::Time WebhookDispatcher::RunAgency(const AgencyPolicy& agency,
                                        absl::Time now) {
  http::CircuitBreaker& breaker = *breakers_.at(agency.agency_id);
  const WebhookTarget& hook = *agency.webhook;
  absl::StatusOr<std::vector<WebhookWork>> heads =
      app_.NextWebhooks(AgencyId(agency.agency_id), kBatch);
  if (!heads.ok()) {
    log::Error("webhook: reading the next deliveries failed",
               {{"agency_id", agency.agency_id},
                {"error", std::string(heads.status().message())}});
    return now + absl::Seconds(1);
  }
  // Accepted deliveries are recorded together (one transaction) before
  // this returns: a crash in between sends them again, with the same ids.
  std::vector<std::string> accepted;
  bool sent = false;
  absl::Time next = absl::InfiniteFuture();
  for (const WebhookWork& work : *heads) {
    const DeliveryRow& row = work.row;
    const absl::Time due = row.next_attempt.value_or(now);
    if (due > now) {  // this referral's head waits for its retry
      next = std::min(next, due);
      continue;
    }
    if (!breaker.Allow(absl::Now())) {
      next = std::min(
          next, now + std::min(options_.breaker.open_for, absl::Seconds(1)));
      break;
    }
    sent = true;
    std::string body;
    google::protobuf::util::JsonPrintOptions json;
    (void)google::protobuf::util::MessageToJsonString(work.event, &body, json);
    // Signed as it is sent: a slow run does not age the timestamp.
    const http::HttpHeaders headers = http::SignedJsonHeaders(
        hook.secret, work.event.id(), absl::Now(), body);
    absl::StatusOr<http::HttpResponse> answer =
        client_.Post(hook.url, headers, body);
    const absl::Time after = absl::Now();
    if (answer.ok() && answer->status >= 200 && answer->status < 300) {
      breaker.RecordSuccess();
      accepted.push_back(row.delivery.delivery_id());
      continue;
    }
    breaker.RecordFailure(after);
    // A request the endpoint refuses as such (4xx, except 408 and 429)
    // will not succeed later: it is dead-lettered at once.
    const bool refused_as_such = answer.ok() && answer->status >= 400 &&
                                 answer->status < 500 &&
                                 answer->status != 408 && answer->status != 429;
    const std::string error = answer.ok()
                                  ? absl::StrCat("HTTP ", answer->status)
                                  : std::string(answer.status().message());
    const int attempts = row.delivery.attempts() + 1;
    const absl::Time first = row.first_attempt.value_or(now);
    const bool give_up = refused_as_such || after - first >= hook.max_retry;
    const absl::Time retry_at =
        after + http::BackoffDelay(attempts, options_.backoff_base,
                                   options_.backoff_cap, gen_);
    log::Warn("webhook: delivery failed",
              {{"agency_id", agency.agency_id},
               {"delivery_id", row.delivery.delivery_id()},
               {"attempts", attempts},
               {"error", error},
               {"dead_lettered", give_up}});
    if (absl::Status s =
            app_.WebhookFailed(row, error, first, retry_at, give_up);
        !s.ok()) {
      log::Error("webhook: recording a failure failed",
                 {{"agency_id", agency.agency_id},
                  {"error", std::string(s.message())}});
      next = std::min(next, after + absl::Seconds(1));
      continue;
    }
    if (!give_up) next = std::min(next, retry_at);
  }
  if (absl::Status s = app_.WebhooksDelivered(accepted); !s.ok()) {
    log::Error(
        "webhook: recording deliveries failed",
        {{"agency_id", agency.agency_id}, {"error", std::string(s.message())}});
    return now + absl::Seconds(1);
  }
  // After sending, each referral's next event may be due: look again now.
  return sent ? now : next;
}

}  // namespace signpost::notification
