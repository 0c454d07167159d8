#include "common/grpc/status.h"

#include <optional>

#include "common/errors/errors.h"
#include "google/rpc/status.pb.h"

namespace signpost::grpcutil {
namespace {

constexpr char kBadRequestUrl[] = "type.googleapis.com/google.rpc.BadRequest";
constexpr char kPreconditionUrl[] =
    "type.googleapis.com/google.rpc.PreconditionFailure";

grpc::StatusCode CodeOf(const absl::Status& status) {
  // Never answer UNKNOWN: an unclassified failure is internal.
  if (status.code() == absl::StatusCode::kUnknown) {
    return grpc::StatusCode::INTERNAL;
  }
  return static_cast<grpc::StatusCode>(status.code());
}

}  // namespace

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  const grpc::StatusCode code = CodeOf(status);
  google::rpc::Status rich;
  rich.set_code(static_cast<int>(code));
  rich.set_message(std::string(status.message()));
  std::vector<errors::FieldViolation> fields =
      errors::FieldViolationsOf(status);
  if (!fields.empty()) {
    google::rpc::BadRequest bad;
    for (const errors::FieldViolation& f : fields) {
      auto* v = bad.add_field_violations();
      v->set_field(f.field);
      v->set_description(f.description);
    }
    auto* any = rich.add_details();
    any->set_type_url(kBadRequestUrl);
    any->set_value(bad.SerializeAsString());
  }
  if (std::optional<errors::RuleViolationDetail> rule =
          errors::RuleViolationOf(status)) {
    google::rpc::PreconditionFailure failure;
    auto* v = failure.add_violations();
    v->set_type(rule->rule_id);
    v->set_subject(rule->subject);
    v->set_description(rule->description);
    auto* any = rich.add_details();
    any->set_type_url(kPreconditionUrl);
    any->set_value(failure.SerializeAsString());
  }
  if (rich.details_size() == 0) {
    return grpc::Status(code, std::string(status.message()));
  }
  return grpc::Status(code, std::string(status.message()),
                      rich.SerializeAsString());
}

namespace {

template <typename T>
bool ExtractDetail(const grpc::Status& status, const char* url, T* out) {
  google::rpc::Status rich;
  if (status.error_details().empty() ||
      !rich.ParseFromString(status.error_details())) {
    return false;
  }
  for (const auto& any : rich.details()) {
    if (any.type_url() == url) return out->ParseFromString(any.value());
  }
  return false;
}

}  // namespace

bool ExtractBadRequest(const grpc::Status& status,
                       google::rpc::BadRequest* out) {
  return ExtractDetail(status, kBadRequestUrl, out);
}

bool ExtractPreconditionFailure(const grpc::Status& status,
                                google::rpc::PreconditionFailure* out) {
  return ExtractDetail(status, kPreconditionUrl, out);
}

}  // namespace signpost::grpcutil
