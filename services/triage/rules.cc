#include "services/triage/rules.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/errors/errors.h"
#include "common/time/timestamps.h"
#include "services/triage/deadlines.h"
#include "services/triage/decision_builder.h"

namespace signpost::triage {
namespace {

using timeutil::FromTimestamp;

// SPECIALISM: a victim this old or older prefers an advocate with the
// "older-people" specialism. A constant until the policy proto has a field
// for it (docs/policy.md).
constexpr int kOlderPersonAge = 60;

// SPECIALISM: the directory specialism each cohort flag prefers.
struct CohortSpecialism {
  v1::CohortFlag flag;
  const char* specialism;
};
constexpr CohortSpecialism kCohortSpecialisms[] = {
    {v1::COHORT_FLAG_MALE_VICTIM, "male-victims"},
    {v1::COHORT_FLAG_LGBT_PLUS, "lgbt-plus"},
    {v1::COHORT_FLAG_LEARNING_DISABILITY, "learning-disability"},
    {v1::COHORT_FLAG_DISABILITY, "disability"},
    {v1::COHORT_FLAG_SEX_WORKER, "sex-workers"},
};

bool HasHarm(const v1::ReferralFacts& f, v1::HarmType h) {
  return std::find(f.harm_types().begin(), f.harm_types().end(), h) !=
         f.harm_types().end();
}

bool HasCohort(const v1::ReferralFacts& f, v1::CohortFlag c) {
  return std::find(f.cohort_flags().begin(), f.cohort_flags().end(), c) !=
         f.cohort_flags().end();
}

std::string PjFlagName(int flag) {
  return absl::AsciiStrToLower(
      ShortName(v1::ProfessionalJudgementFlag_Name(
                    static_cast<v1::ProfessionalJudgementFlag>(flag)),
                "PROFESSIONAL_JUDGEMENT_FLAG_"));
}

// One run of the rules over one referral. Each step is one rule group of
// docs/policy.md; Run() applies them in evaluation order, because later
// groups read what earlier ones decided (risk, MARAC, pathways).
class Evaluation {
 public:
  Evaluation(const Policy& policy, const v1::ReferralFacts& f,
             const VictimHistory& history, const RiskOverride* override_risk)
      : policy_(policy),
        cfg_(policy.config()),
        f_(f),
        a_(f.assessment()),
        history_(history),
        override_(override_risk),
        b_(policy, &d_),
        hba_fm_(HasHarm(f, v1::HARM_TYPE_HONOUR_BASED_ABUSE) ||
                HasHarm(f, v1::HARM_TYPE_FORCED_MARRIAGE)),
        // HBA-FM: honour-based abuse and forced marriage are domestic
        // abuse for routing.
        da_(HasHarm(f, v1::HARM_TYPE_DOMESTIC_ABUSE) ||
            (hba_fm_ && policy.RuleOn("HBA-FM"))),
        sv_(HasHarm(f, v1::HARM_TYPE_SEXUAL_VIOLENCE) ||
            HasHarm(f, v1::HARM_TYPE_CHILD_SEXUAL_ABUSE_RECENT)),
        csa_non_recent_(
            HasHarm(f, v1::HARM_TYPE_CHILD_SEXUAL_ABUSE_NON_RECENT)),
        stalking_(HasHarm(f, v1::HARM_TYPE_STALKING)),
        adult_(f.victim_age() >= 18),
        has_dash_(a_.dash_answers_size() == 24),
        has_sdash_(a_.sdash_answers_size() == 11) {}

  v1::ReferralTriaged Run() {
    Describe();
    TreatHbaFmAsDomesticAbuse();
    BandByDash();
    RaiseByJudgement();
    CheckIncidentCount();
    if (da_) DecideMarac();
    RouteDomesticAbuse();
    RouteSexualViolence();
    NotifyFgmChild();
    AssessStalking();
    AddConsiderations();
    RoutePerpetrator();
    RouteHateCrime();
    RouteModernSlavery();
    RouteRestorativeJustice();
    RouteGeneral();
    ApplyPathwayConsents();
    GrantEnhancedRights();
    MatchLanguage();
    PreferSpecialisms();
    ApplyConsent();
    ApplyWithdrawal();
    SetPriority();
    AddDeadlines(policy_, f_, d_, b_);
    return std::move(d_);
  }

