#include "services/triage/rules.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "common/time/timestamps.h"

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

using timeutil::FromTimestamp;
using timeutil::ToTimestamp;

std::string Short(const std::string& name, absl::string_view prefix) {
  absl::string_view v(name);
  absl::ConsumePrefix(&v, prefix);
  return std::string(v);
}

std::string RiskName(v1::RiskLevel r) {
  return Short(v1::RiskLevel_Name(r), "RISK_LEVEL_");
}

std::string PathwayName(v1::Pathway p) {
  return Short(v1::Pathway_Name(p), "PATHWAY_");
}

std::string PjFlagName(int flag) {
  return absl::AsciiStrToLower(
      Short(v1::ProfessionalJudgementFlag_Name(
                static_cast<v1::ProfessionalJudgementFlag>(flag)),
            "PJ_FLAG_"));
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

void AddDeadlines(const Policy& policy, const v1::ReferralFacts& f,
                  v1::ReferralTriaged& d, DecisionBuilder& b) {
  if (!f.has_report_time()) {
    b.Missing("reporting.report_time");
    return;
  }
  const calendar::WorkingCalendar& cal = policy.calendar();
  const v1::DeadlineParameters& p = policy.config().deadlines();
  absl::Time report = FromTimestamp(f.report_time());
  std::string from = calendar::FormatLocal(report, cal.zone());
  auto add = [&](const std::string& kind, const char* rule, int days) -> bool {
    absl::StatusOr<absl::Time> due = cal.EndOfWorkingDays(report, days);
    if (!due.ok()) {
      b.Missing(
          absl::StrCat("reporting.report_time (", due.status().message(), ")"));
      return false;
    }
    v1::Deadline* dl = d.add_deadlines();
    dl->set_kind(kind);
    *dl->mutable_due() = ToTimestamp(*due);
    dl->set_rule_id(rule);
    dl->set_basis(absl::StrCat(days, " working day", days == 1 ? "" : "s",
                               " from ", from, " (", cal.zone().name(), ")"));
    b.Fire(rule, absl::StrCat(kind == "VCOP_REFERRAL" ? "referral to support"
                                                      : "first contact",
                              " due ", calendar::FormatLocal(*due, cal.zone()),
                              ": ", dl->basis()));
    return true;
  };

  if (f.reported_to_police() && b.On("SLA-VCOP-REFERRAL")) {
    add("VCOP_REFERRAL", "SLA-VCOP-REFERRAL", p.vcop_referral_working_days());
  }

  // First contact: the earliest of the contact rules that apply.
  struct Candidate {
    const char* rule;
    int days;
  };
  std::vector<Candidate> candidates;
  bool sv_pathway = false;
  for (int pw : d.pathways()) {
    sv_pathway |= pw == v1::PATHWAY_ISVA || pw == v1::PATHWAY_CHISVA ||
                  pw == v1::PATHWAY_SARC;
  }
  if (sv_pathway && b.On("SLA-SV-CONTACT")) {
    candidates.push_back({"SLA-SV-CONTACT", p.sv_contact_working_days()});
  }
  if (d.risk() == v1::RISK_LEVEL_HIGH && b.On("SLA-HIGH-CONTACT")) {
    candidates.push_back({"SLA-HIGH-CONTACT", p.high_contact_working_days()});
  }
  if (candidates.empty() && b.On("SLA-STANDARD-CONTACT")) {
    candidates.push_back(
        {"SLA-STANDARD-CONTACT", p.standard_contact_working_days()});
  }
  if (!candidates.empty()) {
    const Candidate& best = *std::min_element(
        candidates.begin(), candidates.end(),
        [](const Candidate& a, const Candidate& c) { return a.days < c.days; });
    add("FIRST_CONTACT", best.rule, best.days);
  }

  int updates = d.enhanced_rights() ? p.updates_enhanced_working_days()
                                    : p.updates_standard_working_days();
  d.set_updates_working_days(updates);
  b.Fire("SLA-UPDATES",
         absl::StrCat("updates within ", updates, " working day",
                      updates == 1 ? "" : "s",
                      d.enhanced_rights() ? " (enhanced rights)" : ""));
}

}  // namespace

