// The one place where absl::Status becomes grpc::Status. The domain errors of
// common/errors travel as google.rpc.Status details: field violations as
// BadRequest, rule violations as PreconditionFailure, in the
// grpc-status-details-bin trailer. UNKNOWN is never answered.
#pragma once

#include "absl/status/status.h"
#include "google/rpc/error_details.pb.h"
#include "grpcpp/support/status.h"

namespace signpost::grpcutil {

grpc::Status ToGrpcStatus(const absl::Status& status);

// Client side: the details carried by a failed call, if any.
bool ExtractBadRequest(const grpc::Status& status,
                       google::rpc::BadRequest* out);
bool ExtractPreconditionFailure(const grpc::Status& status,
                                google::rpc::PreconditionFailure* out);

}  // namespace signpost::grpcutil