 private:
  void Describe() {
    d_.set_policy_version(policy_.version());
    d_.set_area_code(f_.area_code());
    d_.set_locality_code(f_.locality_code());
    d_.set_language(f_.language());
    d_.set_person_id(f_.person_id());
    // Passed through for advocacy to enforce on every version (codes only;
    // never logged).
    if (f_.has_contact_rules()) {
      *d_.mutable_contact_rules() = f_.contact_rules();
    }
    d_.set_status(v1::REFERRAL_STATUS_ROUTED);
    d_.set_version(1);
  }

  // HBA-FM
  void TreatHbaFmAsDomesticAbuse() {
    if (!hba_fm_ || HasHarm(f_, v1::HARM_TYPE_DOMESTIC_ABUSE) ||
        !b_.On("HBA-FM")) {
      return;
    }
    b_.Fire("HBA-FM",
            "honour-based abuse or forced marriage: domestic abuse for "
            "routing (DASH expected; IDVA or outreach by risk)");
  }

  // FGM-CHILD
  void NotifyFgmChild() {
    if (!HasHarm(f_, v1::HARM_TYPE_FGM) || adult_ || !b_.On("FGM-CHILD")) {
      return;
    }
    d_.set_safeguarding_notification(true);
    b_.Fire("FGM-CHILD", absl::StrCat("FGM, victim aged ", f_.victim_age(),
                                      ": children's safeguarding "
                                      "notification"));
  }

  // DASH-SCORE
  void BandByDash() {
    if (has_dash_) {
      int score = static_cast<int>(
          std::count(a_.dash_answers().begin(), a_.dash_answers().end(), true));
      d_.set_dash_score(score);
      const int high = cfg_.dash().high_threshold(),
                medium = cfg_.dash().medium_threshold();
      if (score >= high) {
        d_.set_risk(v1::RISK_LEVEL_HIGH);
        b_.Fire("DASH-SCORE", absl::StrCat("DASH score ", score,
                                           " >= high threshold ", high));
      } else if (score >= medium) {
        d_.set_risk(v1::RISK_LEVEL_MEDIUM);
        b_.Fire("DASH-SCORE",
                absl::StrCat("DASH score ", score, " >= medium threshold ",
                             medium, ", below high threshold ", high));
      } else {
        d_.set_risk(v1::RISK_LEVEL_STANDARD);
        b_.Fire("DASH-SCORE", absl::StrCat("DASH score ", score,
                                           " < medium threshold ", medium));
      }
    } else if (da_) {
      // Not silently STANDARD: risk stays unknown unless another rule sets it.
      b_.Missing("assessment.dash_answers");
      b_.Fire("DASH-SCORE",
              "domestic abuse without a completed DASH: risk cannot be banded");
    } else {
      d_.set_risk(v1::RISK_LEVEL_STANDARD);
    }
  }

  // PJ-RAISE: judgement (the referrer's flags, a practitioner's override)
  // only raises.
  void RaiseByJudgement() {
    pj_ = a_.pj_flags_size() > 0;
    if (pj_) {
      std::vector<std::string> names;
      for (int flag : a_.pj_flags()) names.push_back(PjFlagName(flag));
      b_.RaiseRisk(v1::RISK_LEVEL_HIGH);
      b_.Fire("PJ-RAISE", absl::StrCat("professional judgement (",
                                       absl::StrJoin(names, ", "),
                                       ") makes the risk HIGH"));
    }
    override_high_ =
        override_ != nullptr && override_->risk == v1::RISK_LEVEL_HIGH;
    if (override_ != nullptr && override_->risk != v1::RISK_LEVEL_UNSPECIFIED) {
      v1::RiskLevel before = d_.risk();
      b_.RaiseRisk(override_->risk);
      b_.Fire("PJ-RAISE",
              absl::StrCat(
                  "practitioner ", override_->practitioner_id,
                  " judged the risk ", RiskName(override_->risk),
                  before < override_->risk
                      ? absl::StrCat(" (raised from ", RiskName(before), ")")
                      : std::string(" (no change)")));
    }
  }

