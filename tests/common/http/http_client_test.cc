// HttpClient against a real HTTPS server in this process (HttpsReceiver
// with TestPki()'s intake certificate, SAN IP:127.0.0.1): answers come back
// as values, transport failures as UNAVAILABLE, certificates are verified,
// and a signed delivery verifies on the receiving side.
#include "common/http/http_client.h"

#include <atomic>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/crypto/keyring.h"
#include "common/http/webhook_signature.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/https_receiver.h"
#include "tests/support/test_support.h"

namespace signpost::http {
namespace {

using ::signpost::testing::HttpsReceiver;
using ::testing::HasSubstr;
using ::testing::Not;

std::string Pki(const std::string& relative) {
  return absl::StrCat(testing::TestPki(), "/", relative);
}

std::unique_ptr<HttpsReceiver> StartReceiver(HttpsReceiver::Handler handler,
                                             int port = 0) {
  auto receiver = HttpsReceiver::Start(Pki("services/intake.crt"),
                                       Pki("services/intake.key"),
                                       std::move(handler), port);
  EXPECT_TRUE(receiver.ok()) << receiver.status();
  return receiver.ok() ? std::move(*receiver) : nullptr;
}

HttpClient::Options WithCaFile(std::string ca_file) {
  HttpClient::Options options;
  options.ca_file = std::move(ca_file);
  return options;
}

HttpClient::Options WithTimeout(absl::Duration timeout) {
  HttpClient::Options options;
  options.timeout = timeout;
  return options;
}

HttpClientPtr Client(HttpClient::Options options = {}) {
  if (options.ca_file.empty()) options.ca_file = Pki("ca.crt");
  auto client = HttpClient::Create(std::move(options));
  EXPECT_TRUE(client.ok()) << client.status();
  return client.ok() ? std::move(*client) : nullptr;
}

TEST(HttpClientTest, PostsBodyAndHeadersAndReturnsTheStatus) {
  auto receiver =
      StartReceiver([](const HttpsReceiver::Request&) { return 202; });
  ASSERT_NE(receiver, nullptr);
  receiver->SetResponseBody("accepted");
  auto client = Client();
  absl::StatusOr<HttpResponse> response = client->Post(
      receiver->url("/hooks/signpost?token=abc"),
      {{"Content-Type", "application/json"}, {"X-Trace", "t-1"}}, R"({"n":1})");
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 202);
  EXPECT_EQ(response->body, "accepted");
  EXPECT_FALSE(response->body_truncated);

  std::vector<HttpsReceiver::Request> requests = receiver->requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[0].path, "/hooks/signpost?token=abc");
  EXPECT_EQ(requests[0].body, R"({"n":1})");
  EXPECT_EQ(requests[0].headers["content-type"], "application/json");
  EXPECT_EQ(requests[0].headers["x-trace"], "t-1");
  EXPECT_EQ(requests[0].headers["user-agent"], "signpost-webhooks/1");
  EXPECT_FALSE(requests[0].headers.contains("expect"));
}

TEST(HttpClientTest, LargeBodiesArriveWholeAndEmptyBodiesWork) {
  auto receiver =
      StartReceiver([](const HttpsReceiver::Request&) { return 200; });
  ASSERT_NE(receiver, nullptr);
  auto client = Client();
  const std::string large(300 * 1024, 'b');
  ASSERT_EQ(client->Post(receiver->url("/big"), {}, large)->status, 200);
  ASSERT_EQ(client->Post(receiver->url("/empty"), {}, "")->status, 200);
  std::vector<HttpsReceiver::Request> requests = receiver->requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].body, large);
  EXPECT_EQ(requests[1].body, "");
}

TEST(HttpClientTest, ServerErrorIsAValueNotAnError) {
  auto receiver =
      StartReceiver([](const HttpsReceiver::Request&) { return 500; });
  ASSERT_NE(receiver, nullptr);
  absl::StatusOr<HttpResponse> response =
      Client()->Post(receiver->url("/hook"), {}, "{}");
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 500);
}

TEST(HttpClientTest, ResponseBodyIsCapped) {
  auto receiver =
      StartReceiver([](const HttpsReceiver::Request&) { return 200; });
  ASSERT_NE(receiver, nullptr);
  receiver->SetResponseBody(std::string(HttpClient::kMaxResponseBody * 4, 'r'));
  absl::StatusOr<HttpResponse> response =
      Client()->Post(receiver->url("/hook"), {}, "{}");
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body.size(), HttpClient::kMaxResponseBody);
  EXPECT_TRUE(response->body_truncated);
}

TEST(HttpClientTest, StoppedEndpointIsUnavailableAndRestartRecovers) {
  auto receiver =
      StartReceiver([](const HttpsReceiver::Request&) { return 204; });
  ASSERT_NE(receiver, nullptr);
  auto client = Client();
  const std::string url = receiver->url("/hook?token=secret-token");
  ASSERT_EQ(client->Post(url, {}, "1")->status, 204);

  receiver->Stop();
  absl::StatusOr<HttpResponse> refused = client->Post(url, {}, "2");
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(refused.status().message(),
              HasSubstr(absl::StrCat("127.0.0.1:", receiver->port())));
  EXPECT_THAT(refused.status().message(), HasSubstr("curl error 7"));
  EXPECT_THAT(refused.status().message(), Not(HasSubstr("secret-token")));

  const int port = receiver->port();
  ASSERT_TRUE(receiver->Restart().ok());
  EXPECT_EQ(receiver->port(), port);
  EXPECT_EQ(receiver->url("/x"),
            absl::StrCat("https://127.0.0.1:", port, "/x"));
  ASSERT_EQ(client->Post(url, {}, "3")->status, 204);
  EXPECT_EQ(receiver->Restart().code(), absl::StatusCode::kFailedPrecondition);

  std::vector<HttpsReceiver::Request> requests = receiver->requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].body, "1");
  EXPECT_EQ(requests[1].body, "3");
}

