#include "common/http/http_client.h"

#include <curl/curl.h>
#include <unistd.h>

#include <algorithm>
#include <mutex>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace signpost::http {
namespace {

CURLcode GlobalInit() {
  static std::once_flag once;
  static CURLcode result = CURLE_OK;
  std::call_once(once, [] { result = curl_global_init(CURL_GLOBAL_DEFAULT); });
  return result;
}

// Owns an easy handle and its header list.
struct EasyDeleter {
  void operator()(CURL* curl) const { curl_easy_cleanup(curl); }
};
struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using EasyPtr = std::unique_ptr<CURL, EasyDeleter>;
using SlistPtr = std::unique_ptr<curl_slist, SlistDeleter>;

struct Sink {
  std::string* body;
  bool truncated = false;
};

size_t WriteBody(char* data, size_t size, size_t count, void* user) {
  auto* sink = static_cast<Sink*>(user);
  const size_t n = size * count;
  const size_t room = HttpClient::kMaxResponseBody - sink->body->size();
  if (n > room) {
    sink->body->append(data, room);
    sink->truncated = true;
    return 0;  // stops the transfer (CURLE_WRITE_ERROR)
  }
  sink->body->append(data, n);
  return n;
}

// "host[:port]" of a URL, for messages: no scheme, credentials, path or
// query.
std::string HostOf(absl::string_view url) {
  size_t start = url.find("://");
  start = start == absl::string_view::npos ? 0 : start + 3;
  absl::string_view authority = url.substr(start);
  authority = authority.substr(0, authority.find_first_of("/?#"));
  const size_t at = authority.rfind('@');
  if (at != absl::string_view::npos) authority.remove_prefix(at + 1);
  return std::string(authority);
}

bool HasControl(absl::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char c) {
    return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
  });
}

// RFC 9110 token characters.
bool IsToken(absl::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (absl::ascii_isalnum(static_cast<unsigned char>(c))) continue;
    if (absl::string_view("!#$%&'*+-.^_`|~").find(c) ==
        absl::string_view::npos) {
      return false;
    }
  }
  return true;
}

absl::Status TransportError(CURLcode code, absl::string_view host,
                            const char* detail) {
  const std::string text =
      absl::StrCat("POST to ", host,
                   " failed: ", *detail ? detail : curl_easy_strerror(code),
                   " (curl error ", static_cast<int>(code), ")");
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
      return absl::DeadlineExceededError(text);
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
      return absl::InvalidArgumentError(text);
    default:
      return absl::UnavailableError(text);
  }
}

long Millis(absl::Duration d) {
  return static_cast<long>(std::max<int64_t>(1, absl::ToInt64Milliseconds(d)));
}

}  // namespace

absl::StatusOr<std::unique_ptr<HttpClient>> HttpClient::Create(
    Options options) {
  if (options.connect_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("connect_timeout must be positive");
  }
  if (options.timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("timeout must be positive");
  }
  if (HasControl(options.user_agent)) {
    return absl::InvalidArgumentError("user_agent holds a control character");
  }
  if (!options.ca_file.empty() && access(options.ca_file.c_str(), R_OK) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("ca_file ", options.ca_file, " is not readable"));
  }
  if (const CURLcode rc = GlobalInit(); rc != CURLE_OK) {
    return absl::InternalError(
        absl::StrCat("libcurl did not initialise: ", curl_easy_strerror(rc)));
  }
  return std::unique_ptr<HttpClient>(new HttpClient(std::move(options)));
}

absl::StatusOr<HttpResponse> HttpClient::Post(const std::string& url,
                                              const HttpHeaders& headers,
                                              absl::string_view body) const {
  const std::string host = HostOf(url);
  const bool https = absl::StartsWithIgnoreCase(url, "https://");
  const bool plain = absl::StartsWithIgnoreCase(url, "http://");
  if (!https && !(plain && options_.allow_plain_http)) {
    return absl::InvalidArgumentError(
        absl::StrCat("POST to ", host, ": the URL must be https://"));
  }
  if (HasControl(url)) {
    return absl::InvalidArgumentError(
        absl::StrCat("POST to ", host, ": the URL holds a control character"));
  }

  SlistPtr header_list;
  auto add_header = [&](const std::string& line) {
    curl_slist* next = curl_slist_append(header_list.get(), line.c_str());
    if (next == nullptr) return false;
    (void)header_list.release();  // now owned by `next`
    header_list.reset(next);
    return true;
  };
  for (const auto& [name, value] : headers) {
    if (!IsToken(name) || HasControl(value)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "POST to ", host, ": header \"", absl::CEscape(name),
          "\" has a bad name or a control character in its value"));
    }
    if (!add_header(absl::StrCat(name, ": ", value))) {
      return absl::ResourceExhaustedError("out of memory for headers");
    }
  }
  // No "Expect: 100-continue" round trip before larger bodies.
  if (!add_header("Expect:")) {
    return absl::ResourceExhaustedError("out of memory for headers");
  }

  EasyPtr curl(curl_easy_init());
  if (curl == nullptr) {
    return absl::ResourceExhaustedError("curl_easy_init failed");
  }
  CURL* c = curl.get();
  char error[CURL_ERROR_SIZE] = {0};
  HttpResponse response;
  Sink sink{&response.body};

  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR,
                   options_.allow_plain_http ? "http,https" : "https");
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(c, CURLOPT_SSLVERSION, CURL_SSLVERSION_TLSv1_2);
  if (!options_.ca_file.empty()) {
    curl_easy_setopt(c, CURLOPT_CAINFO, options_.ca_file.c_str());
  }
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                   Millis(options_.connect_timeout));
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, Millis(options_.timeout));
  curl_easy_setopt(c, CURLOPT_USERAGENT, options_.user_agent.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, header_list.get());
  curl_easy_setopt(c, CURLOPT_POST, 1L);
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
                   static_cast<curl_off_t>(body.size()));
  // Never NULL: with CURLOPT_POST a NULL body means "read it from stdin".
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.empty() ? "" : body.data());
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &WriteBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);

  const CURLcode rc = curl_easy_perform(c);
  if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && sink.truncated)) {
    return TransportError(rc, host, error);
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &response.status);
  response.body_truncated = sink.truncated;
  return response;
}

}  // namespace signpost::http
