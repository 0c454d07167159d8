// Advocate matching, in plain code. Hard constraints: the role fits the
// pathway, capacity is free, the locality is served. Preferences, in order:
// a language match where triage requires one, the lowest load ratio, the
// longest idle time, then the advocate id (for a stable result). Without a
// language match, the best other advocate is chosen with the interpreter
// flag. Thread-safe (pure).
#pragma once

#include <cstdint>
#include <optional>
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
};

struct MatchRequest {
  v1::Pathway pathway = v1::PATHWAY_UNSPECIFIED;
  std::string locality;
  std::string language;
  bool language_match_required = false;
};

struct MatchResult {
  std::optional<AdvocateView> chosen;
  bool interpreter = false;
  // Why this advocate (or why nobody), with ids and codes only.
  std::string reason;
};

// The advocate role that serves a pathway; nullopt for service pathways
// (SARC, stalking clinic, perpetrator programme) that have no advocate.
std::optional<v1::AdvocateRole> RoleForPathway(v1::Pathway pathway);

// True when `advocate_language` serves `wanted` ("pa" matches "pa-IN").
bool LanguageMatches(const std::string& advocate_language,
                     const std::string& wanted);

MatchResult Match(const MatchRequest& request,
                  const std::vector<AdvocateView>& advocates);

}  // namespace signpost::advocacy
