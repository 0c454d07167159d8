// The CLI's shared runtime: the global settings (endpoints, identity, output
// format), one channel per service, how a failed call is reported and which
// exit code it gives, and the one generic helper every RPC subcommand goes
// through (build the request, call the stub, print the whole response). A
// subcommand only names its RPC; the request's flags come from the request
// message by reflection (request_flags.h) and the response is printed by
// reflection (output.h). Not thread-safe: one Cli per process.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "google/protobuf/message.h"
#include "grpcpp/grpcpp.h"
#include "services/cli/output.h"
#include "services/cli/request_flags.h"

namespace signpost::cli {

// Exit codes (also in --help's footer and docs/cli.md).
inline constexpr int kExitOk = 0;
// The command ran and found a problem: an audit break, a service not
// SERVING, a referral not routed in time.
inline constexpr int kExitProblem = 1;
// A usage or configuration error: a bad flag, value or request file.
inline constexpr int kExitUsage = 2;
// The RPC was refused (INVALID_ARGUMENT, NOT_FOUND, PERMISSION_DENIED,
// FAILED_PRECONDITION, ALREADY_EXISTS, ...): retrying the same call will not
// help.
inline constexpr int kExitRefused = 3;
// The RPC failed for now (UNAVAILABLE, DEADLINE_EXCEEDED,
// RESOURCE_EXHAUSTED, ABORTED): it may succeed if retried later.
inline constexpr int kExitTransient = 4;

// The services, in scripts/stack's port order (50051 + index).
enum class Service { kIntake, kTriage, kAdvocacy, kOrders, kNotification };
inline constexpr Service kAllServices[] = {Service::kIntake, Service::kTriage,
                                           Service::kAdvocacy, Service::kOrders,
                                           Service::kNotification};
std::string ServiceName(Service service);

// "PERMISSION_DENIED" for the code.
std::string StatusCodeName(grpc::StatusCode code);
// "PERMISSION_DENIED: message", then the google.rpc.BadRequest field
// violations and PreconditionFailure violations, one per line.
std::string DescribeStatus(const grpc::Status& status);
// kExitRefused or kExitTransient (see above) for a failed call.
int ExitCodeOf(const grpc::Status& status);

class Cli {
 public:
  // Adds the global flags (-o, --as, --pki, --addr, --<service>, --timeout)
  // to `app`.
  void AddGlobalFlags(CLI::App& app);
  // After parsing: resolves the environment defaults and the identity.
  // Returns a usage error (printed by the caller) on a bad setting.
  absl::Status Resolve();

  Format format() const { return format_; }
  const Printer& printer() const { return printer_; }
  std::string Address(Service service) const;
  // The services whose address was given (flag, --addr or variable).
  std::vector<Service> GivenServices() const;
  // A channel of its own to `addr`, presenting the CLI's identity.
  std::shared_ptr<grpc::Channel> Dial(const std::string& addr) const;
  std::shared_ptr<grpc::Channel> Dial(Service service) const {
    return Dial(Address(service));
  }
  // A channel presenting agency `agency`'s certificate when the PKI holds
  // it and --as chose no identity; otherwise Dial(addr).
  std::shared_ptr<grpc::Channel> DialAs(const std::string& addr,
                                        const std::string& agency) const;
  void SetDeadline(grpc::ClientContext* ctx) const;
  void SetDeadline(grpc::ClientContext* ctx, absl::Duration d) const;
  absl::Duration timeout() const { return absl::Seconds(timeout_s_); }

  // Prints "signpost-cli: <what>: <status...>" to stderr; returns its exit
  // code.
  int Fail(const std::string& what, const grpc::Status& status) const;
  // Prints "signpost-cli: <what>: <message>" to stderr; returns `code`.
  int Fail(const std::string& what, const std::string& message, int code) const;

  // The action the parsed subcommand chose; run after parsing.
  std::function<int()> action;

 private:
  std::string output_ = "table";
  Format format_ = Format::kTable;
  Printer printer_{Format::kTable};
  std::string as_, pki_, addr_;
  std::map<Service, std::string> addrs_;
  std::map<Service, bool> given_;
  std::map<Service, CLI::Option*> addr_options_;
  CLI::Option* as_option_ = nullptr;
  CLI::Option* pki_option_ = nullptr;
  CLI::Option* addr_option_ = nullptr;
  double timeout_s_ = 10;
  bool as_given_ = false;
  std::shared_ptr<grpc::ChannelCredentials> credentials_ =
      grpc::InsecureChannelCredentials();
};

// Sets `app`'s callback to choose `run` as the action.
void OnRun(CLI::App* app, Cli& cli, std::function<int()> run);
// "orders get": the subcommand's names below the root.
std::string CommandPath(const CLI::App* app);

// Calls one unary RPC of `service` with `request` and prints the whole
// response; returns the exit code. `Stub` is the generated stub, `method`
// its member for the RPC.
template <typename Stub, typename Request, typename Response>
int CallAndPrint(Cli& cli, const std::string& what,
                 const std::shared_ptr<grpc::Channel>& channel,
                 grpc::Status (Stub::*method)(grpc::ClientContext*,
                                              const Request&, Response*),
                 const Request& request) {
  Stub stub(channel);
  grpc::ClientContext ctx;
  cli.SetDeadline(&ctx);
  Response response;
  grpc::Status status = (stub.*method)(&ctx, request, &response);
  if (!status.ok()) return cli.Fail(what, status);
  cli.printer().Print(response);
  return kExitOk;
}

// Adds subcommand `name` to `parent` for one unary RPC of `service`: flags
// for the request's fields, --request FILE, and an action that calls
// `method` and prints the response.
template <typename Stub, typename Request, typename Response>
CLI::App* AddRpc(CLI::App* parent, Cli& cli, const std::string& name,
                 const std::string& description, Service service,
                 grpc::Status (Stub::*method)(grpc::ClientContext*,
                                              const Request&, Response*),
                 RequestFlags::Options options = {}) {
  CLI::App* sub = parent->add_subcommand(name, description);
  auto request = std::make_shared<Request>();
  auto flags = std::make_shared<RequestFlags>(sub, request.get(), options);
  const std::string what = CommandPath(sub);
  OnRun(sub, cli, [&cli, request, flags, service, method, what]() {
    if (absl::Status bad = flags->Apply(); !bad.ok()) {
      return cli.Fail(what, std::string(bad.message()), kExitUsage);
    }
    return CallAndPrint(cli, what, cli.Dial(service), method, *request);
  });
  return sub;
}

}  // namespace signpost::cli
