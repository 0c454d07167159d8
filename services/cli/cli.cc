#include "services/cli/cli.h"

#include <cstdio>
#include <cstdlib>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/grpc/status.h"
#include "common/grpc/tls.h"

namespace signpost::cli {
namespace {

// Environment variables of the global flags; a flag that disagrees with its
// variable is refused, naming both.
constexpr char kAsVar[] = "SIGNPOST_AS";
constexpr char kPkiVar[] = "SIGNPOST_PKI_DIR";

std::string AddrVar(Service service) {
  return absl::StrCat("SIGNPOST_", absl::AsciiStrToUpper(ServiceName(service)),
                      "_ADDR");
}

int DefaultPort(Service service) { return 50051 + static_cast<int>(service); }

// The flag's value when given, else the variable's; a usage error when both
// are given and differ.
absl::Status Settle(const CLI::Option* option, const std::string& var,
                    std::string* value, bool* given) {
  const char* env = std::getenv(var.c_str());
  const bool flag = option != nullptr && option->count() > 0;
  if (flag && env != nullptr && *env != '\0' && *value != env) {
    return absl::InvalidArgumentError(absl::StrCat(option->get_name(), "=",
                                                   *value, " and ", var, "=",
                                                   env, " disagree; give one"));
  }
  if (!flag && env != nullptr && *env != '\0') *value = env;
  *given = flag || (env != nullptr && *env != '\0');
  return absl::OkStatus();
}

grpcutil::TlsFiles AgencyFiles(const std::string& pki,
                               const std::string& agency) {
  return {absl::StrCat(pki, "/agencies/", agency, ".crt"),
          absl::StrCat(pki, "/agencies/", agency, ".key"),
          absl::StrCat(pki, "/ca.crt")};
}

std::shared_ptr<grpc::Channel> Channel(
    const std::string& addr,
    const std::shared_ptr<grpc::ChannelCredentials>& credentials) {
  // A channel of its own, so that each presents its own certificate.
  grpc::ChannelArguments args;
  args.SetInt("grpc.use_local_subchannel_pool", 1);
  return grpc::CreateCustomChannel(addr, credentials, args);
}

}  // namespace

std::string ServiceName(Service service) {
  switch (service) {
    case Service::kIntake:
      return "intake";
    case Service::kTriage:
      return "triage";
    case Service::kAdvocacy:
      return "advocacy";
    case Service::kOrders:
      return "orders";
    case Service::kNotification:
      return "notification";
  }
  return "";
}

std::string StatusCodeName(grpc::StatusCode code) {
  // gRPC's codes are the canonical codes, which absl names.
  std::string name =
      absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
  return name.empty() ? absl::StrCat("CODE_", static_cast<int>(code)) : name;
}

std::string DescribeStatus(const grpc::Status& status) {
  std::string out = absl::StrCat(StatusCodeName(status.error_code()), ": ",
                                 status.error_message());
  google::rpc::BadRequest bad;
  if (grpcutil::ExtractBadRequest(status, &bad)) {
    for (const auto& v : bad.field_violations()) {
      absl::StrAppend(&out, "\n  ", v.field(), ": ", v.description());
    }
  }
  google::rpc::PreconditionFailure failure;
  if (grpcutil::ExtractPreconditionFailure(status, &failure)) {
    for (const auto& v : failure.violations()) {
      absl::StrAppend(&out, "\n  ", v.type(), " ", v.subject(), ": ",
                      v.description());
    }
  }
  return out;
}

int ExitCodeOf(const grpc::Status& status) {
  switch (status.error_code()) {
    case grpc::StatusCode::OK:
      return kExitOk;
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
    case grpc::StatusCode::ABORTED:
      return kExitTransient;
    default:
      return kExitRefused;
  }
}

void Cli::AddGlobalFlags(CLI::App& app) {
  app.add_option("-o,--output", output_, "output format")
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();
  as_option_ = app.add_option(
      "--as", as_,
      "call as this agency: PKI/agencies/AGENCY.{crt,key} (SIGNPOST_AS; "
      "default signpost-operator)");
  pki_option_ = app.add_option(
      "--pki", pki_,
      "the PKI directory, for mutual TLS (SIGNPOST_PKI_DIR); without it, "
      "plaintext");
  for (Service s : kAllServices) {
    addrs_[s] = absl::StrCat("127.0.0.1:", DefaultPort(s));
    addr_options_[s] = app.add_option(
        "--" + ServiceName(s), addrs_[s],
        absl::StrCat(ServiceName(s), "'s gRPC address (", AddrVar(s), ")"));
    addr_options_[s]->capture_default_str();
  }
  addr_option_ = app.add_option(
      "--addr", addr_,
      "one address for every service (overrides the per-service ones)");
  app.add_option("--timeout", timeout_s_, "each call's deadline, in seconds")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
}

absl::Status Cli::Resolve() {
  format_ = output_ == "json" ? Format::kJson : Format::kTable;
  printer_ = Printer(format_);
  bool pki_given = false;
  if (absl::Status s = Settle(as_option_, kAsVar, &as_, &as_given_); !s.ok()) {
    return s;
  }
  if (absl::Status s = Settle(pki_option_, kPkiVar, &pki_, &pki_given);
      !s.ok()) {
    return s;
  }
  for (Service svc : kAllServices) {
    if (absl::Status s = Settle(addr_options_[svc], AddrVar(svc), &addrs_[svc],
                                &given_[svc]);
        !s.ok()) {
      return s;
    }
    if (addr_option_->count() > 0) {
      addrs_[svc] = addr_;
      given_[svc] = true;
    }
  }
  if (pki_.empty()) {
    if (as_given_) {
      return absl::InvalidArgumentError(
          absl::StrCat("--as needs --pki DIR (or ", kPkiVar,
                       ") holding agencies/", as_, ".crt"));
    }
    return absl::OkStatus();  // development plaintext
  }
  const std::string agency = as_given_ ? as_ : "signpost-operator";
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
      grpcutil::MutualTlsChannelCredentials(AgencyFiles(pki_, agency));
  if (!credentials.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--as ", agency, ": ", std::string(credentials.status().message())));
  }
  credentials_ = *credentials;
  return absl::OkStatus();
}

std::string Cli::Address(Service service) const { return addrs_.at(service); }

std::vector<Service> Cli::GivenServices() const {
  std::vector<Service> out;
  for (Service s : kAllServices) {
    if (given_.count(s) > 0 && given_.at(s)) out.push_back(s);
  }
  return out;
}

std::shared_ptr<grpc::Channel> Cli::Dial(const std::string& addr) const {
  return Channel(addr, credentials_);
}

std::shared_ptr<grpc::Channel> Cli::DialAs(const std::string& addr,
                                           const std::string& agency) const {
  const std::string lower = absl::AsciiStrToLower(agency);
  if (pki_.empty() || as_given_ || lower.empty()) return Dial(addr);
  const grpcutil::TlsFiles files = AgencyFiles(pki_, lower);
  if (!grpcutil::CheckTlsFiles(files).ok()) return Dial(addr);
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
      grpcutil::MutualTlsChannelCredentials(files);
  if (!credentials.ok()) return Dial(addr);
  return Channel(addr, *credentials);
}

void Cli::SetDeadline(grpc::ClientContext* ctx) const {
  SetDeadline(ctx, timeout());
}

void Cli::SetDeadline(grpc::ClientContext* ctx, absl::Duration d) const {
  ctx->set_deadline(absl::ToChronoTime(absl::Now() + d));
}

int Cli::Fail(const std::string& what, const grpc::Status& status) const {
  return Fail(what, DescribeStatus(status), ExitCodeOf(status));
}

int Cli::Fail(const std::string& what, const std::string& message,
              int code) const {
  std::fprintf(stderr, "signpost-cli: %s: %s\n", what.c_str(), message.c_str());
  return code;
}

std::string CommandPath(const CLI::App* app) {
  std::string path;
  for (; app != nullptr && app->get_parent() != nullptr;
       app = app->get_parent()) {
    path = path.empty() ? app->get_name() : app->get_name() + " " + path;
  }
  return path;
}

void OnRun(CLI::App* app, Cli& cli, std::function<int()> run) {
  app->callback([app, &cli, run = std::move(run)] {
    // A parent's callback also runs when one of its subcommands was chosen:
    // the subcommand's action stands.
    if (!app->get_subcommands().empty()) return;
    cli.action = run;
  });
}

}  // namespace signpost::cli