  // The referral is itself a DA incident, so "0 in 12 months" contradicts it.
  void CheckIncidentCount() {
    if (da_ && a_.incidents_last_12_months() == 0) {
      b_.Missing(
          "assessment.incidents_last_12_months (0, but this referral is a DA "
          "incident)");
    }
  }

  // MARAC criteria (domestic abuse only).
  void DecideMarac() {
    if (has_dash_ && d_.dash_score() >= cfg_.marac().threshold()) {
      d_.set_marac(true);
      b_.Fire("MARAC-VISIBLE",
              absl::StrCat("DASH score ", d_.dash_score(),
                           " >= MARAC threshold ", cfg_.marac().threshold()));
    }
    if (pj_ || override_high_) {
      d_.set_marac(true);
      b_.Fire("MARAC-PJ", "risk raised to HIGH by professional judgement");
    }
    DecideEscalation();
    DecideRepeat();
    if (d_.marac() && d_.risk() != v1::RISK_LEVEL_HIGH) {
      d_.set_risk(v1::RISK_LEVEL_HIGH);
      b_.Fire("MARAC-HIGH",
              "a referral going to MARAC is treated as HIGH risk");
    }
    if (d_.risk() == v1::RISK_LEVEL_UNSPECIFIED) {
      d_.set_status(v1::REFERRAL_STATUS_ASSESSMENT_INCOMPLETE);
    }
  }

  // MARAC-ESCALATION counts the incidents the referrer reports, or
  // Signpost's own record of this victim's referrals (this one included),
  // whichever is more.
  void DecideEscalation() {
    const int seen = history_.earlier_da_referrals_12_months + 1;
    const int incidents = std::max(a_.incidents_last_12_months(), seen);
    if (incidents < cfg_.marac().escalation_incidents()) return;
    d_.set_marac(true);
    b_.Fire(
        "MARAC-ESCALATION",
        absl::StrCat(
            incidents, " incidents in 12 months",
            seen > a_.incidents_last_12_months()
                ? absl::StrCat(" (", seen, " referrals of this victim seen)")
                : std::string(),
            " >= escalation threshold ", cfg_.marac().escalation_incidents()));
  }

  // MARAC-REPEAT
  void DecideRepeat() {
    if (!history_.last_marac_referral.has_value()) return;
    absl::Duration since = IncidentTime(f_) - *history_.last_marac_referral;
    if (since >= absl::ZeroDuration() &&
        since <= absl::Hours(24) * cfg_.marac().repeat_days()) {
      d_.set_marac(true);
      d_.set_repeat_marac(true);
      b_.Fire("MARAC-REPEAT", absl::StrCat("last MARAC referral ",
                                           absl::ToInt64Hours(since) / 24,
                                           " days before this incident (<= ",
                                           cfg_.marac().repeat_days(), ")"));
    }
  }

  // DA-HIGH / DA-STANDARD
  void RouteDomesticAbuse() {
    if (!da_ || d_.risk() == v1::RISK_LEVEL_UNSPECIFIED) return;
    if (d_.risk() == v1::RISK_LEVEL_HIGH) {
      if (b_.On("DA-HIGH")) {
        b_.AddPathway(v1::PATHWAY_IDVA, "DA-HIGH");
        b_.Fire("DA-HIGH", "domestic abuse at HIGH risk: IDVA");
      }
    } else if (b_.On("DA-STANDARD")) {
      b_.AddPathway(v1::PATHWAY_DA_OUTREACH, "DA-STANDARD");
      b_.Fire("DA-STANDARD",
              absl::StrCat("domestic abuse at ", RiskName(d_.risk()),
                           " risk: DA outreach"));
    }
  }

  // SV-ADULT, SV-CHILD, SV-RECENT, CSA-NONRECENT
  void RouteSexualViolence() {
    if (sv_) {
      RouteBySvAge("sexual violence");
      CheckSarcWindow();
    }
    if (csa_non_recent_) {
      if (adult_ && b_.On("CSA-NONRECENT")) {
        b_.AddPathway(v1::PATHWAY_ISVA, "CSA-NONRECENT");
        d_.set_non_recent(true);
        b_.Fire("CSA-NONRECENT",
                "non-recent child sexual abuse, victim now an adult: ISVA "
                "survivor support");
      } else if (!adult_) {
        RouteChild("child sexual abuse");
      }
    }
  }

