#include "tests/support/https_receiver.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace signpost::testing {
namespace {

constexpr size_t kMaxHeaderBytes = 64 * 1024;
constexpr size_t kMaxBodyBytes = 8 * 1024 * 1024;
// A client that stalls mid-request is dropped after this long.
constexpr int kIoTimeoutSeconds = 5;

std::string OpenSslError() {
  const unsigned long code = ERR_get_error();
  if (code == 0) return "no OpenSSL error queued";
  char text[256];
  ERR_error_string_n(code, text, sizeof(text));
  ERR_clear_error();
  return text;
}

absl::string_view Reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 410:
      return "Gone";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    default:
      return "Status";
  }
}

bool WriteAll(SSL* ssl, absl::string_view data) {
  while (!data.empty()) {
    size_t written = 0;
    if (SSL_write_ex(ssl, data.data(), data.size(), &written) != 1) {
      return false;
    }
    data.remove_prefix(written);
  }
  return true;
}

// Parses "METHOD PATH HTTP/1.x" and the header lines; false if malformed.
bool ParseHead(absl::string_view head, HttpsReceiver::Request* request) {
  std::vector<absl::string_view> lines = absl::StrSplit(head, "\r\n");
  if (lines.empty()) return false;
  std::vector<absl::string_view> start = absl::StrSplit(lines[0], ' ');
  if (start.size() != 3 || !absl::StartsWith(start[2], "HTTP/1.")) {
    return false;
  }
  request->method = std::string(start[0]);
  request->path = std::string(start[1]);
  for (size_t i = 1; i < lines.size(); ++i) {
    const size_t colon = lines[i].find(':');
    if (colon == absl::string_view::npos || colon == 0) return false;
    request->headers[absl::AsciiStrToLower(lines[i].substr(0, colon))] =
        std::string(absl::StripAsciiWhitespace(lines[i].substr(colon + 1)));
  }
  return true;
}

}  // namespace

void HttpsReceiver::SslCtxDeleter::operator()(SSL_CTX* ctx) const {
  SSL_CTX_free(ctx);
}

absl::StatusOr<std::unique_ptr<HttpsReceiver>> HttpsReceiver::Start(
    const std::string& cert_file, const std::string& key_file, Handler handler,
    int port) {
  signal(SIGPIPE, SIG_IGN);
  std::unique_ptr<SSL_CTX, SslCtxDeleter> ctx(SSL_CTX_new(TLS_server_method()));
  if (ctx == nullptr) {
    return absl::InternalError(absl::StrCat("SSL_CTX_new: ", OpenSslError()));
  }
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), cert_file.c_str()) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("certificate ", cert_file, ": ", OpenSslError()));
  }
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), key_file.c_str(),
                                  SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(ctx.get()) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("private key ", key_file, ": ", OpenSslError()));
  }
  std::unique_ptr<HttpsReceiver> receiver(
      new HttpsReceiver(std::move(ctx), std::move(handler)));
  if (absl::Status listening = receiver->Listen(port); !listening.ok()) {
    return listening;
  }
  return receiver;
}

HttpsReceiver::~HttpsReceiver() { Stop(); }

std::string HttpsReceiver::url(absl::string_view path) const {
  return absl::StrCat("https://127.0.0.1:", port_, path);
}

absl::Status HttpsReceiver::Listen(int port) {
  absl::MutexLock lock(&control_mu_);
  if (listen_fd_ >= 0) {
    return absl::FailedPreconditionError("the receiver is already listening");
  }
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return absl::UnavailableError(absl::StrCat("socket: ", strerror(errno)));
  }
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<uint16_t>(port));
  socklen_t length = sizeof(address);
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      listen(fd, 16) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    const std::string error = strerror(errno);
    close(fd);
    return absl::UnavailableError(
        absl::StrCat("listening on 127.0.0.1:", port, ": ", error));
  }
  if (pipe2(wake_pipe_, O_CLOEXEC) != 0) {
    const std::string error = strerror(errno);
    close(fd);
    return absl::UnavailableError(absl::StrCat("pipe: ", error));
  }
  listen_fd_ = fd;
  port_ = ntohs(address.sin_port);
  thread_ = std::thread([this, fd, wake = wake_pipe_[0]] { Serve(fd, wake); });
  return absl::OkStatus();
}

