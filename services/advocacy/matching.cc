#include "services/advocacy/matching.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

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

bool Speaks(const AdvocateView& a, const std::string& language) {
  for (const std::string& l : a.languages) {
    if (LanguageMatches(l, language)) return true;
  }
  return false;
}

struct Ranked {
  const AdvocateView* a;
  bool language;    // speaks the language (only counts when required)
  bool continuity;  // supported this victim before
  std::vector<std::string> specialisms;  // preferred ones it has
};

std::vector<std::string> SpecialismsMet(const AdvocateView& a,
                                        const std::vector<std::string>& want) {
  std::vector<std::string> met;
  for (const std::string& w : want) {
    for (const std::string& s : a.specialisms) {
      if (absl::AsciiStrToLower(s) == absl::AsciiStrToLower(w)) {
        met.push_back(w);
        break;
      }
    }
  }
  return met;
}

// Compares load ratios without floating point: a.caseload/a.capacity.
int CompareLoad(const AdvocateView& a, const AdvocateView& b) {
  int64_t lhs = static_cast<int64_t>(a.caseload) * b.capacity;
  int64_t rhs = static_cast<int64_t>(b.caseload) * a.capacity;
  return lhs < rhs ? -1 : (lhs > rhs ? 1 : 0);
}

bool Better(const Ranked& x, const Ranked& y) {
  if (x.language != y.language) return x.language;
  if (x.continuity != y.continuity) return x.continuity;
  if (x.specialisms.size() != y.specialisms.size()) {
    return x.specialisms.size() > y.specialisms.size();
  }
  if (int c = CompareLoad(*x.a, *y.a); c != 0) return c < 0;
  if (x.a->last_assigned_ms != y.a->last_assigned_ms) {
    return x.a->last_assigned_ms < y.a->last_assigned_ms;
  }
  return x.a->advocate_id < y.a->advocate_id;
}

