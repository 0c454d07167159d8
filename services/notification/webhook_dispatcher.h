// Sends each agency's webhook deliveries (issue 11): an HTTPS POST of the
// partner event's JSON mapping with the Standard Webhooks headers
// (webhook-id: the partner event id; a signature under the endpoint's
// secret). Order is kept per referral: only the first pending delivery of
// each referral (its head) is sent, so one failing event holds back its own
// referral's later events, not other referrals'. A run sends up to 32 due
// heads one after another; a 2xx answer accepts one, and those accepted in
// a run are recorded in one transaction (a crash before it sends them
// again, with the same ids). A 4xx answer other than 408 and 429 is
// dead-lettered at once; anything else (another status, a transport error)
// is retried after an exponential backoff with full jitter, until the
// policy's maximum from when the delivery was queued, when it is
// dead-lettered (ReplayDeliveries sends it again). Before each run, pending
// deliveries shared on consent whose referral no longer has it are refused
// (SHARE-CONSENT-LAPSED). Each endpoint has a circuit breaker: while it is
// open nothing is sent there.
//
// RunOnce is the whole loop body, for a worker::PeriodicTask. Thread-safe
// (one RunOnce at a time: it is called from one task).
#pragma once

#include <map>
#include <memory>
#include <string>

#include "absl/random/random.h"
#include "absl/time/time.h"
#include "common/http/http_client.h"
#include "common/http/retry.h"
#include "services/notification/notification_app.h"

namespace signpost::notification {

class WebhookDispatcher {
 public:
  struct Options {
    absl::Duration backoff_base = absl::Seconds(1);
    absl::Duration backoff_cap = absl::Minutes(15);
    http::CircuitBreaker::Options breaker;
  };

  // `app` and `client` must outlive the dispatcher.
  WebhookDispatcher(NotificationApp& app, const http::HttpClient& client,
                    Options options);

  // Sends what is due for every webhook agency; returns when it next wants
  // to run (the earliest retry or breaker trial), at most a second ahead.
  absl::Time RunOnce(absl::Time now);

  // The breaker of `agency_id`'s endpoint (nullptr for an agency without
  // webhooks).
  const http::CircuitBreaker* BreakerOf(const std::string& agency_id) const;

 private:
  // Sends the agency's due heads; returns when the agency next has work.
  absl::Time RunAgency(const AgencyPolicy& agency, absl::Time now);

  NotificationApp& app_;
  const http::HttpClient& client_;
  const Options options_;
  std::map<std::string, std::unique_ptr<http::CircuitBreaker>> breakers_;
  absl::BitGen gen_;
};

}  // namespace signpost::notification
