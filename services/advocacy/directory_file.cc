#include "services/advocacy/directory_file.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/config/textproto.h"
#include "common/errors/errors.h"
#include "common/ids/ids.h"
#include "common/status/macros.h"
#include "common/time/timestamps.h"
#include "services/advocacy/directory.h"

namespace signpost::advocacy {

absl::StatusOr<v1::Directory> LoadDirectory(const std::string& path) {
  v1::Directory directory;
  RETURN_IF_ERROR(config::LoadTextProto(path, &directory));
  errors::FieldErrors errors = ValidateDirectory(directory);
  if (!errors.empty()) {
    std::vector<std::string> parts;
    for (const auto& [field, description] : errors.violations()) {
      parts.push_back(absl::StrCat(field, ": ", description));
    }
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": ", absl::StrJoin(parts, "; ")));
  }
  return directory;
}

absl::Status ImportDirectoryFile(AdvocacyApp& app, const std::string& path) {
  if (path.empty()) return absl::OkStatus();
  ASSIGN_OR_RETURN(v1::Directory directory, LoadDirectory(path));
  absl::Status imported =
      app.ImportDirectory(directory, timeutil::NowMillis(), NewTraceparent())
          .status();
  if (!imported.ok()) {  // e.g. an advocate of an unknown provider
    imported = absl::Status(imported.code(),
                            absl::StrCat(path, ": ", imported.message()));
  }
  return imported;
}

}  // namespace signpost::advocacy
