// Advocate matching, in plain code.
//
// Hard constraints: the role fits the pathway, capacity is free, the
// advocate is available (not on leave, inside any from/to window), serves
// the locality, and has not already declined or let this case expire.
// Preferences, in order: (1) a language match where triage requires one;
// (2) continuity, the advocate who supported this victim before; (3) more
// of the specialisms triage prefers for the victim (rule SPECIALISM: male
// victims, LGBT+, learning disability, older people, ...); (4) the lowest
// load ratio; (5) the longest idle time; then the id, for a stable
// result. Without a language match, the best other advocate is chosen with
// the interpreter flag. The result explains why this advocate and why not
// the runners-up. Thread-safe (pure).
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "signpost/v1/common.pb.h"
#include "signpost/v1/events.pb.h"

namespace signpost::advocacy {

struct AdvocateView {
  std::string advocate_id;
  std::string provider_id;
  v1::AdvocateRole role = v1::ADVOCATE_ROLE_UNSPECIFIED;
  std::vector<std::string> languages;
  std::vector<std::string> localities;  // "*" serves every locality
  int capacity = 0;
  int caseload = 0;
  int64_t last_assigned_ms = 0;
  bool on_leave = false;
  int64_t available_from_ms = 0;  // 0: no lower bound
  int64_t available_to_ms = 0;    // 0: no upper bound
  std::vector<std::string> specialisms;
};

struct MatchRequest {
  v1::Pathway pathway = v1::PATHWAY_UNSPECIFIED;
  std::string locality;
  std::string language;
  bool language_match_required = false;
  int64_t now_ms = 0;
  // Advocates who declined or let this case expire.
  std::set<std::string> excluded;
  // Advocates who supported this victim before (continuity).
  std::set<std::string> previous;
  // Specialisms preferred for this victim (rule SPECIALISM).
  std::vector<std::string> preferred_specialisms;
  // Match this role instead of the pathway's (an IDSVA for DA and SV).
  std::optional<v1::AdvocateRole> role;
};

struct MatchResult {
  std::optional<AdvocateView> chosen;
  bool interpreter = false;
  // Why this advocate and why not the others close to it (ids, counts and
  // codes only), or why nobody.
  std::string reason;
  // Advocates with the role who serve the locality, whatever their
  // capacity or availability: none means the pathway is unserved there.
  int serving = 0;
};

// The IDSVA rule: a decision with both a domestic-abuse advocate pathway
// (IDVA or DA_OUTREACH) and an adult sexual-violence one (ISVA) goes to one
// IDSVA where one serves the locality. Returns the {DA pathway, ISVA}
// pair, or nullopt when the decision does not have both.
struct IdsvaPair {
  v1::Pathway da;
  v1::Pathway sv;
};
std::optional<IdsvaPair> IdsvaPathways(
    const std::vector<v1::Pathway>& pathways);

// Providers and the services they offer, for a service pathway.
struct ServiceProviderView {
  std::string provider_id;
  // Open service referrals it holds now (offered or acknowledged).
  int open_referrals = 0;
};

struct ServiceMatch {
  std::optional<std::string> provider_id;
  std::string reason;
};

// The provider for a service referral among those offering the service in
// the referral's area: not one that declined it
// (`excluded`), then the fewest open referrals, then the id.
ServiceMatch MatchService(v1::ServiceKind kind, const std::string& area,
                          const std::set<std::string>& excluded,
                          const std::vector<ServiceProviderView>& offering);

// The service each service pathway of a decision reaches: SARC, the
// stalking clinic, the perpetrator programme (high harm at high risk,
// standard otherwise), modern slavery; and, from the decision's flags,
// children's safeguarding and MARAC. UNSPECIFIED for an advocate pathway.
v1::ServiceKind ServiceForPathway(v1::Pathway pathway, v1::RiskLevel risk);

// The service referrals a decision needs. A routed decision's service
// pathways; and, whatever the consent (a legal basis, not consent, carries
// them: MARAC and DPA 2018 Sch 1 para 18), the children's safeguarding
// notification and MARAC when the decision flags them.
struct ServiceNeed {
  v1::Pathway pathway = v1::PATHWAY_UNSPECIFIED;  // none for the flags
  v1::ServiceKind service = v1::SERVICE_KIND_UNSPECIFIED;
};
std::vector<ServiceNeed> ServicesFor(const v1::ReferralTriaged& decision);

// The advocate role that serves a pathway; nullopt for service pathways
// (SARC, stalking clinic, perpetrator programme) that have no advocate.
std::optional<v1::AdvocateRole> RoleForPathway(v1::Pathway pathway);

// True when `advocate_language` serves `wanted` ("pa" matches "pa-IN").
bool LanguageMatches(const std::string& advocate_language,
                     const std::string& wanted);

bool IsAvailable(const AdvocateView& a, int64_t now_ms);

MatchResult Match(const MatchRequest& request,
                  const std::vector<AdvocateView>& advocates);

// Who could take a new case in a locality now: serving it, available and
// below capacity.
struct CapacitySummary {
  int available_advocates = 0;
  int free_places = 0;
  // One of them speaks `language`.
  bool language_match_available = false;
};
CapacitySummary SummariseCapacity(const std::vector<AdvocateView>& advocates,
                                  const std::string& locality,
                                  const std::string& language, int64_t now_ms);

}  // namespace signpost::advocacy