  void RouteBySvAge(absl::string_view what) {
    if (adult_ && b_.On("SV-ADULT")) {
      b_.AddPathway(v1::PATHWAY_ISVA, "SV-ADULT");
      b_.Fire("SV-ADULT",
              absl::StrCat(what, ", victim aged ", f_.victim_age(), ": ISVA"));
    } else if (!adult_) {
      RouteChild(what);
    }
  }

  // SV-CHILD
  void RouteChild(absl::string_view what) {
    if (!b_.On("SV-CHILD")) return;
    b_.AddPathway(v1::PATHWAY_CHISVA, "SV-CHILD");
    d_.set_safeguarding_notification(true);
    b_.Fire("SV-CHILD", absl::StrCat(what, ", victim aged ", f_.victim_age(),
                                     ": CHISVA and children's safeguarding"));
  }

  void CheckSarcWindow() {
    if (!f_.has_offence_time()) {
      b_.Missing("reporting.offence_time");
      return;
    }
    if (!f_.has_report_time() || !b_.On("SV-RECENT")) return;
    absl::Duration gap =
        FromTimestamp(f_.report_time()) - FromTimestamp(f_.offence_time());
    if (gap >= absl::ZeroDuration() &&
        gap <= absl::Hours(24) * cfg_.sarc_window_days()) {
      sv_recent_ = true;
      b_.AddPathway(v1::PATHWAY_SARC, "SV-RECENT");
      b_.Fire("SV-RECENT",
              absl::StrCat("offence ", absl::ToInt64Hours(gap) / 24,
                           " days before the report (<= ",
                           cfg_.sarc_window_days(), "): SARC, URGENT"));
    }
  }

  // STALK-SDASH, STALK-HIGH, STALK-STANDARD
  void AssessStalking() {
    const bool dash_q8 = has_dash_ && a_.dash_answers(7);
    if (stalking_ || dash_q8) {
      int sdash = static_cast<int>(std::count(a_.sdash_answers().begin(),
                                              a_.sdash_answers().end(), true));
      d_.set_sdash_score(sdash);
      const char* why = stalking_ ? " (stalking)" : " (DASH Q8)";
      if (has_sdash_) {
        b_.Fire("STALK-SDASH",
                absl::StrCat("S-DASH expected", why, "; score ", sdash));
      } else {
        b_.Missing("assessment.sdash_answers");
        b_.Fire("STALK-SDASH",
                absl::StrCat("S-DASH expected", why, " but not completed"));
      }
    }
    if (stalking_) RouteStalking();
  }

  void RouteStalking() {
    const int sdash = d_.sdash_score();
    const int threshold = cfg_.stalking_high_threshold();
    const bool by_sdash = has_sdash_ && sdash >= threshold;
    const bool high = by_sdash || pj_ || override_high_;
    if (high && b_.On("STALK-HIGH")) {
      b_.RaiseRisk(v1::RISK_LEVEL_HIGH);
      b_.AddPathway(v1::PATHWAY_ISAC, "STALK-HIGH");
      b_.AddPathway(v1::PATHWAY_STALKING_CLINIC, "STALK-HIGH");
      b_.Fire(
          "STALK-HIGH",
          by_sdash
              ? absl::StrCat("S-DASH ", sdash, " >= stalking high threshold ",
                             threshold, ": ISAC and stalking clinic")
              : std::string("stalking with professional judgement: ISAC "
                            "and stalking clinic"));
    } else if (!high && b_.On("STALK-STANDARD")) {
      b_.AddPathway(v1::PATHWAY_ISAC, "STALK-STANDARD");
      b_.Fire("STALK-STANDARD",
              has_sdash_
                  ? absl::StrCat("stalking, S-DASH ", sdash,
                                 " below high threshold ", threshold, ": ISAC")
                  : std::string("stalking, S-DASH not completed: ISAC (to "
                                "complete it)"));
      if (!has_sdash_ && !da_) d_.set_risk(v1::RISK_LEVEL_UNSPECIFIED);
    }
  }

