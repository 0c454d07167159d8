// An HTTPS client for outbound calls to partner endpoints (webhook
// deliveries), over libcurl. Deliberately narrow: POST only, TLS with the
// peer's certificate and host name always verified, redirects never
// followed (a partner cannot bounce a signed delivery elsewhere), and the
// response body read up to a cap.
//
// Errors are values, split at the boundary into retryable and not:
//   UNAVAILABLE        transport failed (refused, DNS, TLS handshake or
//                      certificate verification, connection reset); retry
//   DEADLINE_EXCEEDED  connect or overall timeout; retry
//   INVALID_ARGUMENT   a URL that is not https:// (or http:// when allowed),
//                      a header with CR/LF in it; do not retry
// Any HTTP answer, 500 included, is a successful HttpResponse: the caller
// decides what a status means. Messages name the host and curl's error
// text, never the path or query (they may carry a partner's token).
//
// curl.h stays out of this header. Thread-safe: Post() uses a fresh curl
// easy handle per call (no connection reuse: deliveries are infrequent and
// a fresh handshake each time keeps the calls independent), so any number
// of threads may call it at once.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace signpost::http {

struct HttpResponse {
  long status = 0;
  std::string body;  // at most HttpClient::kMaxResponseBody bytes
  bool body_truncated = false;
};

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

class HttpClient {
 public:
  // Larger answers are cut here; a webhook's answer is only logged.
  static constexpr size_t kMaxResponseBody = 64 * 1024;

  struct Options {
    // PEM bundle of the CAs to trust; empty means the system's CAs.
    std::string ca_file;
    absl::Duration connect_timeout = absl::Seconds(5);
    // For the whole call, connection included.
    absl::Duration timeout = absl::Seconds(10);
    std::string user_agent = "signpost-webhooks/1";
    // Allows http:// URLs (tests against a plaintext server only).
    bool allow_plain_http = false;
  };

  // Checks the options (timeouts positive, ca_file readable) and
  // initialises libcurl once per process. INVALID_ARGUMENT naming the bad
  // option; INTERNAL if libcurl does not initialise.
  static absl::StatusOr<std::unique_ptr<HttpClient>> Create(Options options);

  // POSTs `body` to `url` with `headers` (a Content-Type among them is the
  // caller's business). Returns the status and (capped) body of the answer.
  absl::StatusOr<HttpResponse> Post(const std::string& url,
                                    const HttpHeaders& headers,
                                    absl::string_view body) const;

  const Options& options() const { return options_; }

 private:
  explicit HttpClient(Options options) : options_(std::move(options)) {}

  const Options options_;
};

using HttpClientPtr = std::unique_ptr<HttpClient>;

}  // namespace signpost::http
