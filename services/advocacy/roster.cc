#include "services/advocacy/roster.h"

#include <set>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/config/textproto.h"

namespace signpost::advocacy {

absl::Status ValidateRoster(const v1::Roster& roster) {
  std::vector<std::string> errors;
  std::set<std::string> ids;
  for (int i = 0; i < roster.advocates_size(); ++i) {
    const v1::Advocate& a = roster.advocates(i);
    std::string at = absl::StrCat("advocates[", i, "]");
    if (a.advocate_id().empty()) {
      errors.push_back(absl::StrCat(at, ".advocate_id is required"));
    } else if (!ids.insert(a.advocate_id()).second) {
      errors.push_back(absl::StrCat(at, ".advocate_id '", a.advocate_id(),
                                    "' is a duplicate"));
    }
    if (a.provider_id().empty())
      errors.push_back(absl::StrCat(at, ".provider_id is required"));
    if (a.role() == v1::ADVOCATE_ROLE_UNSPECIFIED ||
        !v1::AdvocateRole_IsValid(a.role())) {
      errors.push_back(absl::StrCat(at, ".role is required"));
    }
    if (a.capacity() < 0)
      errors.push_back(absl::StrCat(at, ".capacity must be >= 0"));
    if (a.localities_size() == 0) {
      errors.push_back(
          absl::StrCat(at, ".localities needs at least one (or \"*\")"));
    }
    if (a.languages_size() == 0) {
      errors.push_back(absl::StrCat(at, ".languages needs at least one"));
    }
    for (const std::string& field : {a.advocate_id(), a.provider_id()}) {
      if (field.find(',') != std::string::npos) {
        errors.push_back(absl::StrCat(at, ": ids must not contain ','"));
      }
    }
  }
  if (!errors.empty())
    return absl::InvalidArgumentError(absl::StrJoin(errors, "; "));
  return absl::OkStatus();
}

absl::StatusOr<v1::Roster> LoadRoster(const std::string& path) {
  v1::Roster roster;
  if (absl::Status s = config::LoadTextProto(path, &roster); !s.ok()) return s;
  if (absl::Status s = ValidateRoster(roster); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", s.message()));
  }
  return roster;
}

}  // namespace signpost::advocacy
