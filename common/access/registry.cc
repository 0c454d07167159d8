#include "common/access/registry.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/config/textproto.h"
#include "common/errors/errors.h"
#include "common/status/macros.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/text_format.h"

namespace signpost::access {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::TextFormat;

constexpr size_t kMaxIdLength = 64;
constexpr size_t kMaxNameLength = 200;
constexpr size_t kMaxAreaCodeLength = 8;
// Problems named in the message; all of them are still counted.
constexpr size_t kMaxProblemsInMessage = 50;

// The advocacy directory's own id rule (services/advocacy/directory.cc), so
// that every id the directory accepts can be named here.
bool IsProviderId(const std::string& s) {
  return !s.empty() && s.size() <= kMaxIdLength &&
         std::all_of(s.begin(), s.end(), [](char c) {
           return absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
                  c == '-' || c == '_' || c == '.';
         });
}

// An area code as in Referral.area_code ("WMP"): a capital letter, then 1-7
// capital letters or digits. Locality codes ("WMP-WORC") are not areas.
bool IsAreaCode(const std::string& s) {
  if (s.size() < 2 || s.size() > kMaxAreaCodeLength) return false;
  if (!absl::ascii_isupper(static_cast<unsigned char>(s[0]))) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return absl::ascii_isupper(static_cast<unsigned char>(c)) ||
           absl::ascii_isdigit(static_cast<unsigned char>(c));
  });
}

bool IsName(const std::string& s) {
  if (s.size() > kMaxNameLength) return false;
  if (absl::StripAsciiWhitespace(s).empty()) return false;
  return std::none_of(s.begin(), s.end(), [](char c) {
    return absl::ascii_iscntrl(static_cast<unsigned char>(c));
  });
}

std::string KindLabel(v1::AgencyKind kind) {
  switch (kind) {
    case v1::AGENCY_KIND_POLICE_FORCE:
      return "a police force";
    case v1::AGENCY_KIND_HEALTH_TRUST:
      return "a health trust";
    case v1::AGENCY_KIND_SARC:
      return "a SARC";
    case v1::AGENCY_KIND_SUPPORT_PROVIDER:
      return "a support provider";
    case v1::AGENCY_KIND_MARAC:
      return "a MARAC";
    case v1::AGENCY_KIND_PCC:
      return "a PCC";
    case v1::AGENCY_KIND_OPERATOR:
      return "an operator";
    default:
      return absl::StrCat("kind ", static_cast<int>(kind));
  }
}

std::string RoleLabel(v1::Role role) {
  const std::string& name = v1::Role_Name(role);
  return name.empty() ? absl::StrCat(static_cast<int>(role)) : name;
}

// Kinds whose access is limited to their areas, so an empty list would leave
// them nothing (or, worse, be read as "everywhere" by a careless rule).
bool NeedsAreas(v1::AgencyKind kind) {
  return kind == v1::AGENCY_KIND_POLICE_FORCE ||
         kind == v1::AGENCY_KIND_MARAC || kind == v1::AGENCY_KIND_PCC;
}

// Checks one parsed registry against its text locations and collects every
// problem with its line. Not thread-safe (one use, one thread).
class Checker {
 public:
  Checker(const std::string& name, const TextFormat::ParseInfoTree& locations)
      : name_(name), locations_(locations) {}

  void Check(const v1::AgencyRegistry& registry) {
    if (registry.agencies_size() == 0) {
      Add("agencies", 0, "the registry lists no agencies");
    }
    for (int i = 0; i < registry.agencies_size(); ++i) {
      CheckAgency(registry.agencies(i), i);
    }
  }

  absl::Status ToStatus() const {
    if (errors_.empty()) return absl::OkStatus();
    std::vector<std::string> named;
    for (const errors::FieldViolation& v : errors_.violations()) {
      if (named.size() == kMaxProblemsInMessage) break;
      named.push_back(v.description);
    }
    std::string message = absl::StrCat(name_, ": ", absl::StrJoin(named, "; "));
    if (errors_.size() > named.size()) {
      absl::StrAppend(&message, "; and ", errors_.size() - named.size(),
                      " more problems");
    }
    absl::Status status = absl::InvalidArgumentError(message);
    // Keep FieldErrors' payload, so callers can list the violations.
    errors_.ToStatus().ForEachPayload(
        [&status](absl::string_view url, const absl::Cord& payload) {
          status.SetPayload(url, payload);
        });
    return status;
  }

