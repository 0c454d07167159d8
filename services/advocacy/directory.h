// Loading and checking the directory file (textproto v1.Directory: providers
// and advocates) for bulk import. Thread-safe (pure).
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "common/grpc/status.h"
#include "signpost/v1/advocacy.pb.h"

namespace signpost::advocacy {

// Every problem at once, as field violations (e.g. "advocates[2].capacity").
grpcutil::FieldErrors ValidateDirectory(const v1::Directory& directory);
// One advocate (for UpsertAdvocate); `prefix` names it in violations.
void ValidateAdvocate(const v1::Advocate& a, const std::string& prefix,
                      grpcutil::FieldErrors& errors);
absl::StatusOr<v1::Directory> LoadDirectory(const std::string& path);

}  // namespace signpost::advocacy
