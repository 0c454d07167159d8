#include "common/grpc/status.h"

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/rpc/status.pb.h"

namespace signpost::grpcutil {
namespace {

constexpr char kBadRequestUrl[] = "type.googleapis.com/google.rpc.BadRequest";
constexpr char kPreconditionUrl[] =
    "type.googleapis.com/google.rpc.PreconditionFailure";

}  // namespace

void FieldErrors::Add(absl::string_view field, absl::string_view description) {
  violations_.emplace_back(std::string(field), std::string(description));
}

absl::Status FieldErrors::ToStatus() const {
  if (violations_.empty()) return absl::OkStatus();
  google::rpc::BadRequest bad;
  std::vector<std::string> parts;
  for (const auto& [field, description] : violations_) {
    auto* v = bad.add_field_violations();
    v->set_field(field);
    v->set_description(description);
    parts.push_back(absl::StrCat(field, ": ", description));
  }
  absl::Status status = absl::InvalidArgumentError(
      absl::StrCat("invalid request: ", absl::StrJoin(parts, "; ")));
  status.SetPayload(kBadRequestUrl, absl::Cord(bad.SerializeAsString()));
  return status;
}

absl::Status RuleViolation(absl::string_view rule_id, absl::string_view subject,
                           absl::string_view description) {
  google::rpc::PreconditionFailure failure;
  auto* v = failure.add_violations();
  v->set_type(std::string(rule_id));
  v->set_subject(std::string(subject));
  v->set_description(std::string(description));
  absl::Status status =
      absl::FailedPreconditionError(absl::StrCat(rule_id, ": ", description));
  status.SetPayload(kPreconditionUrl, absl::Cord(failure.SerializeAsString()));
  return status;
}

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  auto code = static_cast<grpc::StatusCode>(status.code());
  if (status.code() == absl::StatusCode::kUnknown) {
    // Never answer UNKNOWN: an unclassified failure is internal.
    code = grpc::StatusCode::INTERNAL;
  }
  google::rpc::Status rich;
  rich.set_code(static_cast<int>(code));
  rich.set_message(std::string(status.message()));
  status.ForEachPayload([&](absl::string_view url, const absl::Cord& payload) {
    auto* any = rich.add_details();
    any->set_type_url(std::string(url));
    any->set_value(std::string(payload));
  });
  return grpc::Status(code, std::string(status.message()),
                      rich.SerializeAsString());
}

namespace {

template <typename T>
bool ExtractDetail(const grpc::Status& status, absl::string_view url, T* out) {
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
