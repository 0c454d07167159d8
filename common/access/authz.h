// Authorisation: who may call what. Pure domain code (no gRPC, no SQLite).
//
// Three levels, every refusal naming its rule:
//   function  the table below: the roles that may call each RPC. An RPC
//             that is not in the table is refused to everyone
//             (AUTHZ-FUNCTION-UNLISTED); a caller without one of its roles
//             is refused (AUTHZ-FUNCTION).
//   object    which objects a permitted caller may touch: its own
//             referrals, its own provider's advocates, its own areas. The
//             application layer of each service checks these with the
//             helpers here (RequireArea, RequireProvider, ...).
//   property  which fields it then sees (FieldClass in events.proto): the
//             application layer decides, e.g. intake's GetReferral.
// Identity is the agency of the verified client certificate, looked up in
// the agency registry (registry.h); an agency that is not registered is
// refused (AUTHZ-UNREGISTERED). Refusals are PERMISSION_DENIED through
// errors::Denied and never say whether the object asked for exists.
//
// docs/api-and-events.md prints the same table; the e2e suite calls every
// RPC of every service with a role outside its rule and expects the refusal,
// so a new RPC without a rule fails the tests. Thread-safe (immutable).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/access/registry.h"
#include "common/ids/ids.h"
#include "signpost/v1/access.pb.h"

namespace signpost::access {

// Rule ids (docs/api-and-events.md, "Authorisation").
inline constexpr char kRuleUnauthenticated[] = "AUTHZ-UNAUTHENTICATED";
inline constexpr char kRuleUnregistered[] = "AUTHZ-UNREGISTERED";
inline constexpr char kRuleServiceCaller[] = "AUTHZ-SERVICE-CALLER";
inline constexpr char kRuleFunction[] = "AUTHZ-FUNCTION";
inline constexpr char kRuleUnlisted[] = "AUTHZ-FUNCTION-UNLISTED";
inline constexpr char kRuleOwnReferral[] = "AUTHZ-OWN-REFERRAL";
inline constexpr char kRuleOwnProvider[] = "AUTHZ-OWN-PROVIDER";
inline constexpr char kRuleOwnArea[] = "AUTHZ-OWN-AREA";
inline constexpr char kRuleOwnAgency[] = "AUTHZ-OWN-AGENCY";
inline constexpr char kRuleBreakGlass[] = "AUTHZ-BREAK-GLASS";

// The authenticated agency behind a call, with its registry entry.
class Principal {
 public:
  explicit Principal(v1::Agency agency) : agency_(std::move(agency)) {}

  AgencyId agency_id() const { return AgencyId(agency_.agency_id()); }
  const v1::Agency& agency() const { return agency_; }
  bool Has(v1::Role role) const;
  bool Serves(absl::string_view area_code) const;
  // The directory provider this agency is (support providers only).
  std::optional<ProviderId> provider() const;

 private:
  v1::Agency agency_;
};

// One row of the function table.
struct RpcRule {
  // gRPC path: "/signpost.v1.IntakeService/SubmitReferral".
  std::string method;
  // The roles that may call it (any one suffices).
  std::vector<v1::Role> roles;
  // The object and property rules the application layer applies, in words
  // (printed in docs/api-and-events.md).
  std::string objects;
};

// Every RPC Signpost serves, with its rule.
const std::vector<RpcRule>& AuthorizationTable();
// The rule for `method`, or nullptr when it is not listed.
const RpcRule* FindRule(absl::string_view method);

// Function-level check for an authenticated agency: the Principal when
// `agency` is registered and holds one of the roles `method` allows;
// PERMISSION_DENIED naming the rule otherwise.
class Authorizer {
 public:
  explicit Authorizer(std::shared_ptr<const Registry> registry)
      : registry_(std::move(registry)) {}

  absl::StatusOr<Principal> Authorize(const AgencyId& agency,
                                      absl::string_view method) const;
  const Registry& registry() const { return *registry_; }

 private:
  std::shared_ptr<const Registry> registry_;
};

// Object-level helpers (PERMISSION_DENIED naming the rule; `subject` is the
// object as the caller named it).
//
// The caller serves `area_code` (AUTHZ-OWN-AREA).
absl::Status RequireArea(const Principal& caller, absl::string_view area_code,
                         absl::string_view subject);
// The caller is the support provider `provider` (AUTHZ-OWN-PROVIDER).
absl::Status RequireProvider(const Principal& caller,
                             const ProviderId& provider,
                             absl::string_view subject);
// The caller is agency `owner` (AUTHZ-OWN-REFERRAL for a referral).
absl::Status RequireOwnReferral(const Principal& caller, const AgencyId& owner,
                                absl::string_view subject);

// Who a referral belongs to, as a service knows it.
struct ReferralScope {
  AgencyId referrer;      // the agency that submitted it
  std::string area_code;  // its area
};

// Which callers may touch one referral for one RPC (any clause suffices).
struct ReferralRule {
  // A REFERRER that submitted it.
  bool own_referrer = false;
  // Any of these roles, for referrals of the caller's areas.
  std::vector<v1::Role> area_roles;
  // Any of these roles, for every referral.
  std::vector<v1::Role> any_roles;
};

// OK when `caller` may touch the referral `subject` under `rule`; a
// referral that is not the caller's is PERMISSION_DENIED (AUTHZ-OWN-REFERRAL).
// An unknown referral (`scope` nullopt) is NOT_FOUND for every caller:
// referral ids are random UUIDs, so this tells a caller nothing it could
// not guess, and it tells a mistyped id from a refusal.
absl::Status RequireReferralAccess(const Principal& caller,
                                   const std::optional<ReferralScope>& scope,
                                   const ReferralRule& rule,
                                   absl::string_view subject);

// True when the caller's access is not limited to its own objects for the
// read-only oversight roles (operator, auditor).
bool SeesEverything(const Principal& caller);

}  // namespace signpost::access