  // Obligatory considerations: CONSIDER-SPO, CONSIDER-DVDS, CONSIDER-DAPN.
  void AddConsiderations() {
    const v1::Perpetrator& perp = f_.perpetrator();
    const bool partner =
        perp.relationship() == v1::PERPETRATOR_RELATIONSHIP_CURRENT_PARTNER ||
        perp.relationship() == v1::PERPETRATOR_RELATIONSHIP_FORMER_PARTNER;
    if (stalking_ && perp.known()) {
      b_.AddConsideration(v1::CONSIDERATION_SPO);
      b_.Fire("CONSIDER-SPO",
              "stalking with a known perpetrator: consider an SPO");
    }
    if (da_ || (stalking_ && partner)) {
      b_.AddConsideration(v1::CONSIDERATION_DVDS);
      b_.Fire("CONSIDER-DVDS",
              da_ ? "domestic abuse: consider a DVDS disclosure"
                  : "stalking by a current or former partner: consider a "
                    "DVDS disclosure");
    }
    if (da_ && d_.risk() == v1::RISK_LEVEL_HIGH && perp.known() &&
        perp.age() >= 18 && b_.On("CONSIDER-DAPN")) {
      b_.AddConsideration(v1::CONSIDERATION_DAPN);
      b_.Fire("CONSIDER-DAPN",
              absl::StrCat("domestic abuse at HIGH risk, perpetrator aged ",
                           perp.age(), ": consider a DAPN/DVPN"));
    }
  }

  // Perpetrator programmes: PERP-HIGH, PERP-STANDARD.
  void RoutePerpetrator() {
    if (!da_ || !f_.perpetrator().known() ||
        d_.risk() == v1::RISK_LEVEL_UNSPECIFIED) {
      return;
    }
    if (d_.risk() == v1::RISK_LEVEL_HIGH && b_.On("PERP-HIGH")) {
      b_.AddPathway(v1::PATHWAY_PERPETRATOR_PROGRAMME, "PERP-HIGH");
      b_.Fire("PERP-HIGH",
              "HIGH-risk domestic abuse, perpetrator known: high-harm "
              "perpetrator programme via MARAC");
    } else if (d_.risk() != v1::RISK_LEVEL_HIGH && b_.On("PERP-STANDARD")) {
      b_.AddPathway(v1::PATHWAY_PERPETRATOR_PROGRAMME, "PERP-STANDARD");
      b_.Fire("PERP-STANDARD",
              "standard/medium-risk domestic abuse, perpetrator known: "
              "perpetrator programme via the prevention hub");
    }
  }

  // HATE, and the sex-worker cohort.
  void RouteHateCrime() {
    const bool sex_worker = HasCohort(f_, v1::COHORT_FLAG_SEX_WORKER);
    if (!(HasHarm(f_, v1::HARM_TYPE_HATE_CRIME) || sex_worker) ||
        !b_.On("HATE")) {
      return;
    }
    d_.set_hate_crime(true);
    if (sex_worker) {
      b_.AddPathway(v1::PATHWAY_SPECIALIST_OUTREACH, "HATE");
      b_.Fire("HATE",
              "crime against a sex worker is recorded as hate crime: "
              "specialist outreach");
    } else {
      b_.Fire("HATE", "hate crime flagged");
    }
  }

  // SLAVERY: the specialist modern slavery service, whatever else applies.
  // Enhanced rights follow from ENHANCED.
  void RouteModernSlavery() {
    if (!HasHarm(f_, v1::HARM_TYPE_MODERN_SLAVERY) || !b_.On("SLAVERY")) {
      return;
    }
    b_.AddPathway(v1::PATHWAY_MODERN_SLAVERY, "SLAVERY");
    b_.Fire("SLAVERY",
            "modern slavery or trafficking: the specialist modern slavery "
            "service");
  }

