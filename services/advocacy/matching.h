// Advocate matching, in plain code.
//
// Hard constraints: the role fits the pathway, capacity is free, the
// advocate is available (not on leave, inside any from/to window), serves
// the locality, and has not already declined or let this case expire.
// Preferences, in order: (1) a language match where triage requires one;
// (2) continuity, the advocate who supported this victim before; (3) the
// lowest load ratio; (4) the longest idle time; then the id, for a stable
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
};

struct MatchResult {
  std::optional<AdvocateView> chosen;
  bool interpreter = false;
  // Why this advocate and why not the others close to it (ids, counts and
  // codes only), or why nobody.
  std::string reason;
};

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
