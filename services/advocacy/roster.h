// Loading and checking the advocate roster file (textproto v1.Roster).
// Thread-safe (pure).
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "signpost/v1/advocacy.pb.h"

namespace signpost::advocacy {

// Every problem at once: duplicate or missing ids, missing role, negative
// capacity, no locality.
absl::Status ValidateRoster(const v1::Roster& roster);
absl::StatusOr<v1::Roster> LoadRoster(const std::string& path);

}  // namespace signpost::advocacy