 private:
  static const FieldDescriptor* Field(const char* name) {
    return v1::Agency::descriptor()->FindFieldByName(name);
  }

  // 1-based line of a singular field of agency `i`, or the agency's own
  // line when the field is not written in the file.
  int FieldLine(const char* field) const {
    if (tree_ != nullptr) {
      int line = tree_->GetLocation(Field(field), -1).line;
      if (line >= 0) return line + 1;
    }
    return agency_line_;
  }

  // 1-based line of element `index` of repeated field `field` (`size`
  // elements). The parser records one location per `field:` occurrence, so
  // a list (`roles: [A, B]`) has one location for all its elements; then
  // the line where the field first appears is the best there is.
  int ElementLine(const char* field, int index, int size) const {
    if (tree_ == nullptr) return agency_line_;
    const FieldDescriptor* fd = Field(field);
    int recorded = 0;
    while (tree_->GetLocation(fd, recorded).line >= 0) ++recorded;
    if (recorded == 0) return agency_line_;
    int at = recorded == size ? index : 0;
    return tree_->GetLocation(fd, at).line + 1;
  }

  void Add(const std::string& field, int line, const std::string& problem) {
    std::string where =
        line > 0 ? absl::StrCat("line ", line, ": ") : std::string();
    errors_.Add(field, absl::StrCat(where, subject_, problem));
  }

  void AddAt(const std::string& field, int line, const std::string& problem) {
    Add(absl::StrCat(path_, ".", field), line, problem);
  }

  void CheckAgency(const v1::Agency& agency, int i) {
    const FieldDescriptor* agencies =
        v1::AgencyRegistry::descriptor()->FindFieldByName("agencies");
    tree_ = locations_.GetTreeForNested(agencies, i);
    agency_line_ = locations_.GetLocation(agencies, i).line + 1;
    path_ = absl::StrCat("agencies[", i, "]");
    subject_ = agency.agency_id().empty()
                   ? absl::StrCat("agency #", i + 1, ": ")
                   : absl::StrCat("agency '", agency.agency_id(), "': ");

    CheckId(agency);
    CheckKind(agency);
    CheckRoles(agency);
    CheckAreas(agency);
    CheckProvider(agency);
    if (agency.name().empty()) {
      AddAt("name", agency_line_, "name is required");
    } else if (!IsName(agency.name())) {
      AddAt("name", FieldLine("name"),
            absl::StrCat("name must be 1-", kMaxNameLength,
                         " characters, not blank, with no control "
                         "characters"));
    }
  }

  void CheckId(const v1::Agency& agency) {
    const std::string& id = agency.agency_id();
    int line = FieldLine("agency_id");
    if (id.empty()) {
      AddAt("agency_id", line, "agency_id is required");
    } else if (!IsAgencyId(id)) {
      AddAt("agency_id", line,
            absl::StrCat("agency_id must be 2-", kMaxIdLength,
                         " of a-z, 0-9 and '-'"));
    } else if (auto [it, added] = ids_.emplace(id, line); !added) {
      AddAt("agency_id", line,
            absl::StrCat("agency_id is already used on line ", it->second));
    }
  }

  void CheckKind(const v1::Agency& agency) {
    if (agency.kind() == v1::AGENCY_KIND_UNSPECIFIED) {
      AddAt("kind", FieldLine("kind"), "kind is required");
    } else if (!v1::AgencyKind_IsValid(agency.kind())) {
      AddAt("kind", FieldLine("kind"),
            absl::StrCat("kind ", static_cast<int>(agency.kind()),
                         " is not a known kind"));
    }
  }

