// The partner policy (issue 11): each agency's subscription, loaded from a
// text file (signpost.v1.SubscriptionList) at start-up and checked against
// the agency registry. Loading checks every field of every subscription and
// names the line of each problem, all at once:
//
//   - the agency is registered, once;
//   - its areas are among its registry areas (none given: all of them);
//   - each share names event types its field set can carry, a field set the
//     agency's roles allow (MARAC: ROLE_MARAC_COORDINATOR, provider case:
//     ROLE_PROVIDER with scope OWN_ASSIGNMENTS, police orders:
//     ROLE_POLICE_ORDERS), a legal basis that fits the set
//     (MARAC_SAFEGUARDING: the MARAC set with scope MARAC; LAW_ENFORCEMENT:
//     police orders), and a scope; REFERRER_OUTCOME and OWN_REFERRAL are the
//     closed loop, which every registered referrer has without a share;
//   - transports are listed once each; a webhook has an https URL and a
//     readable secret ("whsec_<base64>").
//
// Thread-safe once loaded (immutable).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/access/registry.h"
#include "signpost/v1/partner.pb.h"

namespace signpost::notification {

struct WebhookTarget {
  std::string url;
  // The secret's key bytes (decoded from "whsec_<base64>").
  std::string secret;
  absl::Duration max_retry = absl::Hours(24);
};

// One agency's subscription, resolved.
struct AgencyPolicy {
  std::string agency_id;
  // Never empty: the registry areas when the file gives none.
  std::vector<std::string> areas;
  std::vector<v1::Share> shares;
  // Never empty: TRANSPORT_GRPC_STREAM when the file gives none.
  std::vector<v1::Transport> transports;
  // Set with TRANSPORT_WEBHOOK.
  std::optional<WebhookTarget> webhook;
};

class PartnerPolicy {
 public:
  PartnerPolicy() = default;

  // Every subscription, in file order.
  const std::vector<AgencyPolicy>& agencies() const { return agencies_; }
  // The subscription of `agency_id`, or nullptr.
  const AgencyPolicy* Find(const std::string& agency_id) const;
  // How `agency_id` receives events: its subscription's transports, or the
  // gRPC stream alone for a registered agency without one.
  std::vector<v1::Transport> TransportsOf(const std::string& agency_id) const;
  // True when `agency_id` is in the agency registry.
  bool IsRegistered(const std::string& agency_id) const;
  // The agency of a directory provider; empty when none.
  std::string AgencyOfProvider(const std::string& provider_id) const;

 private:
  friend absl::StatusOr<PartnerPolicy> ParsePolicy(const std::string&,
                                                   const std::string&,
                                                   const access::Registry&);
  std::vector<AgencyPolicy> agencies_;
  std::map<std::string, int> by_agency_;
  std::map<std::string, std::string> provider_agency_;
  std::vector<std::string> registered_;
};

// Parses and checks `text` (`name` labels errors, usually the file path)
// against `registry`. Webhook secrets are read from their files (relative
// paths from the working directory). INVALID_ARGUMENT naming every problem
// as "<name>: line N: subscription '<agency>': <problem>".
absl::StatusOr<PartnerPolicy> ParsePolicy(const std::string& text,
                                          const std::string& name,
                                          const access::Registry& registry);

// Reads `path` and parses it with ParsePolicy.
absl::StatusOr<PartnerPolicy> LoadPolicy(const std::string& path,
                                         const access::Registry& registry);

}  // namespace signpost::notification
