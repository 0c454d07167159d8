// The agency registry: every agency that may call Signpost, with its kind,
// roles, areas and (for a support provider) its advocacy directory provider
// id, loaded from a text-format file (deploy/access/agencies.textproto).
// Loading checks every field of every agency and names the line of each
// problem, all at once, so that a bad file fails start-up with the whole
// list to fix. Authorisation (issue 9) is built on this; the services do not
// consult it yet.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/ids/ids.h"
#include "signpost/v1/access.pb.h"

namespace signpost::access {

// A validated, immutable set of agencies. Thread-safe: nothing changes after
// loading, so concurrent readers need no lock (share one as a
// std::shared_ptr<const Registry>).
class Registry {
 public:
  // Knows no agency: every lookup fails.
  Registry() = default;

  // The agency with `id`, or nullptr when it is not registered.
  const v1::Agency* Find(const AgencyId& id) const;
  // True when `id` is registered and holds `role`.
  bool HasRole(const AgencyId& id, v1::Role role) const;
  // True when `id` is registered and lists `area_code` among its areas.
  bool ServesArea(const AgencyId& id, absl::string_view area_code) const;
  // The support provider agency for a directory provider, or nullptr.
  const v1::Agency* FindByProvider(const ProviderId& provider) const;

  // Every agency, in file order.
  const v1::AgencyRegistry& agencies() const { return registry_; }
  int size() const { return registry_.agencies_size(); }

 private:
  friend absl::StatusOr<Registry> ParseRegistry(const std::string& text,
                                                const std::string& name);
  explicit Registry(v1::AgencyRegistry registry);

  v1::AgencyRegistry registry_;
  // Indexes into registry_.agencies(); indexes survive moves, pointers might
  // not.
  std::map<AgencyId, int> by_id_;
  std::map<ProviderId, int> by_provider_;
};

// Parses and checks registry text (signpost.v1.AgencyRegistry in text
// format). `name` labels errors (usually the file path). A syntax error is
// INVALID_ARGUMENT with its line and column; bad fields are INVALID_ARGUMENT
// naming every problem as "<name>: line N: agency '<id>': <problem>", with
// the problems also carried as field violations (errors::FieldViolationsOf).
absl::StatusOr<Registry> ParseRegistry(const std::string& text,
                                       const std::string& name);

// Reads `path` and parses it with ParseRegistry.
absl::StatusOr<Registry> LoadRegistry(const std::string& path);

// agency_id's form: 2-64 of a-z, 0-9 and '-' (also the last segment of an
// agency's SPIFFE id).
bool IsAgencyId(absl::string_view id);

// The roles an agency of `kind` may hold (empty for an unknown kind).
const std::vector<v1::Role>& AllowedRoles(v1::AgencyKind kind);

}  // namespace signpost::access