  // RJ: restorative justice proceeds only with both consents. Until both
  // parties have given it there is no pathway (advocacy must not offer a
  // facilitator); the decision says what it waits for.
  void RouteRestorativeJustice() {
    const v1::Consent& consent = f_.consent();
    if (!consent.rj_requested() || !b_.On("RJ")) return;
    const v1::ConsentStatus victim = consent.rj_victim_consent();
    const v1::ConsentStatus offender = consent.rj_offender_consent();
    const bool victim_stopped = Stopped(victim);
    const bool offender_stopped = Stopped(offender);
    if (victim_stopped || offender_stopped) {
      b_.Fire("RJ",
              absl::StrCat(
                  "restorative justice stopped: ",
                  victim_stopped ? ConsentWord("victim", victim) : "",
                  victim_stopped && offender_stopped ? " and " : "",
                  offender_stopped ? ConsentWord("offender", offender) : ""));
      return;
    }
    const bool victim_ok = victim == v1::CONSENT_STATUS_GIVEN;
    const bool offender_ok = offender == v1::CONSENT_STATUS_GIVEN;
    if (victim_ok && offender_ok) {
      b_.AddPathway(v1::PATHWAY_RESTORATIVE_JUSTICE, "RJ");
      b_.Fire("RJ", "restorative justice: victim and offender consent given");
      return;
    }
    d_.set_rj_awaiting_consent(true);
    b_.Fire("RJ", absl::StrCat("restorative justice requested, waiting for ",
                               !victim_ok && !offender_ok
                                   ? "victim and offender"
                                   : (!victim_ok ? "victim" : "offender"),
                               " consent: no pathway until both are given"));
  }

  static bool Stopped(v1::ConsentStatus s) {
    return s == v1::CONSENT_STATUS_REFUSED || s == v1::CONSENT_STATUS_WITHDRAWN;
  }

  static std::string ConsentWord(absl::string_view party, v1::ConsentStatus s) {
    return absl::StrCat(
        party, " consent ",
        s == v1::CONSENT_STATUS_WITHDRAWN ? "withdrawn" : "refused");
  }

  // GENERAL: nothing else applies (and the assessment is not pending). A
  // referral waiting for RJ consent has a pathway in prospect, so general
  // support is not offered in its place.
  void RouteGeneral() {
    if (d_.pathways_size() == 0 && !d_.rj_awaiting_consent() &&
        d_.status() != v1::REFERRAL_STATUS_ASSESSMENT_INCOMPLETE &&
        b_.On("GENERAL")) {
      b_.AddPathway(v1::PATHWAY_GENERAL_SUPPORT, "GENERAL");
      b_.Fire("GENERAL", "no specialist pathway applies: general support");
    }
  }

  // CONSENT-PATHWAY: the victim may refuse or withdraw consent for one
  // service only; that pathway leaves the decision and the rest stand. It
  // runs after GENERAL so that general support does not replace a service
  // the victim declined.
  void ApplyPathwayConsents() {
    for (const v1::PathwayConsent& pc : f_.consent().pathway_consents()) {
      if (!Stopped(pc.status())) continue;
      if (!b_.RemovePathway(pc.pathway())) continue;
      b_.Fire(
          "CONSENT-PATHWAY",
          absl::StrCat(PathwayName(pc.pathway()), " removed: consent ",
                       pc.status() == v1::CONSENT_STATUS_WITHDRAWN ? "withdrawn"
                                                                   : "refused",
                       " for this pathway"));
    }
  }

  // ENHANCED Victims' Code rights.
  void GrantEnhancedRights() {
    std::vector<std::string> grounds;
    if (da_) {
      grounds.push_back(hba_fm_ && !HasHarm(f_, v1::HARM_TYPE_DOMESTIC_ABUSE)
                            ? "domestic abuse (honour-based abuse or forced "
                              "marriage)"
                            : "domestic abuse");
    }
    if (HasHarm(f_, v1::HARM_TYPE_FGM)) grounds.push_back("FGM");
    if (HasHarm(f_, v1::HARM_TYPE_MODERN_SLAVERY)) {
      grounds.push_back("modern slavery or trafficking");
    }
    if (sv_ || csa_non_recent_) grounds.push_back("sexual violence");
    if (d_.hate_crime() || HasHarm(f_, v1::HARM_TYPE_HATE_CRIME))
      grounds.push_back("hate crime");
    if (HasHarm(f_, v1::HARM_TYPE_BEREAVEMENT))
      grounds.push_back("bereavement");
    if (f_.persistently_targeted()) grounds.push_back("persistently targeted");
    if (f_.vulnerable_or_intimidated())
      grounds.push_back("vulnerable or intimidated");
    if (!adult_) grounds.push_back("under 18");
    if (!grounds.empty()) {
      d_.set_enhanced_rights(true);
      b_.Fire("ENHANCED", absl::StrCat("enhanced Victims' Code rights: ",
                                       absl::StrJoin(grounds, ", ")));
    }
  }