  void CheckRoles(const v1::Agency& agency) {
    const int size = agency.roles_size();
    if (size == 0) {
      AddAt("roles", agency_line_, "needs at least one role");
      return;
    }
    const std::vector<v1::Role>& allowed = AllowedRoles(agency.kind());
    const bool kind_known = !allowed.empty();
    std::set<int> seen;
    for (int r = 0; r < size; ++r) {
      const auto role = static_cast<v1::Role>(agency.roles(r));
      std::string field = absl::StrCat("roles[", r, "]");
      int line = ElementLine("roles", r, size);
      if (role == v1::ROLE_UNSPECIFIED || !v1::Role_IsValid(role)) {
        AddAt(field, line,
              absl::StrCat("role ", RoleLabel(role), " is not a role"));
      } else if (!seen.insert(role).second) {
        AddAt(field, line,
              absl::StrCat("role ", RoleLabel(role), " is listed twice"));
      } else if (kind_known && std::find(allowed.begin(), allowed.end(),
                                         role) == allowed.end()) {
        std::vector<std::string> names;
        names.reserve(allowed.size());
        for (v1::Role a : allowed) names.push_back(RoleLabel(a));
        AddAt(field, line,
              absl::StrCat("role ", RoleLabel(role), " is not allowed for ",
                           KindLabel(agency.kind()),
                           " (allowed: ", absl::StrJoin(names, ", "), ")"));
      }
    }
    if (agency.kind() == v1::AGENCY_KIND_SUPPORT_PROVIDER &&
        !seen.count(v1::ROLE_PROVIDER)) {
      AddAt("roles", ElementLine("roles", 0, size),
            "a support provider needs the role ROLE_PROVIDER");
    }
  }

  void CheckAreas(const v1::Agency& agency) {
    const int size = agency.area_codes_size();
    if (size == 0 && NeedsAreas(agency.kind())) {
      AddAt("area_codes", agency_line_,
            absl::StrCat("area_codes needs at least one area for ",
                         KindLabel(agency.kind())));
    }
    std::set<std::string> seen;
    for (int a = 0; a < size; ++a) {
      const std::string& code = agency.area_codes(a);
      std::string field = absl::StrCat("area_codes[", a, "]");
      int line = ElementLine("area_codes", a, size);
      if (!IsAreaCode(code)) {
        AddAt(field, line,
              absl::StrCat("area code '", code,
                           "' must be an area code like \"WMP\": 2-8 capital "
                           "letters or digits starting with a letter (a "
                           "locality such as \"WMP-WORC\" is not an area)"));
      } else if (!seen.insert(code).second) {
        AddAt(field, line,
              absl::StrCat("area code '", code, "' is listed twice"));
      }
    }
  }

  void CheckProvider(const v1::Agency& agency) {
    const std::string& provider = agency.provider_id();
    int line = FieldLine("provider_id");
    // A SARC or a MARAC takes service referrals as a provider too (issue
    // 12: every pathway reaches a service).
    const bool provider_role =
        std::find(agency.roles().begin(), agency.roles().end(),
                  v1::ROLE_PROVIDER) != agency.roles().end();
    if (agency.kind() != v1::AGENCY_KIND_SUPPORT_PROVIDER &&
        !(provider_role && (agency.kind() == v1::AGENCY_KIND_SARC ||
                            agency.kind() == v1::AGENCY_KIND_MARAC))) {
      if (!provider.empty()) {
        AddAt("provider_id", line,
              "provider_id is only for a support provider, or a SARC or "
              "MARAC with the role ROLE_PROVIDER");
      }
      return;
    }
    if (provider.empty()) {
      AddAt(
          "provider_id", line,
          absl::StrCat("provider_id is required for ", KindLabel(agency.kind()),
                       " with the role ROLE_PROVIDER"));
    } else if (!IsProviderId(provider)) {
      AddAt("provider_id", line,
            absl::StrCat("provider_id must be 1-", kMaxIdLength,
                         " of A-Z, a-z, 0-9, '-', '_' and '.'"));
    } else if (auto [it, added] = providers_.emplace(provider, line); !added) {
      AddAt("provider_id", line,
            absl::StrCat("provider '", provider,
                         "' already has an agency, on line ", it->second));
    }
  }

