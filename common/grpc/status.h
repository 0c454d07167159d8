// The one place where absl::Status becomes grpc::Status. Field violations and
// precondition failures travel as google.rpc.Status details (BadRequest,
// PreconditionFailure) in the grpc-status-details-bin trailer.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/rpc/error_details.pb.h"
#include "grpcpp/support/status.h"

namespace signpost::grpcutil {

// Collects every bad field of a request before answering once.
class FieldErrors {
 public:
  void Add(absl::string_view field, absl::string_view description);
  bool empty() const { return violations_.empty(); }
  size_t size() const { return violations_.size(); }
  const std::vector<std::pair<std::string, std::string>>& violations() const {
    return violations_;
  }
  // INVALID_ARGUMENT listing every field, with a BadRequest payload.
  absl::Status ToStatus() const;

 private:
  std::vector<std::pair<std::string, std::string>> violations_;
};

// FAILED_PRECONDITION naming the rule that refused a transition.
absl::Status RuleViolation(absl::string_view rule_id, absl::string_view subject,
                           absl::string_view description);

grpc::Status ToGrpcStatus(const absl::Status& status);

// Client side: the BadRequest carried by a failed call, if any.
bool ExtractBadRequest(const grpc::Status& status,
                       google::rpc::BadRequest* out);
bool ExtractPreconditionFailure(const grpc::Status& status,
                                google::rpc::PreconditionFailure* out);

}  // namespace signpost::grpcutil
