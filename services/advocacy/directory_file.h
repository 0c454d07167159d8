// The directory file named in the configuration (textproto v1.Directory):
// reading and checking it, and importing it at start through the
// application. Thread-safe.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "services/advocacy/advocacy_app.h"
#include "signpost/v1/advocacy.pb.h"

namespace signpost::advocacy {

// Reads and checks the file; INVALID_ARGUMENT naming the file, and the
// line or every bad field.
absl::StatusOr<v1::Directory> LoadDirectory(const std::string& path);

// Loads the file at `path` and imports it through `app` (offering from the
// waitlist whatever the new capacity allows). An empty path imports
// nothing. Errors name the file.
absl::Status ImportDirectoryFile(AdvocacyApp& app, const std::string& path);

}  // namespace signpost::advocacy