  // LANGUAGE
  void MatchLanguage() {
    const bool english =
        f_.language() == "en" || absl::StartsWith(f_.language(), "en-");
    if ((f_.interpreter_needed() || !english) && b_.On("LANGUAGE")) {
      d_.set_language_match_required(true);
      b_.Fire(
          "LANGUAGE",
          absl::StrCat("language '", f_.language(), "'",
                       f_.interpreter_needed() ? ", interpreter needed" : "",
                       ": advocate language match required"));
    }
  }

  // SPECIALISM: advocate specialisms the match prefers (never requires),
  // sorted and unique.
  void PreferSpecialisms() {
    if (!b_.On("SPECIALISM")) return;
    std::vector<std::string> wanted;
    for (const CohortSpecialism& c : kCohortSpecialisms) {
      if (HasCohort(f_, c.flag)) wanted.push_back(c.specialism);
    }
    if (f_.victim_age() >= kOlderPersonAge) wanted.push_back("older-people");
    if (wanted.empty()) return;
    std::sort(wanted.begin(), wanted.end());
    wanted.erase(std::unique(wanted.begin(), wanted.end()), wanted.end());
    for (const std::string& s : wanted) d_.add_preferred_specialisms(s);
    b_.Fire("SPECIALISM", absl::StrCat("advocate specialisms preferred: ",
                                       absl::StrJoin(wanted, ", ")));
  }

  // CONSENT: no partner referral without consent for DA / SV; MARAC
  // proceeds.
  void ApplyConsent() {
    if (!(da_ || sv_) ||
        f_.consent().referral_consent() == v1::CONSENT_STATUS_GIVEN) {
      return;
    }
    d_.set_status(v1::REFERRAL_STATUS_CONSENT_REQUIRED);
    if (d_.marac()) d_.set_legal_basis(cfg_.legal_basis_without_consent());
    b_.Fire(
        "CONSENT",
        d_.marac()
            ? absl::StrCat("referral consent not given: no partner referral; "
                           "MARAC proceeds on legal basis ",
                           cfg_.legal_basis_without_consent())
            : std::string("referral consent not given: no partner referral"));
  }

  // WITHDRAWN: the victim withdrew consent or the referrer cancelled. Every
  // partner referral stops (no pathways, nothing awaited). A MARAC referral
  // continues on its legal basis (DPA 2018 Sch 1 para 18), which is
  // recorded, unless the referral should never have been shared at all: the
  // person was erased, or the referrer says it was entered in error or is a
  // duplicate. Then it leaves MARAC too (no marac, no legal basis).
  // Considerations and the safeguarding flag stay: they are statutory duties,
  // not services the victim consented to.
  void ApplyWithdrawal() {
    if (f_.withdrawn() == v1::WITHDRAWAL_REASON_UNSPECIFIED) return;
    d_.set_status(v1::REFERRAL_STATUS_WITHDRAWN);
    d_.clear_pathways();
    d_.set_rj_awaiting_consent(false);
    const std::string why = absl::AsciiStrToLower(ShortName(
        v1::WithdrawalReason_Name(f_.withdrawn()), "WITHDRAWAL_REASON_"));
    // A referral that should not have been made (or whose person was
    // erased) raises no children's safeguarding notification either.
    if (LeavesMarac(f_.withdrawn())) d_.set_safeguarding_notification(false);
    if (d_.marac() && LeavesMarac(f_.withdrawn())) {
      d_.set_marac(false);
      d_.set_repeat_marac(false);
      d_.clear_legal_basis();
      b_.Fire(
          "WITHDRAWN",
          absl::StrCat("referral withdrawn (", why,
                       "): partner referrals stop; the referral leaves MARAC "
                       "too, as ",
                       f_.withdrawn() == v1::WITHDRAWAL_REASON_ERASED
                           ? "the person was erased"
                           : "it should not have been made",
                       ", so no legal basis for sharing it remains"));
    } else if (d_.marac()) {
      d_.set_legal_basis(cfg_.legal_basis_without_consent());
      b_.Fire("WITHDRAWN",
              absl::StrCat("referral withdrawn (", why,
                           "): partner referrals stop; MARAC proceeds on "
                           "legal basis ",
                           cfg_.legal_basis_without_consent()));
    } else {
      b_.Fire("WITHDRAWN", absl::StrCat("referral withdrawn (", why,
                                        "): partner referrals stop"));
    }
  }

