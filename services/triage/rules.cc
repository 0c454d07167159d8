#include "services/triage/rules.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace signpost::triage {
namespace {

bool HasHarm(const v1::ReferralFacts& f, v1::HarmType h) {
  return std::find(f.harm_types().begin(), f.harm_types().end(), h) !=
         f.harm_types().end();
}

bool HasCohort(const v1::ReferralFacts& f, v1::CohortFlag c) {
  return std::find(f.cohort_flags().begin(), f.cohort_flags().end(), c) !=
         f.cohort_flags().end();
}

absl::Time ToTime(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

const char* RiskName(v1::RiskLevel r) {
  switch (r) {
    case v1::RISK_LEVEL_HIGH:
      return "HIGH";
    case v1::RISK_LEVEL_MEDIUM:
      return "MEDIUM";
    case v1::RISK_LEVEL_STANDARD:
      return "STANDARD";
    default:
      return "UNSPECIFIED";
  }
}

std::string PjFlagName(int flag) {
  std::string name = v1::ProfessionalJudgementFlag_Name(
      static_cast<v1::ProfessionalJudgementFlag>(flag));
  absl::string_view view(name);
  if (absl::StartsWith(view, "PJ_FLAG_")) view.remove_prefix(8);
  return absl::AsciiStrToLower(view);
}

class DecisionBuilder {
 public:
  explicit DecisionBuilder(v1::ReferralTriaged* d) : d_(d) {}
  void Fire(absl::string_view rule, std::string reason) {
    auto* r = d_->add_reasons();
    r->set_rule_id(std::string(rule));
    r->set_reason(std::move(reason));
  }
  void AddPathway(v1::Pathway p) {
    if (std::find(d_->pathways().begin(), d_->pathways().end(), p) ==
        d_->pathways().end()) {
      d_->add_pathways(p);
    }
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

 private:
  v1::ReferralTriaged* d_;
};

}  // namespace

absl::Time IncidentTime(const v1::ReferralFacts& facts) {
  if (facts.has_offence_time()) return ToTime(facts.offence_time());
  return ToTime(facts.report_time());
}

v1::ReferralTriaged Decide(const TriagePolicy& policy,
                           const v1::ReferralFacts& f,
                           const VictimHistory& history) {
  v1::ReferralTriaged d;
  DecisionBuilder b(&d);
  d.set_policy_version(policy.version);
  d.set_area_code(f.area_code());
  d.set_locality_code(f.locality_code());
  d.set_language(f.language());
  d.set_victim_ref(f.victim_ref());
  d.set_status(v1::REFERRAL_STATUS_ROUTED);

  const bool da = HasHarm(f, v1::HARM_TYPE_DOMESTIC_ABUSE);
  const bool sv = HasHarm(f, v1::HARM_TYPE_SEXUAL_VIOLENCE) ||
                  HasHarm(f, v1::HARM_TYPE_CHILD_SEXUAL_ABUSE_RECENT);
  const bool csa_non_recent =
      HasHarm(f, v1::HARM_TYPE_CHILD_SEXUAL_ABUSE_NON_RECENT);
  const bool stalking = HasHarm(f, v1::HARM_TYPE_STALKING);
  const bool adult = f.victim_age() >= 18;
  const v1::Assessment& a = f.assessment();

  // DASH-SCORE
  if (a.dash_answers_size() == 24) {
    int score = static_cast<int>(
        std::count(a.dash_answers().begin(), a.dash_answers().end(), true));
    d.set_dash_score(score);
    if (score >= policy.high_threshold) {
      d.set_risk(v1::RISK_LEVEL_HIGH);
      b.Fire("DASH-SCORE",
             absl::StrCat("DASH score ", score, " >= high threshold ",
                          policy.high_threshold));
    } else if (score >= policy.medium_threshold) {
      d.set_risk(v1::RISK_LEVEL_MEDIUM);
      b.Fire("DASH-SCORE",
             absl::StrCat("DASH score ", score, " >= medium threshold ",
                          policy.medium_threshold, ", below high ",
                          policy.high_threshold));
    } else {
      d.set_risk(v1::RISK_LEVEL_STANDARD);
      b.Fire("DASH-SCORE",
             absl::StrCat("DASH score ", score, " < medium threshold ",
                          policy.medium_threshold));
    }
  } else {
    d.set_risk(v1::RISK_LEVEL_STANDARD);
  }

  // PJ-RAISE: judgement only raises.
  const bool pj = a.pj_flags_size() > 0;
  if (pj) {
    std::vector<std::string> names;
    for (int flag : a.pj_flags()) names.push_back(PjFlagName(flag));
    b.RaiseRisk(v1::RISK_LEVEL_HIGH);
    b.Fire("PJ-RAISE",
           absl::StrCat("professional judgement (", absl::StrJoin(names, ", "),
                        ") makes the risk HIGH"));
  }

  // MARAC criteria (domestic abuse only).
  if (da) {
    if (d.dash_score() >= policy.marac_threshold &&
        a.dash_answers_size() == 24) {
      d.set_marac(true);
      b.Fire("MARAC-VISIBLE",
             absl::StrCat("DASH score ", d.dash_score(), " >= MARAC threshold ",
                          policy.marac_threshold));
    }
    if (pj) {
      d.set_marac(true);
      b.Fire("MARAC-PJ", "risk raised to HIGH by professional judgement");
    }
    if (a.incidents_last_12_months() >= policy.escalation_incidents) {
      d.set_marac(true);
      b.Fire("MARAC-ESCALATION",
             absl::StrCat(a.incidents_last_12_months(),
                          " incidents in 12 months >= escalation threshold ",
                          policy.escalation_incidents));
    }
    if (history.last_marac_referral.has_value()) {
      absl::Duration since = IncidentTime(f) - *history.last_marac_referral;
      if (since >= absl::ZeroDuration() &&
          since <= absl::Hours(24) * policy.repeat_marac_days) {
        d.set_marac(true);
        d.set_repeat_marac(true);
        b.Fire("MARAC-REPEAT", absl::StrCat("last MARAC referral ",
                                            absl::ToInt64Hours(since) / 24,
                                            " days before this incident (<= ",
                                            policy.repeat_marac_days, ")"));
      }
    }
    if (d.marac() && d.risk() != v1::RISK_LEVEL_HIGH) {
      d.set_risk(v1::RISK_LEVEL_HIGH);
      b.Fire("MARAC-HIGH", "referral going to MARAC is treated as HIGH risk");
    }
  }

  // Domestic abuse pathways.
  if (da) {
    if (d.risk() == v1::RISK_LEVEL_HIGH) {
      b.AddPathway(v1::PATHWAY_IDVA);
      b.Fire("DA-HIGH", "domestic abuse at HIGH risk: IDVA");
    } else {
      b.AddPathway(v1::PATHWAY_DA_OUTREACH);
      b.Fire("DA-STANDARD",
             absl::StrCat("domestic abuse at ", RiskName(d.risk()),
                          " risk: DA outreach"));
    }
  }

  // Sexual violence.
  bool sv_recent = false;
  if (sv) {
    if (adult) {
      b.AddPathway(v1::PATHWAY_ISVA);
      b.Fire("SV-ADULT", absl::StrCat("sexual violence, victim aged ",
                                      f.victim_age(), ": ISVA"));
    } else {
      b.AddPathway(v1::PATHWAY_CHISVA);
      d.set_safeguarding_notification(true);
      b.Fire("SV-CHILD",
             absl::StrCat("sexual violence, victim aged ", f.victim_age(),
                          ": CHISVA and children's safeguarding"));
    }
    if (f.has_offence_time() && f.has_report_time()) {
      absl::Duration gap = ToTime(f.report_time()) - ToTime(f.offence_time());
      if (gap >= absl::ZeroDuration() &&
          gap <= absl::Hours(24) * policy.sarc_window_days) {
        sv_recent = true;
        b.AddPathway(v1::PATHWAY_SARC);
        b.Fire("SV-RECENT",
               absl::StrCat("offence ", absl::ToInt64Hours(gap) / 24,
                            " days before the report (<= ",
                            policy.sarc_window_days, "): SARC, URGENT"));
      }
    }
  }
  if (csa_non_recent) {
    if (adult) {
      b.AddPathway(v1::PATHWAY_ISVA);
      d.set_non_recent(true);
      b.Fire("CSA-NONRECENT",
             "non-recent child sexual abuse, victim now an adult: "
             "ISVA survivor support");
    } else {
      b.AddPathway(v1::PATHWAY_CHISVA);
      d.set_safeguarding_notification(true);
      b.Fire("SV-CHILD",
             absl::StrCat("child sexual abuse, victim aged ", f.victim_age(),
                          ": CHISVA and children's "
                          "safeguarding"));
    }
  }

  // Stalking.
  const bool dash_q8 = a.dash_answers_size() == 24 && a.dash_answers(7);
  if (stalking || dash_q8) {
    int sdash = static_cast<int>(
        std::count(a.sdash_answers().begin(), a.sdash_answers().end(), true));
    d.set_sdash_score(sdash);
    b.Fire("STALK-SDASH",
           a.sdash_answers_size() == 11
               ? absl::StrCat("S-DASH expected",
                              stalking ? " (stalking)" : " (DASH Q8)",
                              "; score ", sdash)
               : absl::StrCat("S-DASH expected",
                              stalking ? " (stalking)" : " (DASH Q8)",
                              " but not completed"));
  }
  if (stalking) {
    int sdash = d.sdash_score();
    if (sdash >= policy.stalking_high_threshold || pj) {
      b.RaiseRisk(v1::RISK_LEVEL_HIGH);
      b.AddPathway(v1::PATHWAY_ISAC);
      b.AddPathway(v1::PATHWAY_STALKING_CLINIC);
      b.Fire(
          "STALK-HIGH",
          sdash >= policy.stalking_high_threshold
              ? absl::StrCat("S-DASH ", sdash, " >= stalking high threshold ",
                             policy.stalking_high_threshold,
                             ": ISAC and stalking clinic")
              : std::string("stalking with professional-judgement flag: ISAC "
                            "and stalking clinic"));
    } else {
      b.AddPathway(v1::PATHWAY_ISAC);
      b.Fire("STALK-STANDARD", absl::StrCat("stalking, S-DASH ", sdash,
                                            " below high threshold: ISAC"));
    }
  }

  // Obligatory considerations.
  const v1::Perpetrator& perp = f.perpetrator();
  const bool partner =
      perp.relationship() == v1::PERPETRATOR_RELATIONSHIP_CURRENT_PARTNER ||
      perp.relationship() == v1::PERPETRATOR_RELATIONSHIP_FORMER_PARTNER;
  if (stalking && perp.known()) {
    b.AddConsideration(v1::CONSIDERATION_SPO);
    b.Fire("CONSIDER-SPO",
           "stalking with a known perpetrator: consider an SPO");
  }
  if (da || (stalking && partner)) {
    b.AddConsideration(v1::CONSIDERATION_DVDS);
    b.Fire("CONSIDER-DVDS", da ? "domestic abuse: consider a DVDS disclosure"
                               : "stalking by a current or former partner: "
                                 "consider a DVDS disclosure");
  }
  if (da && d.risk() == v1::RISK_LEVEL_HIGH && perp.known() &&
      perp.age() >= 18) {
    b.AddConsideration(v1::CONSIDERATION_DAPN);
    b.Fire("CONSIDER-DAPN",
           absl::StrCat("domestic abuse at HIGH risk, perpetrator "
                        "aged ",
                        perp.age(), ": consider a DAPN/DVPN"));
  }

  // Perpetrator programmes.
  if (da && perp.known()) {
    b.AddPathway(v1::PATHWAY_PERPETRATOR_PROGRAMME);
    if (d.risk() == v1::RISK_LEVEL_HIGH) {
      b.Fire("PERP-HIGH",
             "HIGH-risk domestic abuse, perpetrator known: "
             "high-harm perpetrator programme via MARAC");
    } else {
      b.Fire("PERP-STANDARD",
             "standard/medium-risk domestic abuse, perpetrator "
             "known: perpetrator programme via prevention hub");
    }
  }

  // Hate crime and cohorts.
  const bool sex_worker = HasCohort(f, v1::COHORT_FLAG_SEX_WORKER);
  if (HasHarm(f, v1::HARM_TYPE_HATE_CRIME) || sex_worker) {
    d.set_hate_crime(true);
    if (sex_worker) {
      b.AddPathway(v1::PATHWAY_SPECIALIST_OUTREACH);
      b.Fire("HATE",
             "crime against a sex worker is recorded as hate crime: "
             "specialist outreach");
    } else {
      b.Fire("HATE", "hate crime flagged");
    }
  }

  // Restorative justice: proceeds only with both consents.
  const v1::Consent& consent = f.consent();
  if (consent.rj_requested()) {
    if (consent.rj_victim_consent() == v1::CONSENT_STATUS_REFUSED ||
        consent.rj_offender_consent() == v1::CONSENT_STATUS_REFUSED) {
      b.Fire("RJ",
             "restorative justice requested but a party has refused or "
             "withdrawn consent: stopped");
    } else {
      b.AddPathway(v1::PATHWAY_RESTORATIVE_JUSTICE);
      bool victim_ok = consent.rj_victim_consent() == v1::CONSENT_STATUS_GIVEN;
      bool offender_ok =
          consent.rj_offender_consent() == v1::CONSENT_STATUS_GIVEN;
      d.set_rj_awaiting_consent(!(victim_ok && offender_ok));
      b.Fire("RJ",
             victim_ok && offender_ok
                 ? std::string("restorative justice: both consents recorded")
                 : absl::StrCat("restorative justice: waiting for ",
                                !victim_ok && !offender_ok
                                    ? "victim and offender"
                                    : (!victim_ok ? "victim" : "offender"),
                                " consent"));
    }
  }

  // GENERAL: nothing else applies.
  if (d.pathways_size() == 0) {
    b.AddPathway(v1::PATHWAY_GENERAL_SUPPORT);
    b.Fire("GENERAL", "no specialist pathway applies: general support");
  }

  // ENHANCED Victims' Code rights.
  std::vector<std::string> grounds;
  if (da) grounds.push_back("domestic abuse");
  if (sv || csa_non_recent) grounds.push_back("sexual violence");
  if (d.hate_crime()) grounds.push_back("hate crime");
  if (HasHarm(f, v1::HARM_TYPE_BEREAVEMENT)) grounds.push_back("bereavement");
  if (f.persistently_targeted()) grounds.push_back("persistently targeted");
  if (f.vulnerable_or_intimidated())
    grounds.push_back("vulnerable or intimidated");
  if (!adult) grounds.push_back("under 18");
  if (!grounds.empty()) {
    d.set_enhanced_rights(true);
    b.Fire("ENHANCED", absl::StrCat("enhanced Victims' Code rights: ",
                                    absl::StrJoin(grounds, ", ")));
  }

  // LANGUAGE
  const bool english =
      f.language() == "en" || absl::StartsWith(f.language(), "en-");
  if (f.interpreter_needed() || !english) {
    d.set_language_match_required(true);
    b.Fire("LANGUAGE",
           absl::StrCat("language '", f.language(), "'",
                        f.interpreter_needed() ? ", interpreter needed" : "",
                        ": advocate language match required"));
  }

  // CONSENT: no partner referral without consent for DA / SV; MARAC proceeds.
  if ((da || sv) && consent.referral_consent() != v1::CONSENT_STATUS_GIVEN) {
    d.set_status(v1::REFERRAL_STATUS_CONSENT_REQUIRED);
    if (d.marac()) d.set_legal_basis(kLegalBasisSafeguarding);
    b.Fire("CONSENT",
           d.marac() ? absl::StrCat("referral consent not given: no partner "
                                    "referral; MARAC proceeds on legal basis ",
                                    kLegalBasisSafeguarding)
                     : std::string(
                           "referral consent not given: no partner referral"));
  }

  // Priority.
  if (sv_recent) {
    d.set_priority(v1::PRIORITY_URGENT);
  } else if (d.risk() == v1::RISK_LEVEL_HIGH || d.marac() || !adult) {
    d.set_priority(v1::PRIORITY_HIGH);
  } else {
    d.set_priority(v1::PRIORITY_STANDARD);
  }
  return d;
}

}  // namespace signpost::triage
