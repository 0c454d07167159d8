// Sends victim notices through the channel gateway (issue 12): one HTTPS
// endpoint per channel (SMS, email, letter), each POST signed like a partner
// webhook (Standard Webhooks headers under the gateway's secret; the
// webhook-id is the notice's message id, stable across retries so the
// gateway can drop a repeat). The body is JSON: {"id", "channel", "to",
// "text"}; `to` is the victim's number or address and goes nowhere else:
// never logged, never in an event.
//
// IntakeApp::NextNotices decides what may be sent now (the victim's
// safe-contact rules); a 2xx answer marks it SENT; anything else is retried
// by NoticeFailed with backoff. RunOnce is the whole loop body, for a
// worker::PeriodicTask. Thread-safe (one RunOnce at a time).
#pragma once

#include <map>
#include <string>

#include "absl/time/time.h"
#include "common/http/http_client.h"
#include "services/intake/intake_app.h"

namespace signpost::intake {

struct NoticeGateway {
  // https:// URL per channel; a channel without one is never used.
  std::map<v1::ContactChannel, std::string> urls;
  // The raw signing key (http::ParseWebhookSecret of a "whsec_" secret).
  std::string secret;
};

class NoticeDispatcher {
 public:
  // `app` and `client` must outlive the dispatcher.
  // `zone`: the zone of the safe windows (IntakeOptions::zone).
  NoticeDispatcher(IntakeApp& app, const http::HttpClient& client,
                   NoticeGateway gateway, absl::TimeZone zone)
      : app_(app), client_(client), gateway_(std::move(gateway)), zone_(zone) {}

  // Sends what is due; returns when the next notice is due.
  absl::Time RunOnce(absl::Time now);

 private:
  IntakeApp& app_;
  const http::HttpClient& client_;
  const NoticeGateway gateway_;
  const absl::TimeZone zone_;
};

}  // namespace signpost::intake