TEST(HttpClientTest, ServerFromAnotherCaFailsVerification) {
  // A second development PKI: same names, another CA key.
  testing::TempDir other;
  const std::string pki = other.File("pki");
  ASSERT_EQ(
      std::system(absl::StrCat("'", testing::SourcePath("scripts/dev-pki"),
                               "' '", pki, "' >/dev/null 2>&1")
                      .c_str()),
      0);
  auto receiver =
      StartReceiver([](const HttpsReceiver::Request&) { return 200; });
  ASSERT_NE(receiver, nullptr);
  absl::StatusOr<HttpResponse> response =
      Client(WithCaFile(absl::StrCat(pki, "/ca.crt")))
          ->Post(receiver->url("/hook"), {}, "{}");
  EXPECT_EQ(response.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(response.status().message(), HasSubstr("curl error 60"));
  EXPECT_TRUE(receiver->requests().empty());
}

TEST(HttpClientTest, CertificateNotServingThisHostIsRefused) {
  // An agency certificate names no host (SAN URI only) and is not for
  // serverAuth: signed by the trusted CA, and still refused.
  auto receiver = HttpsReceiver::Start(
      Pki("agencies/police-wmp.crt"), Pki("agencies/police-wmp.key"),
      [](const HttpsReceiver::Request&) { return 200; });
  ASSERT_TRUE(receiver.ok()) << receiver.status();
  absl::StatusOr<HttpResponse> response =
      Client()->Post((*receiver)->url("/hook"), {}, "{}");
  EXPECT_EQ(response.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE((*receiver)->requests().empty());
}

TEST(HttpClientTest, PlainHttpAndBadHeadersAreRefusedBeforeConnecting) {
  auto client = Client();
  for (const char* url : {"http://127.0.0.1:1/hook", "ftp://127.0.0.1/x",
                          "127.0.0.1:1/hook", ""}) {
    EXPECT_EQ(client->Post(url, {}, "{}").status().code(),
              absl::StatusCode::kInvalidArgument)
        << url;
  }
  for (const auto& header : HttpHeaders{
           {"X-Bad", "a\r\nInjected: yes"}, {"Bad Name", "v"}, {"", "v"}}) {
    EXPECT_EQ(client->Post("https://127.0.0.1:1/hook", {header}, "{}")
                  .status()
                  .code(),
              absl::StatusCode::kInvalidArgument)
        << header.first;
  }
}

TEST(HttpClientTest, CreateRefusesBadOptions) {
  EXPECT_EQ(
      HttpClient::Create(WithCaFile("/nonexistent/ca.crt")).status().code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      HttpClient::Create(WithTimeout(absl::ZeroDuration())).status().code(),
      absl::StatusCode::kInvalidArgument);
  HttpClient::Options negative_connect;
  negative_connect.connect_timeout = -absl::Seconds(1);
  EXPECT_EQ(HttpClient::Create(negative_connect).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(HttpClientTest, SlowEndpointTimesOutAsDeadlineExceeded) {
  auto receiver = StartReceiver([](const HttpsReceiver::Request&) {
    absl::SleepFor(absl::Seconds(2));
    return 200;
  });
  ASSERT_NE(receiver, nullptr);
  absl::StatusOr<HttpResponse> response =
      Client(WithTimeout(absl::Milliseconds(500)))
          ->Post(receiver->url("/slow"), {}, "{}");
  EXPECT_EQ(response.status().code(), absl::StatusCode::kDeadlineExceeded)
      << response.status();
}

TEST(HttpClientTest, SignedDeliveryVerifiesOnTheReceivingSide) {
  const std::string key = *crypto::RandomBytes(32);
  const std::string body = R"({"type":"referral.routed","referral_id":"r-1"})";
  std::atomic<int> verified{0};
  auto receiver = StartReceiver([&](const HttpsReceiver::Request& request) {
    auto header = [&](const char* name) {
      auto it = request.headers.find(name);
      return it == request.headers.end() ? std::string() : it->second;
    };
    absl::Status status = VerifyWebhook(
        key, header(kWebhookIdHeader), header(kWebhookTimestampHeader),
        header(kWebhookSignatureHeader), request.body, absl::Now());
    if (!status.ok()) return 401;
    verified.fetch_add(1);
    return 200;
  });
  ASSERT_NE(receiver, nullptr);
  auto client = Client();

  const WebhookHeaders signed_headers =
      MakeWebhookHeaders(key, "msg_1", absl::Now(), body);
  const HttpHeaders headers = {
      {"Content-Type", "application/json"},
      {kWebhookIdHeader, signed_headers.id},
      {kWebhookTimestampHeader, signed_headers.timestamp},
      {kWebhookSignatureHeader, signed_headers.signature}};
  absl::StatusOr<HttpResponse> ok =
      client->Post(receiver->url("/hook"), headers, body);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(verified.load(), 1);

  // The same headers on an altered body are refused by the receiver.
  absl::StatusOr<HttpResponse> tampered = client->Post(
      receiver->url("/hook"), headers, R"({"type":"referral.routed"})");
  ASSERT_TRUE(tampered.ok()) << tampered.status();
  EXPECT_EQ(tampered->status, 401);
  EXPECT_EQ(verified.load(), 1);
}

}  // namespace
}  // namespace signpost::http
