// The gate every RPC passes through, in this order:
//   1. authentication: the agency of the verified client certificate
//      (tls.h); none is UNAUTHENTICATED (AUTHZ-UNAUTHENTICATED), a Signpost
//      service identity is refused (AUTHZ-SERVICE-CALLER: services talk
//      over Kafka, not to each other's APIs);
//   2. the function rule for the method (access::Authorizer): an
//      unregistered agency or a role the table does not list is
//      PERMISSION_DENIED;
//   3. the handler, on the executor, with the caller's Principal, for the
//      application layer's object and property rules.
// Every refusal (UNAUTHENTICATED or PERMISSION_DENIED, from any step) is
// written to the access audit with its rule id and no personal data.
// Thread-safe.
#pragma once

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/access/authz.h"
#include "common/grpc/executor.h"
#include "common/grpc/tls.h"
#include "common/store/access_audit.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/server_callback.h"

namespace signpost::grpcutil {

// The status code's name as ToGrpcStatus answers it (never UNKNOWN), for
// metrics and access logs.
std::string AnsweredCodeName(const absl::Status& status);

class Gate {
 public:
  using Handler = std::function<absl::Status(const access::Principal&)>;
  // Who is calling. Binaries always use CallerOf (the verified certificate);
  // a benchmark may fix the identity to measure plaintext transport.
  using Authenticate =
      std::function<absl::StatusOr<Caller>(const grpc::ServerContextBase&)>;

  // None is owned; all must outlive the gate. `audit` may be null (no audit
  // trail: low-level tests only).
  Gate(Executor& executor, const access::Authorizer& authorizer,
       store::AccessAuditLog* audit, Authenticate authenticate = CallerOf)
      : executor_(executor),
        authorizer_(authorizer),
        audit_(audit),
        authenticate_(std::move(authenticate)) {}

  // Runs `handler` for an authenticated, function-authorised caller of
  // `method` (its gRPC path, "/signpost.v1.IntakeService/GetReferral") and
  // finishes the call's default reactor with its status.
  grpc::ServerUnaryReactor* Run(grpc::CallbackServerContext* context,
                                absl::string_view method, Handler handler) {
    return Run(context, method, TraceparentOf(context), std::move(handler));
  }
  // As above, with the call's traceparent already read (TraceparentOf), so
  // that the refusal audit and the handler share one trace.
  grpc::ServerUnaryReactor* Run(grpc::CallbackServerContext* context,
                                absl::string_view method,
                                std::string traceparent, Handler handler);

  Executor& executor() { return executor_; }

  // One finished unary call, for metrics and the access log: its method
  // path, status code name ("OK", "PERMISSION_DENIED"; never "UNKNOWN"),
  // latency from the gate to the answer, calling agency ("" when none was
  // authenticated) and traceparent. No request or response content.
  struct Finished {
    absl::string_view method;
    absl::string_view code;
    absl::Duration latency;
    absl::string_view agency;
    absl::string_view traceparent;
  };
  using Observer = std::function<void(const Finished&)>;
  // Told of every unary call as it is answered, including those answered
  // without running (cancelled or past their deadline while queued, or
  // arriving at shutdown): on the executor, or on gRPC's thread when the
  // executor has stopped. Set before serving.
  void SetObserver(Observer observer) { observer_ = std::move(observer); }
  // For a streaming call, which runs its own reactor: tells the observer
  // how the stream ended.
  void ObserveStream(const Finished& finished) const {
    if (observer_) observer_(finished);
  }

  // Steps 1 and 2 for a streaming call, which runs its own reactor: the
  // caller's Principal, or the refusal (already audited). Blocks on the
  // registry only (no I/O).
  // `agency` (optional) is set to the caller's identity when it is known,
  // refused or not, for the access line.
  absl::StatusOr<access::Principal> AdmitStream(
      const grpc::CallbackServerContext& context, absl::string_view method,
      std::string* agency = nullptr);

 private:
  absl::StatusOr<access::Principal> Admit(
      const grpc::CallbackServerContext& context, absl::string_view method,
      std::string* agency) const;
  void AuditRefusal(absl::string_view agency, absl::string_view method,
                    const absl::Status& status,
                    absl::string_view traceparent) const;

  Executor& executor_;
  const access::Authorizer& authorizer_;
  store::AccessAuditLog* audit_;
  Authenticate authenticate_;
  Observer observer_;
};

// The shape every mutating RPC shares: admit the caller through `gate`,
// check every field (`validate` returns FieldErrors), call the application
// with the caller and the call's traceparent (`call(principal, traceparent)`
// returns absl::StatusOr<Response>), wake the outbox relay (`notify`), and
// answer.
template <typename Response, typename Validate, typename Call>
grpc::ServerUnaryReactor* RunMutation(grpc::CallbackServerContext* context,
                                      Gate& gate, absl::string_view method,
                                      std::function<void()> notify,
                                      Response* response, Validate validate,
                                      Call call) {
  std::string traceparent = TraceparentOf(context);
  return gate.Run(context, method, traceparent,
                  [=](const access::Principal& caller) -> absl::Status {
                    errors::FieldErrors errors = validate();
                    if (!errors.empty()) return errors.ToStatus();
                    auto result = call(caller, traceparent);
                    if (!result.ok()) return result.status();
                    notify();
                    *response = std::move(*result);
                    return absl::OkStatus();
                  });
}

}  // namespace signpost::grpcutil