// Why `loser` ranked below `winner`: the first preference that separates them.
std::string WhyNot(const Ranked& winner, const Ranked& loser) {
  std::string who = loser.a->advocate_id;
  if (winner.language != loser.language)
    return absl::StrCat(who, ": no language match");
  if (winner.continuity != loser.continuity) {
    return absl::StrCat(who, ": has not supported this victim before");
  }
  if (winner.specialisms.size() != loser.specialisms.size()) {
    return absl::StrCat(
        who, loser.specialisms.empty()
                 ? ": no preferred specialism"
                 : absl::StrCat(": fewer preferred specialisms (",
                                absl::StrJoin(loser.specialisms, ", "), ")"));
  }
  if (CompareLoad(*winner.a, *loser.a) != 0) {
    return absl::StrCat(who, ": higher load ", loser.a->caseload, "/",
                        loser.a->capacity);
  }
  if (winner.a->last_assigned_ms != loser.a->last_assigned_ms) {
    return absl::StrCat(who, ": assigned more recently");
  }
  return absl::StrCat(who, ": tie broken by id");
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

bool IsAvailable(const AdvocateView& a, int64_t now_ms) {
  if (a.on_leave) return false;
  if (a.available_from_ms != 0 && now_ms < a.available_from_ms) return false;
  if (a.available_to_ms != 0 && now_ms > a.available_to_ms) return false;
  return true;
}

MatchResult Match(const MatchRequest& request,
                  const std::vector<AdvocateView>& advocates) {
  MatchResult result;
  std::optional<v1::AdvocateRole> role =
      request.role ? request.role : RoleForPathway(request.pathway);
  if (!role) {
    result.reason = "pathway has no advocate role";
    return result;
  }
  std::vector<Ranked> eligible;
  int with_role = 0, elsewhere = 0, full = 0, away = 0, excluded = 0;
  for (const AdvocateView& a : advocates) {
    if (a.role != *role) continue;
    ++with_role;
    if (ServesLocality(a, request.locality)) ++result.serving;
    if (request.excluded.count(a.advocate_id)) {
      ++excluded;
    } else if (!ServesLocality(a, request.locality)) {
      ++elsewhere;
    } else if (!IsAvailable(a, request.now_ms)) {
      ++away;
    } else if (a.caseload >= a.capacity) {
      ++full;
    } else {
      eligible.push_back(
          {&a, request.language_match_required && Speaks(a, request.language),
           request.previous.count(a.advocate_id) > 0,
           SpecialismsMet(a, request.preferred_specialisms)});
    }
  }
  if (eligible.empty()) {
    result.reason = absl::StrCat(
        "no eligible advocate: ", with_role, " with the role; ", elsewhere,
        " not serving the locality, ", away, " unavailable, ", full,
        " at capacity, ", excluded, " declined or let it expire");
    return result;
  }
  std::sort(eligible.begin(), eligible.end(), Better);
  const Ranked& best = eligible.front();
  result.chosen = *best.a;
  result.interpreter = request.language_match_required && !best.language;
  std::vector<std::string> why;
  if (best.language)
    why.push_back(absl::StrCat("speaks '", request.language, "'"));
  if (result.interpreter) {
    why.push_back(absl::StrCat("no eligible advocate speaks '",
                               request.language, "': interpreter flag"));
  }
  if (best.continuity) why.push_back("supported this victim before");
  if (!best.specialisms.empty()) {
    why.push_back(absl::StrCat(
        "specialism ", absl::StrJoin(best.specialisms, ", "), " (SPECIALISM)"));
  }
  why.push_back(absl::StrCat("load ", best.a->caseload, "/", best.a->capacity));
  std::vector<std::string> not_chosen;
  for (size_t i = 1; i < eligible.size() && i <= 3; ++i) {
    not_chosen.push_back(WhyNot(best, eligible[i]));
  }
  result.reason =
      absl::StrCat(best.a->advocate_id, ": ", absl::StrJoin(why, ", "), "; ",
                   eligible.size(), " eligible");
  if (!not_chosen.empty()) {
    absl::StrAppend(&result.reason,
                    "; not chosen: ", absl::StrJoin(not_chosen, "; "));
  }
  return result;
}

std::optional<IdsvaPair> IdsvaPathways(
    const std::vector<v1::Pathway>& pathways) {
  auto has = [&](v1::Pathway p) {
    return std::find(pathways.begin(), pathways.end(), p) != pathways.end();
  };
  if (!has(v1::PATHWAY_ISVA)) return std::nullopt;
  if (has(v1::PATHWAY_IDVA))
    return IdsvaPair{v1::PATHWAY_IDVA, v1::PATHWAY_ISVA};
  if (has(v1::PATHWAY_DA_OUTREACH)) {
    return IdsvaPair{v1::PATHWAY_DA_OUTREACH, v1::PATHWAY_ISVA};
  }
  return std::nullopt;
}

ServiceMatch MatchService(v1::ServiceKind kind, const std::string& area,
                          const std::set<std::string>& excluded,
                          const std::vector<ServiceProviderView>& offering) {
  ServiceMatch match;
  const std::string service = v1::ServiceKind_Name(kind);
  std::vector<const ServiceProviderView*> eligible;
  for (const ServiceProviderView& p : offering) {
    if (!excluded.count(p.provider_id)) eligible.push_back(&p);
  }
  if (eligible.empty()) {
    match.reason =
        offering.empty()
            ? absl::StrCat("no provider offers ", service, " in ", area)
            : absl::StrCat("every provider of ", service, " in ", area,
                           " declined it (", offering.size(), ")");
    return match;
  }
  std::sort(eligible.begin(), eligible.end(),
            [](const ServiceProviderView* x, const ServiceProviderView* y) {
              if (x->open_referrals != y->open_referrals) {
                return x->open_referrals < y->open_referrals;
              }
              return x->provider_id < y->provider_id;
            });
  const ServiceProviderView& best = *eligible.front();
  match.provider_id = best.provider_id;
  match.reason = absl::StrCat(
      best.provider_id, ": offers ", service, " in ", area, ", ",
      best.open_referrals, " open referrals; ", eligible.size(), " eligible");
  std::vector<std::string> not_chosen;
  for (size_t i = 1; i < eligible.size() && i <= 3; ++i) {
    const ServiceProviderView& p = *eligible[i];
    not_chosen.push_back(
        p.open_referrals != best.open_referrals
            ? absl::StrCat(p.provider_id, ": more open referrals ",
                           p.open_referrals)
            : absl::StrCat(p.provider_id, ": tie broken by id"));
  }
  if (!not_chosen.empty()) {
    absl::StrAppend(&match.reason,
                    "; not chosen: ", absl::StrJoin(not_chosen, "; "));
  }
  return match;
}

v1::ServiceKind ServiceForPathway(v1::Pathway pathway, v1::RiskLevel risk) {
  switch (pathway) {
    case v1::PATHWAY_SARC:
      return v1::SERVICE_KIND_SARC;
    case v1::PATHWAY_STALKING_CLINIC:
      return v1::SERVICE_KIND_STALKING_CLINIC;
    case v1::PATHWAY_PERPETRATOR_PROGRAMME:
      return risk == v1::RISK_LEVEL_HIGH
                 ? v1::SERVICE_KIND_PERPETRATOR_HIGH_HARM
                 : v1::SERVICE_KIND_PERPETRATOR_STANDARD;
    case v1::PATHWAY_MODERN_SLAVERY:
      return v1::SERVICE_KIND_MODERN_SLAVERY;
    default:
      return v1::SERVICE_KIND_UNSPECIFIED;
  }
}

std::vector<ServiceNeed> ServicesFor(const v1::ReferralTriaged& decision) {
  std::vector<ServiceNeed> out;
  if (decision.status() == v1::REFERRAL_STATUS_ROUTED) {
    for (int p : decision.pathways()) {
      const auto pathway = static_cast<v1::Pathway>(p);
      const v1::ServiceKind kind = ServiceForPathway(pathway, decision.risk());
      if (kind != v1::SERVICE_KIND_UNSPECIFIED) out.push_back({pathway, kind});
    }
  }
  if (decision.status() != v1::REFERRAL_STATUS_ASSESSMENT_INCOMPLETE) {
    if (decision.safeguarding_notification()) {
      out.push_back(
          {v1::PATHWAY_UNSPECIFIED, v1::SERVICE_KIND_CHILDREN_SAFEGUARDING});
    }
    if (decision.marac()) {
      out.push_back({v1::PATHWAY_UNSPECIFIED, v1::SERVICE_KIND_MARAC});
    }
  }
  return out;
}

CapacitySummary SummariseCapacity(const std::vector<AdvocateView>& advocates,
                                  const std::string& locality,
                                  const std::string& language, int64_t now_ms) {
  CapacitySummary summary;
  for (const AdvocateView& a : advocates) {
    if (!ServesLocality(a, locality) || !IsAvailable(a, now_ms) ||
        a.caseload >= a.capacity) {
      continue;
    }
    ++summary.available_advocates;
    summary.free_places += a.capacity - a.caseload;
    summary.language_match_available |= Speaks(a, language);
  }
  return summary;
}

}  // namespace signpost::advocacy
