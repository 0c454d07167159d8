// Mutual TLS for Signpost's gRPC servers and clients, and the caller's
// identity from its verified certificate.
//
// Certificates and keys are read by gRPC's file-watching provider, which
// re-reads them every `refresh` interval: rotating a certificate needs no
// restart. A server requires and verifies a client certificate. Identity is
// the verified certificate's SAN URI, never a header or a request field:
//   spiffe://signpost/agency/<agency-id>    a partner agency (or operator)
//   spiffe://signpost/service/<service>     a Signpost service
// Thread-safe (credentials are immutable once made).
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/ids/ids.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_context.h"

namespace signpost::grpcutil {

struct TlsFiles {
  std::string cert_file;  // this side's certificate chain (PEM)
  std::string key_file;   // its private key (PEM)
  std::string ca_file;    // the CA bundle that peers' certificates chain to
};

// Checks that the three files exist and are readable; errors name the file.
absl::Status CheckTlsFiles(const TlsFiles& files);

// Server credentials that require and verify a client certificate.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>>
MutualTlsServerCredentials(const TlsFiles& files,
                           absl::Duration refresh = absl::Minutes(1));

// Client credentials presenting `files`' certificate and verifying the
// server's against `files.ca_file` (and its name against the target host).
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>>
MutualTlsChannelCredentials(const TlsFiles& files,
                            absl::Duration refresh = absl::Minutes(1));

// The authenticated caller of a call.
struct Caller {
  enum class Kind { kAgency, kService };
  Kind kind = Kind::kAgency;
  std::string id;  // agency id or service name
  AgencyId agency() const { return AgencyId(id); }
};

// Parses a Signpost SPIFFE id (see above); INVALID_ARGUMENT otherwise.
absl::StatusOr<Caller> ParseSpiffeId(absl::string_view uri);

// The caller, from the certificate the TLS handshake verified.
// UNAUTHENTICATED when the call is not over mutual TLS or the certificate
// carries no Signpost identity.
absl::StatusOr<Caller> CallerOf(const grpc::ServerContextBase& context);

// True for a loopback listen address: 127.0.0.0/8, [::1] or localhost.
bool IsLoopbackAddress(absl::string_view host_port);

}  // namespace signpost::grpcutil
