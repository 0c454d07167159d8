// The rules engine's shared pieces (rules.cc, deadlines.cc): a builder that
// collects a decision's reasons, pathways and missing facts under an area's
// policy, and the short names rule reasons use. Internal to the engine.
// Not thread-safe (one builder per decision).
#pragma once

#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "services/triage/policy.h"
#include "signpost/v1/events.pb.h"

namespace signpost::triage {

// `name` without `prefix` ("RISK_LEVEL_HIGH" -> "HIGH").
inline std::string ShortName(const std::string& name,
                             absl::string_view prefix) {
  absl::string_view v(name);
  absl::ConsumePrefix(&v, prefix);
  return std::string(v);
}

inline std::string RiskName(v1::RiskLevel r) {
  return ShortName(v1::RiskLevel_Name(r), "RISK_LEVEL_");
}

inline std::string PathwayName(v1::Pathway p) {
  return ShortName(v1::Pathway_Name(p), "PATHWAY_");
}

// Collects the decision; rules switched off by the area never fire, and a
// pathway the area lacks is recorded instead of added.
class DecisionBuilder {
 public:
  DecisionBuilder(const Policy& policy, v1::ReferralTriaged* d)
      : policy_(policy), d_(d) {}
  bool On(const char* rule) const { return policy_.RuleOn(rule); }
  void Fire(absl::string_view rule, std::string reason) {
    auto* r = d_->add_reasons();
    r->set_rule_id(std::string(rule));
    r->set_reason(std::move(reason));
  }
  void AddPathway(v1::Pathway p, absl::string_view rule) {
    if (!policy_.PathwayAvailable(p)) {
      Fire(rule, absl::StrCat(PathwayName(p),
                              " is not available in this area's policy"));
      return;
    }
    if (std::find(d_->pathways().begin(), d_->pathways().end(), p) ==
        d_->pathways().end()) {
      d_->add_pathways(p);
    }
  }
  // Takes `p` out of the decision; false when it was not there.
  bool RemovePathway(v1::Pathway p) {
    auto* pathways = d_->mutable_pathways();
    auto it = std::find(pathways->begin(), pathways->end(), p);
    if (it == pathways->end()) return false;
    pathways->erase(it);
    return true;
  }
  void AddConsideration(v1::Consideration c) {
    if (std::find(d_->considerations().begin(), d_->considerations().end(),
                  c) == d_->considerations().end()) {
      d_->add_considerations(c);
    }
  }
  void RaiseRisk(v1::RiskLevel r) {
    if (r > d_->risk()) d_->set_risk(r);
  }
  void Missing(std::string field) {
    d_->set_incomplete(true);
    if (std::find(d_->missing().begin(), d_->missing().end(), field) ==
        d_->missing().end()) {
      d_->add_missing(std::move(field));
    }
  }

 private:
  const Policy& policy_;
  v1::ReferralTriaged* d_;
};

}  // namespace signpost::triage