  // Withdrawal reasons that void the referral itself, so no share survives.
  static bool LeavesMarac(v1::WithdrawalReason reason) {
    return reason == v1::WITHDRAWAL_REASON_ERASED ||
           reason == v1::WITHDRAWAL_REASON_ENTERED_IN_ERROR ||
           reason == v1::WITHDRAWAL_REASON_DUPLICATE;
  }

  void SetPriority() {
    if (sv_recent_) {
      d_.set_priority(v1::PRIORITY_URGENT);
    } else if (d_.risk() == v1::RISK_LEVEL_HIGH || d_.marac() || !adult_) {
      d_.set_priority(v1::PRIORITY_HIGH);
    } else {
      d_.set_priority(v1::PRIORITY_STANDARD);
    }
  }

  const Policy& policy_;
  const v1::TriagePolicy& cfg_;
  const v1::ReferralFacts& f_;
  const v1::Assessment& a_;
  const VictimHistory& history_;
  const RiskOverride* override_;
  v1::ReferralTriaged d_;
  DecisionBuilder b_;
  const bool hba_fm_;
  const bool da_;
  const bool sv_;
  const bool csa_non_recent_;
  const bool stalking_;
  const bool adult_;
  const bool has_dash_;
  const bool has_sdash_;
  bool pj_ = false;             // the referrer's PJ flags raised the risk
  bool override_high_ = false;  // a practitioner judged the risk HIGH
  bool sv_recent_ = false;      // SV-RECENT fired: SARC, URGENT
};

// The rule behind `current`'s risk, as " (RULE: reason)" for a refusal.
std::string RiskBasis(const v1::ReferralTriaged& current) {
  for (const auto& r : current.reasons()) {
    if (absl::StartsWith(r.rule_id(), "DASH") ||
        absl::StartsWith(r.rule_id(), "PJ") ||
        absl::StartsWith(r.rule_id(), "MARAC") ||
        absl::StartsWith(r.rule_id(), "STALK")) {
      return absl::StrCat(" (", r.rule_id(), ": ", r.reason(), ")");
    }
  }
  return "";
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
  return Evaluation(policy, f, history, override_risk).Run();
}

absl::Status RequireNotWithdrawn(const v1::ReferralFacts& facts) {
  if (facts.withdrawn() == v1::WITHDRAWAL_REASON_UNSPECIFIED) {
    return absl::OkStatus();
  }
  return errors::RuleViolation(
      "REFERRAL-WITHDRAWN", "referral_id",
      absl::StrCat("the referral was withdrawn (",
                   absl::AsciiStrToLower(
                       ShortName(v1::WithdrawalReason_Name(facts.withdrawn()),
                                 "WITHDRAWAL_REASON_")),
                   "): it can no longer be reassessed or overridden"));
}

absl::StatusOr<RiskOverride> ApplyOverride(const v1::ReferralTriaged& current,
                                           const RiskOverride& in_force,
                                           v1::RiskLevel requested,
                                           absl::string_view practitioner_id) {
  if (requested < current.risk()) {
    return errors::RuleViolation(
        "PJ-RAISE", "risk",
        absl::StrCat(
            "professional judgement only raises risk; the current risk is ",
            RiskName(current.risk()), RiskBasis(current),
            " and cannot be lowered to ", RiskName(requested)));
  }
  return RiskOverride{std::max(requested, in_force.risk),
                      std::string(practitioner_id)};
}

}  // namespace signpost::triage