  const std::string& name_;
  const TextFormat::ParseInfoTree& locations_;
  errors::FieldErrors errors_;
  // First line each agency_id and provider_id was seen on.
  std::map<std::string, int> ids_;
  std::map<std::string, int> providers_;
  // The agency being checked.
  const TextFormat::ParseInfoTree* tree_ = nullptr;
  int agency_line_ = 0;
  std::string path_;
  std::string subject_;
};

}  // namespace

const std::vector<v1::Role>& AllowedRoles(v1::AgencyKind kind) {
  static const auto* const kAllowed =
      new std::map<v1::AgencyKind, std::vector<v1::Role>>{
          {v1::AGENCY_KIND_POLICE_FORCE,
           {v1::ROLE_REFERRER, v1::ROLE_POLICE_ORDERS}},
          {v1::AGENCY_KIND_HEALTH_TRUST, {v1::ROLE_REFERRER}},
          {v1::AGENCY_KIND_SARC, {v1::ROLE_REFERRER, v1::ROLE_PROVIDER}},
          {v1::AGENCY_KIND_SUPPORT_PROVIDER,
           {v1::ROLE_PROVIDER, v1::ROLE_REFERRER}},
          {v1::AGENCY_KIND_MARAC,
           {v1::ROLE_MARAC_COORDINATOR, v1::ROLE_PROVIDER}},
          {v1::AGENCY_KIND_PCC, {v1::ROLE_COMMISSIONER, v1::ROLE_AUDITOR}},
          {v1::AGENCY_KIND_OPERATOR, {v1::ROLE_OPERATOR, v1::ROLE_AUDITOR}},
      };
  static const auto* const kNone = new std::vector<v1::Role>();
  auto it = kAllowed->find(kind);
  return it == kAllowed->end() ? *kNone : it->second;
}

bool IsAgencyId(absl::string_view s) {
  return s.size() >= 2 && s.size() <= kMaxIdLength &&
         std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
         });
}

Registry::Registry(v1::AgencyRegistry registry)
    : registry_(std::move(registry)) {
  for (int i = 0; i < registry_.agencies_size(); ++i) {
    const v1::Agency& agency = registry_.agencies(i);
    by_id_.emplace(AgencyId(agency.agency_id()), i);
    if (!agency.provider_id().empty()) {
      by_provider_.emplace(ProviderId(agency.provider_id()), i);
    }
  }
}

const v1::Agency* Registry::Find(const AgencyId& id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &registry_.agencies(it->second);
}

bool Registry::HasRole(const AgencyId& id, v1::Role role) const {
  const v1::Agency* agency = Find(id);
  return agency != nullptr &&
         std::find(agency->roles().begin(), agency->roles().end(), role) !=
             agency->roles().end();
}

bool Registry::ServesArea(const AgencyId& id,
                          absl::string_view area_code) const {
  const v1::Agency* agency = Find(id);
  return agency != nullptr &&
         std::find(agency->area_codes().begin(), agency->area_codes().end(),
                   area_code) != agency->area_codes().end();
}

const v1::Agency* Registry::FindByProvider(const ProviderId& provider) const {
  auto it = by_provider_.find(provider);
  return it == by_provider_.end() ? nullptr : &registry_.agencies(it->second);
}

absl::StatusOr<Registry> ParseRegistry(const std::string& text,
                                       const std::string& name) {
  v1::AgencyRegistry registry;
  // Syntax errors, with line and column, in the shape every data file uses.
  RETURN_IF_ERROR(config::ParseTextProto(text, name, &registry));
  // Parse again recording where each field was written, so that field
  // problems can name their lines too.
  TextFormat::ParseInfoTree locations;
  TextFormat::Parser parser;
  parser.WriteLocationsTo(&locations);
  if (!parser.ParseFromString(text, &registry)) {
    return errors::InvariantViolation(
        absl::StrCat(name, ": parsed once but not a second time"));
  }
  Checker checker(name, locations);
  checker.Check(registry);
  RETURN_IF_ERROR(checker.ToStatus());
  return Registry(std::move(registry));
}

absl::StatusOr<Registry> LoadRegistry(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return absl::InvalidArgumentError(absl::StrCat("cannot read ", path));
  }
  std::stringstream text;
  text << in.rdbuf();
  return ParseRegistry(text.str(), path);
}

}  // namespace signpost::access
