#include "common/grpc/tls.h"

#include <unistd.h>

#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/access/registry.h"
#include "common/status/macros.h"
#include "grpc/grpc_security_constants.h"
#include "grpcpp/security/auth_context.h"
#include "grpcpp/security/tls_certificate_provider.h"
#include "grpcpp/security/tls_credentials_options.h"

namespace signpost::grpcutil {
namespace {

constexpr absl::string_view kAgencyPrefix = "spiffe://signpost/agency/";
constexpr absl::string_view kServicePrefix = "spiffe://signpost/service/";

std::shared_ptr<grpc::experimental::CertificateProviderInterface> Provider(
    const TlsFiles& files, absl::Duration refresh) {
  return std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
      files.key_file, files.cert_file, files.ca_file,
      static_cast<unsigned int>(
          std::max<int64_t>(1, absl::ToInt64Seconds(refresh))));
}

}  // namespace

absl::Status CheckTlsFiles(const TlsFiles& files) {
  for (const auto& [name, path] : {std::pair<const char*, const std::string*>{
                                       "certificate", &files.cert_file},
                                   {"private key", &files.key_file},
                                   {"CA bundle", &files.ca_file}}) {
    if (path->empty()) {
      return absl::InvalidArgumentError(absl::StrCat("no ", name, " file"));
    }
    if (::access(path->c_str(), R_OK) != 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot read the ", name, " file ", *path));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>>
MutualTlsServerCredentials(const TlsFiles& files, absl::Duration refresh) {
  RETURN_IF_ERROR(CheckTlsFiles(files));
  grpc::experimental::TlsServerCredentialsOptions options(
      Provider(files, refresh));
  options.watch_root_certs();
  options.watch_identity_key_cert_pairs();
  options.set_cert_request_type(
      GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  std::shared_ptr<grpc::ServerCredentials> credentials =
      grpc::experimental::TlsServerCredentials(options);
  if (credentials == nullptr) {
    return absl::InvalidArgumentError("cannot make TLS server credentials");
  }
  return credentials;
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>>
MutualTlsChannelCredentials(const TlsFiles& files, absl::Duration refresh) {
  RETURN_IF_ERROR(CheckTlsFiles(files));
  grpc::experimental::TlsChannelCredentialsOptions options;
  options.set_certificate_provider(Provider(files, refresh));
  options.watch_root_certs();
  options.watch_identity_key_cert_pairs();
  std::shared_ptr<grpc::ChannelCredentials> credentials =
      grpc::experimental::TlsCredentials(options);
  if (credentials == nullptr) {
    return absl::InvalidArgumentError("cannot make TLS channel credentials");
  }
  return credentials;
}

absl::StatusOr<Caller> ParseSpiffeId(absl::string_view uri) {
  Caller caller;
  absl::string_view id;
  if (absl::StartsWith(uri, kAgencyPrefix)) {
    caller.kind = Caller::Kind::kAgency;
    id = uri.substr(kAgencyPrefix.size());
  } else if (absl::StartsWith(uri, kServicePrefix)) {
    caller.kind = Caller::Kind::kService;
    id = uri.substr(kServicePrefix.size());
  } else {
    return absl::InvalidArgumentError("not a Signpost identity");
  }
  if (!access::IsAgencyId(id)) {
    return absl::InvalidArgumentError("malformed Signpost identity");
  }
  caller.id = std::string(id);
  return caller;
}

absl::StatusOr<Caller> CallerOf(const grpc::ServerContextBase& context) {
  std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  if (auth == nullptr || !auth->IsPeerAuthenticated()) {
    return absl::UnauthenticatedError(
        "a client certificate issued to your agency is required");
  }
  for (const grpc::string_ref& uri :
       auth->FindPropertyValues(GRPC_PEER_URI_PROPERTY_NAME)) {
    absl::StatusOr<Caller> caller =
        ParseSpiffeId(absl::string_view(uri.data(), uri.size()));
    if (caller.ok()) return caller;
  }
  return absl::UnauthenticatedError(
      "the client certificate carries no Signpost identity (SAN URI "
      "spiffe://signpost/agency/<id>)");
}

bool IsLoopbackAddress(absl::string_view host_port) {
  absl::string_view host = host_port;
  if (absl::StartsWith(host, "[")) {
    host = host.substr(1, host.find(']') - 1);
  } else if (size_t colon = host.rfind(':'); colon != absl::string_view::npos) {
    host = host.substr(0, colon);
  }
  if (host == "localhost" || host == "::1") return true;
  std::vector<absl::string_view> octets = absl::StrSplit(host, '.');
  return octets.size() == 4 && octets[0] == "127";
}

}  // namespace signpost::grpcutil