absl::Time IncidentTime(const v1::ReferralFacts& facts) {
  if (facts.has_latest_incident_time())
    return FromTimestamp(facts.latest_incident_time());
  if (facts.has_offence_time()) return FromTimestamp(facts.offence_time());
  return FromTimestamp(facts.report_time());
}

v1::ReferralTriaged Decide(const Policy& policy, const v1::ReferralFacts& f,
                           const VictimHistory& history,
                           const RiskOverride* override_risk) {
  const v1::TriagePolicy& cfg = policy.config();
  v1::ReferralTriaged d;
  DecisionBuilder b(policy, &d);
  d.set_policy_version(policy.version());
  d.set_area_code(f.area_code());
  d.set_locality_code(f.locality_code());
  d.set_language(f.language());
  d.set_victim_ref(f.victim_ref());
  d.set_status(v1::REFERRAL_STATUS_ROUTED);
  d.set_version(1);

  const bool da = HasHarm(f, v1::HARM_TYPE_DOMESTIC_ABUSE);
  const bool sv = HasHarm(f, v1::HARM_TYPE_SEXUAL_VIOLENCE) ||
                  HasHarm(f, v1::HARM_TYPE_CHILD_SEXUAL_ABUSE_RECENT);
  const bool csa_non_recent =
      HasHarm(f, v1::HARM_TYPE_CHILD_SEXUAL_ABUSE_NON_RECENT);
  const bool stalking = HasHarm(f, v1::HARM_TYPE_STALKING);
  const bool adult = f.victim_age() >= 18;
  const v1::Assessment& a = f.assessment();
  const bool has_dash = a.dash_answers_size() == 24;
  const bool has_sdash = a.sdash_answers_size() == 11;

  // DASH-SCORE
  if (has_dash) {
    int score = static_cast<int>(
        std::count(a.dash_answers().begin(), a.dash_answers().end(), true));
    d.set_dash_score(score);
    const int high = cfg.dash().high_threshold(),
              medium = cfg.dash().medium_threshold();
    if (score >= high) {
      d.set_risk(v1::RISK_LEVEL_HIGH);
      b.Fire("DASH-SCORE",
             absl::StrCat("DASH score ", score, " >= high threshold ", high));
    } else if (score >= medium) {
      d.set_risk(v1::RISK_LEVEL_MEDIUM);
      b.Fire("DASH-SCORE",
             absl::StrCat("DASH score ", score, " >= medium threshold ", medium,
                          ", below high threshold ", high));
    } else {
      d.set_risk(v1::RISK_LEVEL_STANDARD);
      b.Fire("DASH-SCORE", absl::StrCat("DASH score ", score,
                                        " < medium threshold ", medium));
    }
  } else if (da) {
    // Not silently STANDARD: risk stays unknown unless another rule sets it.
    b.Missing("assessment.dash_answers");
    b.Fire("DASH-SCORE",
           "domestic abuse without a completed DASH: risk cannot be banded");
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
  const bool override_high =
      override_risk != nullptr && override_risk->risk == v1::RISK_LEVEL_HIGH;
  if (override_risk != nullptr &&
      override_risk->risk != v1::RISK_LEVEL_UNSPECIFIED) {
    v1::RiskLevel before = d.risk();
    b.RaiseRisk(override_risk->risk);
    b.Fire(
        "PJ-RAISE",
        absl::StrCat("practitioner ", override_risk->practitioner_id,
                     " judged the risk ", RiskName(override_risk->risk),
                     before < override_risk->risk
                         ? absl::StrCat(" (raised from ", RiskName(before), ")")
                         : std::string(" (no change)")));
  }

  // The referral is itself a DA incident, so "0 in 12 months" contradicts it.
  if (da && a.incidents_last_12_months() == 0) {
    b.Missing(
        "assessment.incidents_last_12_months (0, but this referral is a DA "
        "incident)");
  }

  // MARAC criteria (domestic abuse only).
  if (da) {
    if (has_dash && d.dash_score() >= cfg.marac().threshold()) {
      d.set_marac(true);
      b.Fire("MARAC-VISIBLE",
             absl::StrCat("DASH score ", d.dash_score(), " >= MARAC threshold ",
                          cfg.marac().threshold()));
    }
    if (pj || override_high) {
      d.set_marac(true);
      b.Fire("MARAC-PJ", "risk raised to HIGH by professional judgement");
    }
    // Escalation counts the incidents the referrer reports, or Signpost's own
    // record of this victim's referrals (this one included), whichever is more.
    const int seen = history.earlier_da_referrals_12_months + 1;
    const int incidents = std::max(a.incidents_last_12_months(), seen);
    if (incidents >= cfg.marac().escalation_incidents()) {
      d.set_marac(true);
      b.Fire(
          "MARAC-ESCALATION",
          absl::StrCat(
              incidents, " incidents in 12 months",
              seen > a.incidents_last_12_months()
                  ? absl::StrCat(" (", seen, " referrals of this victim seen)")
                  : std::string(),
              " >= escalation threshold ", cfg.marac().escalation_incidents()));
    }
    if (history.last_marac_referral.has_value()) {
      absl::Duration since = IncidentTime(f) - *history.last_marac_referral;
      if (since >= absl::ZeroDuration() &&
          since <= absl::Hours(24) * cfg.marac().repeat_days()) {
        d.set_marac(true);
        d.set_repeat_marac(true);
        b.Fire("MARAC-REPEAT", absl::StrCat("last MARAC referral ",
                                            absl::ToInt64Hours(since) / 24,
                                            " days before this incident (<= ",
                                            cfg.marac().repeat_days(), ")"));
      }
    }
    if (d.marac() && d.risk() != v1::RISK_LEVEL_HIGH) {
      d.set_risk(v1::RISK_LEVEL_HIGH);
      b.Fire("MARAC-HIGH", "a referral going to MARAC is treated as HIGH risk");
    }
    if (d.risk() == v1::RISK_LEVEL_UNSPECIFIED) {
      d.set_status(v1::REFERRAL_STATUS_ASSESSMENT_INCOMPLETE);
    }
  }

  // Domestic abuse pathways.
  if (da && d.risk() != v1::RISK_LEVEL_UNSPECIFIED) {
    if (d.risk() == v1::RISK_LEVEL_HIGH) {
      if (b.On("DA-HIGH")) {
        b.AddPathway(v1::PATHWAY_IDVA, "DA-HIGH");
        b.Fire("DA-HIGH", "domestic abuse at HIGH risk: IDVA");
      }
    } else if (b.On("DA-STANDARD")) {
      b.AddPathway(v1::PATHWAY_DA_OUTREACH, "DA-STANDARD");
      b.Fire("DA-STANDARD",
             absl::StrCat("domestic abuse at ", RiskName(d.risk()),
                          " risk: DA outreach"));
    }
  }

  // Sexual violence.
  bool sv_recent = false;
  if (sv) {
    if (adult && b.On("SV-ADULT")) {
      b.AddPathway(v1::PATHWAY_ISVA, "SV-ADULT");
      b.Fire("SV-ADULT", absl::StrCat("sexual violence, victim aged ",
                                      f.victim_age(), ": ISVA"));
    } else if (!adult && b.On("SV-CHILD")) {
      b.AddPathway(v1::PATHWAY_CHISVA, "SV-CHILD");
      d.set_safeguarding_notification(true);
      b.Fire("SV-CHILD",
             absl::StrCat("sexual violence, victim aged ", f.victim_age(),
                          ": CHISVA and children's safeguarding"));
    }
    if (!f.has_offence_time()) {
      b.Missing("reporting.offence_time");
    } else if (f.has_report_time() && b.On("SV-RECENT")) {
      absl::Duration gap =
          FromTimestamp(f.report_time()) - FromTimestamp(f.offence_time());
      if (gap >= absl::ZeroDuration() &&
          gap <= absl::Hours(24) * cfg.sarc_window_days()) {
        sv_recent = true;
        b.AddPathway(v1::PATHWAY_SARC, "SV-RECENT");
        b.Fire("SV-RECENT",
               absl::StrCat("offence ", absl::ToInt64Hours(gap) / 24,
                            " days before the report (<= ",
                            cfg.sarc_window_days(), "): SARC, URGENT"));
      }
    }
  }
  if (csa_non_recent) {
    if (adult && b.On("CSA-NONRECENT")) {
      b.AddPathway(v1::PATHWAY_ISVA, "CSA-NONRECENT");
      d.set_non_recent(true);
      b.Fire("CSA-NONRECENT",
             "non-recent child sexual abuse, victim now an adult: ISVA "
             "survivor support");
    } else if (!adult && b.On("SV-CHILD")) {
      b.AddPathway(v1::PATHWAY_CHISVA, "SV-CHILD");
      d.set_safeguarding_notification(true);
      b.Fire("SV-CHILD",
             absl::StrCat("child sexual abuse, victim aged ", f.victim_age(),
                          ": CHISVA and children's safeguarding"));
    }
  }

  // Stalking.
  const bool dash_q8 = has_dash && a.dash_answers(7);
  if (stalking || dash_q8) {
    int sdash = static_cast<int>(
        std::count(a.sdash_answers().begin(), a.sdash_answers().end(), true));
    d.set_sdash_score(sdash);
    const char* why = stalking ? " (stalking)" : " (DASH Q8)";
    if (has_sdash) {
      b.Fire("STALK-SDASH",
             absl::StrCat("S-DASH expected", why, "; score ", sdash));
    } else {
      b.Missing("assessment.sdash_answers");
      b.Fire("STALK-SDASH",
             absl::StrCat("S-DASH expected", why, " but not completed"));
    }
  }
  if (stalking) {
    int sdash = d.sdash_score();
    bool high = (has_sdash && sdash >= cfg.stalking_high_threshold()) || pj ||
                override_high;
    if (high && b.On("STALK-HIGH")) {
      b.RaiseRisk(v1::RISK_LEVEL_HIGH);
      b.AddPathway(v1::PATHWAY_ISAC, "STALK-HIGH");
      b.AddPathway(v1::PATHWAY_STALKING_CLINIC, "STALK-HIGH");
      b.Fire(
          "STALK-HIGH",
          has_sdash && sdash >= cfg.stalking_high_threshold()
              ? absl::StrCat("S-DASH ", sdash, " >= stalking high threshold ",
                             cfg.stalking_high_threshold(),
                             ": ISAC and stalking clinic")
              : std::string("stalking with professional judgement: ISAC and "
                            "stalking clinic"));
    } else if (!high && b.On("STALK-STANDARD")) {
      b.AddPathway(v1::PATHWAY_ISAC, "STALK-STANDARD");
      b.Fire(
          "STALK-STANDARD",
          has_sdash
              ? absl::StrCat("stalking, S-DASH ", sdash,
                             " below high threshold ",
                             cfg.stalking_high_threshold(), ": ISAC")
              : std::string(
                    "stalking, S-DASH not completed: ISAC (to complete it)"));
      if (!has_sdash && !da) d.set_risk(v1::RISK_LEVEL_UNSPECIFIED);
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
    b.Fire("CONSIDER-DVDS",
           da ? "domestic abuse: consider a DVDS disclosure"
              : "stalking by a current or former partner: consider a DVDS "
                "disclosure");
  }
  if (da && d.risk() == v1::RISK_LEVEL_HIGH && perp.known() &&
      perp.age() >= 18 && b.On("CONSIDER-DAPN")) {
    b.AddConsideration(v1::CONSIDERATION_DAPN);
    b.Fire("CONSIDER-DAPN",
           absl::StrCat("domestic abuse at HIGH risk, perpetrator aged ",
                        perp.age(), ": consider a DAPN/DVPN"));
  }

  // Perpetrator programmes.
  if (da && perp.known() && d.risk() != v1::RISK_LEVEL_UNSPECIFIED) {
    if (d.risk() == v1::RISK_LEVEL_HIGH && b.On("PERP-HIGH")) {
      b.AddPathway(v1::PATHWAY_PERPETRATOR_PROGRAMME, "PERP-HIGH");
      b.Fire("PERP-HIGH",
             "HIGH-risk domestic abuse, perpetrator known: high-harm "
             "perpetrator programme via MARAC");
    } else if (d.risk() != v1::RISK_LEVEL_HIGH && b.On("PERP-STANDARD")) {
      b.AddPathway(v1::PATHWAY_PERPETRATOR_PROGRAMME, "PERP-STANDARD");
      b.Fire("PERP-STANDARD",
             "standard/medium-risk domestic abuse, perpetrator known: "
             "perpetrator programme via the prevention hub");
    }
  }

  // Hate crime and cohorts.
  const bool sex_worker = HasCohort(f, v1::COHORT_FLAG_SEX_WORKER);
  if ((HasHarm(f, v1::HARM_TYPE_HATE_CRIME) || sex_worker) && b.On("HATE")) {
    d.set_hate_crime(true);
    if (sex_worker) {
      b.AddPathway(v1::PATHWAY_SPECIALIST_OUTREACH, "HATE");
      b.Fire("HATE",
             "crime against a sex worker is recorded as hate crime: specialist "
             "outreach");
    } else {
      b.Fire("HATE", "hate crime flagged");
    }
  }

  // Restorative justice: proceeds only with both consents.
  const v1::Consent& consent = f.consent();
  if (consent.rj_requested() && b.On("RJ")) {
    if (consent.rj_victim_consent() == v1::CONSENT_STATUS_REFUSED ||
        consent.rj_offender_consent() == v1::CONSENT_STATUS_REFUSED) {
      b.Fire(
          "RJ",
          "restorative justice requested but a party has refused or withdrawn "
          "consent: stopped");
    } else {
      b.AddPathway(v1::PATHWAY_RESTORATIVE_JUSTICE, "RJ");
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

  // GENERAL: nothing else applies (and the assessment is not pending).
  if (d.pathways_size() == 0 &&
      d.status() != v1::REFERRAL_STATUS_ASSESSMENT_INCOMPLETE &&
      b.On("GENERAL")) {
    b.AddPathway(v1::PATHWAY_GENERAL_SUPPORT, "GENERAL");
    b.Fire("GENERAL", "no specialist pathway applies: general support");
  }

  // ENHANCED Victims' Code rights.
  std::vector<std::string> grounds;
  if (da) grounds.push_back("domestic abuse");
  if (sv || csa_non_recent) grounds.push_back("sexual violence");
  if (d.hate_crime() || HasHarm(f, v1::HARM_TYPE_HATE_CRIME))
    grounds.push_back("hate crime");
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
  if ((f.interpreter_needed() || !english) && b.On("LANGUAGE")) {
    d.set_language_match_required(true);
    b.Fire("LANGUAGE",
           absl::StrCat("language '", f.language(), "'",
                        f.interpreter_needed() ? ", interpreter needed" : "",
                        ": advocate language match required"));
  }

  // CONSENT: no partner referral without consent for DA / SV; MARAC proceeds.
  if ((da || sv) && consent.referral_consent() != v1::CONSENT_STATUS_GIVEN) {
    d.set_status(v1::REFERRAL_STATUS_CONSENT_REQUIRED);
    if (d.marac()) d.set_legal_basis(cfg.legal_basis_without_consent());
    b.Fire(
        "CONSENT",
        d.marac()
            ? absl::StrCat("referral consent not given: no partner referral; "
                           "MARAC proceeds on legal basis ",
                           cfg.legal_basis_without_consent())
            : std::string("referral consent not given: no partner referral"));
  }

  // Priority.
  if (sv_recent) {
    d.set_priority(v1::PRIORITY_URGENT);
  } else if (d.risk() == v1::RISK_LEVEL_HIGH || d.marac() || !adult) {
    d.set_priority(v1::PRIORITY_HIGH);
  } else {
    d.set_priority(v1::PRIORITY_STANDARD);
  }

  AddDeadlines(policy, f, d, b);
  return d;
}

}  // namespace signpost::triage
