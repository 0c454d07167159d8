#include "services/advocacy/matching.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace signpost::advocacy {
namespace {

std::string PrimaryTag(const std::string& tag) {
  return absl::AsciiStrToLower(tag.substr(0, tag.find('-')));
}

bool ServesLocality(const AdvocateView& a, const std::string& locality) {
  for (const std::string& l : a.localities) {
    if (l == "*" || l == locality) return true;
  }
  return false;
}

bool SpeaksLanguage(const AdvocateView& a, const std::string& language) {
  for (const std::string& l : a.languages) {
    if (LanguageMatches(l, language)) return true;
  }
  return false;
}

// a < b when a is the better choice (load ratio, then idle time, then id).
bool BetterByLoad(const AdvocateView& a, const AdvocateView& b) {
  // Compare caseload/capacity without floating point.
  int64_t lhs = static_cast<int64_t>(a.caseload) * b.capacity;
  int64_t rhs = static_cast<int64_t>(b.caseload) * a.capacity;
  if (lhs != rhs) return lhs < rhs;
  if (a.last_assigned_ms != b.last_assigned_ms) {
    return a.last_assigned_ms < b.last_assigned_ms;
  }
  return a.advocate_id < b.advocate_id;
}

}  // namespace

std::optional<v1::AdvocateRole> RoleForPathway(v1::Pathway pathway) {
  switch (pathway) {
    case v1::PATHWAY_IDVA:
      return v1::ADVOCATE_ROLE_IDVA;
    case v1::PATHWAY_DA_OUTREACH:
      return v1::ADVOCATE_ROLE_DA_OUTREACH;
    case v1::PATHWAY_ISVA:
      return v1::ADVOCATE_ROLE_ISVA;
    case v1::PATHWAY_CHISVA:
      return v1::ADVOCATE_ROLE_CHISVA;
    case v1::PATHWAY_ISAC:
      return v1::ADVOCATE_ROLE_ISAC;
    case v1::PATHWAY_SPECIALIST_OUTREACH:
      return v1::ADVOCATE_ROLE_SPECIALIST_OUTREACH;
    case v1::PATHWAY_RESTORATIVE_JUSTICE:
      return v1::ADVOCATE_ROLE_RJ_FACILITATOR;
    case v1::PATHWAY_GENERAL_SUPPORT:
      return v1::ADVOCATE_ROLE_GENERAL_SUPPORT;
    default:
      return std::nullopt;
  }
}

bool LanguageMatches(const std::string& advocate_language,
                     const std::string& wanted) {
  return !wanted.empty() && PrimaryTag(advocate_language) == PrimaryTag(wanted);
}

MatchResult Match(const MatchRequest& request,
                  const std::vector<AdvocateView>& advocates) {
  MatchResult result;
  std::optional<v1::AdvocateRole> role = RoleForPathway(request.pathway);
  if (!role) {
    result.reason = "pathway has no advocate role";
    return result;
  }
  std::vector<const AdvocateView*> eligible;
  int role_count = 0, full = 0, elsewhere = 0;
  for (const AdvocateView& a : advocates) {
    if (a.role != *role) continue;
    ++role_count;
    if (!ServesLocality(a, request.locality)) {
      ++elsewhere;
      continue;
    }
    if (a.caseload >= a.capacity) {
      ++full;
      continue;
    }
    eligible.push_back(&a);
  }
  if (eligible.empty()) {
    result.reason = absl::StrCat(
        "no eligible advocate: ", role_count, " with the role, ", elsewhere,
        " not serving locality, ", full, " at capacity");
    return result;
  }
  auto best_of = [](std::vector<const AdvocateView*> pool) {
    return *std::min_element(pool.begin(), pool.end(),
                             [](const AdvocateView* a, const AdvocateView* b) {
                               return BetterByLoad(*a, *b);
                             });
  };
  if (request.language_match_required) {
    std::vector<const AdvocateView*> speakers;
    for (const AdvocateView* a : eligible) {
      if (SpeaksLanguage(*a, request.language)) speakers.push_back(a);
    }
    if (!speakers.empty()) {
      const AdvocateView* chosen = best_of(speakers);
      result.chosen = *chosen;
      result.reason = absl::StrCat(
          "language match '", request.language, "'; load ", chosen->caseload,
          "/", chosen->capacity, "; ", eligible.size(), " eligible");
      return result;
    }
    const AdvocateView* chosen = best_of(eligible);
    result.chosen = *chosen;
    result.interpreter = true;
    result.reason = absl::StrCat("no eligible advocate speaks '",
                                 request.language, "': interpreter flag; load ",
                                 chosen->caseload, "/", chosen->capacity);
    return result;
  }
  const AdvocateView* chosen = best_of(eligible);
  result.chosen = *chosen;
  result.reason =
      absl::StrCat("lowest load ", chosen->caseload, "/", chosen->capacity,
                   " of ", eligible.size(), " eligible");
  return result;
}

}  // namespace signpost::advocacy