void HttpsReceiver::Stop() {
  absl::MutexLock lock(&control_mu_);
  if (listen_fd_ < 0) return;
  const char byte = 0;
  (void)!write(wake_pipe_[1], &byte, 1);
  thread_.join();
  close(listen_fd_);
  close(wake_pipe_[0]);
  close(wake_pipe_[1]);
  listen_fd_ = -1;
  wake_pipe_[0] = wake_pipe_[1] = -1;
}

absl::Status HttpsReceiver::Restart() { return Listen(port_); }

void HttpsReceiver::SetResponseBody(std::string body) {
  absl::MutexLock lock(&mu_);
  response_body_ = std::move(body);
}

std::vector<HttpsReceiver::Request> HttpsReceiver::requests() const {
  absl::MutexLock lock(&mu_);
  return requests_;
}

void HttpsReceiver::Serve(int listen_fd, int wake_fd) {
  while (true) {
    pollfd fds[2] = {{listen_fd, POLLIN, 0}, {wake_fd, POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0) return;
    if ((fds[0].revents & POLLIN) == 0) continue;
    const int fd = accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    ServeConnection(fd);
    close(fd);
  }
}

void HttpsReceiver::ServeConnection(int fd) {
  const timeval timeout{kIoTimeoutSeconds, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(ctx_.get()), &SSL_free);
  if (ssl == nullptr || SSL_set_fd(ssl.get(), fd) != 1 ||
      SSL_accept(ssl.get()) != 1) {
    ERR_clear_error();  // e.g. a client that does not trust our certificate
    return;
  }

  // The head, up to the blank line; the body may start in the same read.
  std::string data;
  size_t head_end = std::string::npos;
  char buffer[16 * 1024];
  while (head_end == std::string::npos) {
    if (data.size() > kMaxHeaderBytes) return;
    size_t n = 0;
    if (SSL_read_ex(ssl.get(), buffer, sizeof(buffer), &n) != 1) {
      ERR_clear_error();
      return;
    }
    data.append(buffer, n);
    head_end = data.find("\r\n\r\n");
  }
  Request request;
  int status = 400;
  size_t content_length = 0;
  const bool parsed =
      ParseHead(absl::string_view(data).substr(0, head_end), &request);
  const auto length = request.headers.find("content-length");
  const bool has_length = parsed &&
                          !request.headers.contains("transfer-encoding") &&
                          (length == request.headers.end() ||
                           (absl::SimpleAtoi(length->second, &content_length) &&
                            content_length <= kMaxBodyBytes));
  if (has_length) {
    request.body = data.substr(head_end + 4);
    while (request.body.size() < content_length) {
      size_t n = 0;
      if (SSL_read_ex(ssl.get(), buffer, sizeof(buffer), &n) != 1) {
        ERR_clear_error();
        return;
      }
      request.body.append(buffer, n);
    }
    request.body.resize(content_length);
    {
      absl::MutexLock lock(&mu_);
      requests_.push_back(request);
    }
    status = handler_(request);
  }

  std::string body;
  {
    absl::MutexLock lock(&mu_);
    body = response_body_;
  }
  const std::string answer = absl::StrCat(
      "HTTP/1.1 ", status, " ", Reason(status),
      "\r\nContent-Type: text/plain\r\nContent-Length: ", body.size(),
      "\r\nConnection: close\r\n\r\n", body);
  if (WriteAll(ssl.get(), answer)) SSL_shutdown(ssl.get());
  ERR_clear_error();
}

}  // namespace signpost::testing
