#include "services/advocacy/directory.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "absl/strings/str_cat.h"

namespace signpost::advocacy {
namespace {

bool IsId(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' ||
          c == '.')) {
      return false;
    }
  }
  return true;
}

}  // namespace

void ValidateAdvocate(const v1::Advocate& a, const std::string& at,
                      errors::FieldErrors& errors) {
  if (!IsId(a.advocate_id())) {
    errors.Add(at + ".advocate_id",
               "is required: 1-64 of A-Z, a-z, 0-9, '-', '_', '.'");
  }
  if (!IsId(a.provider_id())) errors.Add(at + ".provider_id", "is required");
  if (a.role() == v1::ADVOCATE_ROLE_UNSPECIFIED ||
      !v1::AdvocateRole_IsValid(a.role())) {
    errors.Add(at + ".role", "is required");
  }
  if (a.capacity() < 0 || a.capacity() > 500)
    errors.Add(at + ".capacity", "must be 0-500");
  if (a.localities_size() == 0) {
    errors.Add(at + ".localities", "needs at least one locality (or \"*\")");
  }
  if (a.languages_size() == 0)
    errors.Add(at + ".languages", "needs at least one language");
  for (const auto& list : {a.languages(), a.localities(), a.specialisms()}) {
    for (const std::string& item : list) {
      if (item.empty() || item.find(',') != std::string::npos) {
        errors.Add(at, "list entries must be non-empty and contain no ','");
        break;
      }
    }
  }
  const v1::Availability& av = a.availability();
  if (av.has_available_from() && av.has_available_to() &&
      av.available_from().seconds() > av.available_to().seconds()) {
    errors.Add(at + ".availability", "available_from is after available_to");
  }
}

errors::FieldErrors ValidateDirectory(const v1::Directory& directory) {
  errors::FieldErrors errors;
  std::set<std::string> providers, advocates;
  for (int i = 0; i < directory.providers_size(); ++i) {
    const v1::Provider& p = directory.providers(i);
    std::string at = absl::StrCat("providers[", i, "]");
    if (!IsId(p.provider_id())) {
      errors.Add(at + ".provider_id",
                 "is required: 1-64 of A-Z, a-z, 0-9, '-', '_', '.'");
    } else if (!providers.insert(p.provider_id()).second) {
      errors.Add(at + ".provider_id",
                 absl::StrCat("'", p.provider_id(), "' is a duplicate"));
    }
    if (p.name().empty()) errors.Add(at + ".name", "is required");
    std::set<int> kinds;
    for (int j = 0; j < p.services_size(); ++j) {
      const v1::ServiceOffer& s = p.services(j);
      const std::string sat = absl::StrCat(at, ".services[", j, "]");
      if (!v1::ServiceKind_IsValid(s.kind()) ||
          s.kind() == v1::SERVICE_KIND_UNSPECIFIED) {
        errors.Add(sat + ".kind", "is required");
      } else if (!kinds.insert(s.kind()).second) {
        errors.Add(sat + ".kind", absl::StrCat(v1::ServiceKind_Name(s.kind()),
                                               " is listed twice"));
      }
      if (s.areas_size() == 0) {
        errors.Add(sat + ".areas", "needs at least one area (or \"*\")");
      }
      for (int k = 0; k < s.areas_size(); ++k) {
        if (s.areas(k) != "*" && !IsId(s.areas(k))) {
          errors.Add(absl::StrCat(sat, ".areas[", k, "]"),
                     "must be an area code or \"*\"");
        }
      }
    }
  }
  for (int i = 0; i < directory.advocates_size(); ++i) {
    const v1::Advocate& a = directory.advocates(i);
    std::string at = absl::StrCat("advocates[", i, "]");
    ValidateAdvocate(a, at, errors);
    if (!a.advocate_id().empty() && !advocates.insert(a.advocate_id()).second) {
      errors.Add(at + ".advocate_id",
                 absl::StrCat("'", a.advocate_id(), "' is a duplicate"));
    }
  }
  return errors;
}

v1::Provider Normalized(v1::Provider provider) {
  auto* services = provider.mutable_services();
  std::sort(services->begin(), services->end(),
            [](const v1::ServiceOffer& a, const v1::ServiceOffer& b) {
              return a.kind() < b.kind();
            });
  for (v1::ServiceOffer& s : *services) {
    std::set<std::string> areas(s.areas().begin(), s.areas().end());
    s.clear_areas();
    for (const std::string& a : areas) s.add_areas(a);
  }
  return provider;
}

v1::Provider ProviderAsSeenBy(
    v1::Provider provider, const std::optional<ProviderId>& caller_provider) {
  if (provider.address_confidential() &&
      (!caller_provider.has_value() ||
       caller_provider->value() != provider.provider_id())) {
    provider.clear_address();
    provider.set_address_redacted(true);
  }
  return provider;
}

}  // namespace signpost::advocacy
