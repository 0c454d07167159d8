#include "common/grpc/gate.h"

#include <memory>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/errors/errors.h"
#include "common/grpc/decoding.h"
#include "common/grpc/tls.h"
#include "common/log/log.h"

namespace signpost::grpcutil {

absl::StatusOr<access::Principal> Gate::Admit(
    const grpc::CallbackServerContext& context, absl::string_view method,
    std::string* agency) const {
  absl::StatusOr<Caller> caller = authenticate_(context);
  if (!caller.ok()) return caller.status();
  if (caller->kind == Caller::Kind::kService) {
    *agency = absl::StrCat("service/", caller->id);
    return errors::Denied(access::kRuleServiceCaller, method,
                          "Signpost services do not call each other's APIs");
  }
  *agency = caller->id;
  return authorizer_.Authorize(caller->agency(), method);
}

void Gate::AuditRefusal(absl::string_view agency, absl::string_view method,
                        const absl::Status& status,
                        absl::string_view traceparent) const {
  if (audit_ == nullptr) return;
  v1::AccessAudited record;
  record.set_agency_id(std::string(agency));
  record.set_rpc(std::string(method));
  record.set_field_class(v1::FIELD_CLASS_NONE);
  record.set_decision(v1::ACCESS_DECISION_REFUSED);
  record.set_status_code(absl::StatusCodeToString(status.code()));
  if (std::optional<errors::RuleViolationDetail> rule =
          errors::RuleViolationOf(status)) {
    record.set_rule_id(rule->rule_id);
    // An object-level refusal names the object asked for; a function-level
    // one names the method, already in `rpc`.
    if (rule->subject != method) record.set_object_id(rule->subject);
  } else if (status.code() == absl::StatusCode::kUnauthenticated) {
    record.set_rule_id(access::kRuleUnauthenticated);
  }
  absl::Status recorded = audit_->Record(record, traceparent);
  if (!recorded.ok()) {
    // The refusal stands; the audit gap is logged loudly (no personal data:
    // ids and codes only).
    log::Error("access audit not recorded", {{"rpc", std::string(method)},
                                             {"agency", std::string(agency)},
                                             {"error", recorded.ToString()}});
  }
}

std::string AnsweredCodeName(const absl::Status& status) {
  return status.code() == absl::StatusCode::kUnknown
             ? "INTERNAL"
             : absl::StatusCodeToString(status.code());
}

grpc::ServerUnaryReactor* Gate::Run(grpc::CallbackServerContext* context,
                                    absl::string_view method,
                                    std::string traceparent, Handler handler) {
  // Set by DecodingUnaryHandler on this thread while it sets the call up.
  std::optional<std::string> undecodable = UndecodableRequest();
  const absl::Time start = absl::Now();
  // Known once the call is admitted; empty for a call answered before.
  auto agency = std::make_shared<std::string>();
  std::function<void(const absl::Status&)> done;
  if (observer_) {
    done = [this, start, agency, method = std::string(method),
            traceparent](const absl::Status& status) {
      observer_({method, AnsweredCodeName(status), absl::Now() - start, *agency,
                 traceparent});
    };
  }
  return RunUnary(
      context, executor_,
      [this, context, agency, method = std::string(method),
       handler = std::move(handler), traceparent,
       undecodable = std::move(undecodable)]() -> absl::Status {
        absl::StatusOr<access::Principal> principal =
            Admit(*context, method, agency.get());
        absl::Status status = principal.status();
        if (principal.ok()) {
          // Authenticated and authorised first, so that nobody else
          // learns anything from how bytes are decoded.
          status =
              undecodable.has_value()
                  ? absl::InvalidArgumentError(absl::StrCat(
                        "the request bytes do not decode as ", *undecodable))
                  : handler(*principal);
        }
        if (status.code() == absl::StatusCode::kPermissionDenied ||
            status.code() == absl::StatusCode::kUnauthenticated) {
          AuditRefusal(*agency, method, status, traceparent);
        }
        return status;
      },
      std::move(done));
}

absl::StatusOr<access::Principal> Gate::AdmitStream(
    const grpc::CallbackServerContext& context, absl::string_view method,
    std::string* agency) {
  std::string known;
  absl::StatusOr<access::Principal> principal = Admit(context, method, &known);
  if (!principal.ok()) {
    AuditRefusal(known, method, principal.status(), TraceparentOf(&context));
  }
  if (agency != nullptr) *agency = std::move(known);
  return principal;
}

}  // namespace signpost::grpcutil
