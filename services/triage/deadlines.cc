#include "services/triage/deadlines.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/calendar/working_calendar.h"
#include "common/time/timestamps.h"

namespace signpost::triage {

void AddDeadlines(const Policy& policy, const v1::ReferralFacts& f,
                  v1::ReferralTriaged& d, DecisionBuilder& b) {
  if (!f.has_report_time()) {
    b.Missing("reporting.report_time");
    return;
  }
  const calendar::WorkingCalendar& cal = policy.calendar();
  const v1::DeadlineParameters& p = policy.config().deadlines();
  absl::Time report = timeutil::FromTimestamp(f.report_time());
  std::string from = calendar::FormatLocal(report, cal.zone());
  auto add = [&](const std::string& kind, const char* rule, int days,
                 v1::Pathway pathway = v1::PATHWAY_UNSPECIFIED) -> bool {
    absl::StatusOr<absl::Time> due = cal.EndOfWorkingDays(report, days);
    if (!due.ok()) {
      b.Missing(
          absl::StrCat("reporting.report_time (", due.status().message(), ")"));
      return false;
    }
    v1::Deadline* dl = d.add_deadlines();
    dl->set_kind(kind);
    *dl->mutable_due() = timeutil::ToTimestamp(*due);
    dl->set_rule_id(rule);
    dl->set_pathway(pathway);
    dl->set_basis(absl::StrCat(days, " working day", days == 1 ? "" : "s",
                               " from ", from, " (", cal.zone().name(), ")"));
    b.Fire(rule, absl::StrCat(kind == "VCOP_REFERRAL"
                                  ? std::string("referral to support")
                                  : absl::StrCat("first contact (",
                                                 PathwayName(pathway), ")"),
                              " due ", calendar::FormatLocal(*due, cal.zone()),
                              ": ", dl->basis()));
    return true;
  };

  if (f.reported_to_police() && b.On("SLA-VCOP-REFERRAL")) {
    add("VCOP_REFERRAL", "SLA-VCOP-REFERRAL", p.vcop_referral_working_days());
  }

  // First contact: one deadline per pathway, each from the earliest of
  // the contact rules that apply to it. A SARC counts calendar hours
  // (SLA-SARC-CONTACT): it works around the clock and the forensic window
  // is days.
  for (int value : d.pathways()) {
    const auto pathway = static_cast<v1::Pathway>(value);
    if (pathway == v1::PATHWAY_SARC && b.On("SLA-SARC-CONTACT")) {
      const int hours =
          p.urgent_contact_hours() > 0 ? p.urgent_contact_hours() : 24;
      const absl::Time due = report + absl::Hours(hours);
      v1::Deadline* dl = d.add_deadlines();
      dl->set_kind("FIRST_CONTACT");
      dl->set_pathway(pathway);
      *dl->mutable_due() = timeutil::ToTimestamp(due);
      dl->set_rule_id("SLA-SARC-CONTACT");
      dl->set_basis(absl::StrCat(hours, " hours from ", from, " (",
                                 cal.zone().name(), ")"));
      b.Fire("SLA-SARC-CONTACT",
             absl::StrCat("first contact (SARC) due ",
                          calendar::FormatLocal(due, cal.zone()), ": ",
                          dl->basis()));
      continue;
    }
    struct Candidate {
      const char* rule;
      int days;
    };
    std::vector<Candidate> candidates;
    const bool sv =
        pathway == v1::PATHWAY_ISVA || pathway == v1::PATHWAY_CHISVA;
    if (sv && b.On("SLA-SV-CONTACT")) {
      candidates.push_back({"SLA-SV-CONTACT", p.sv_contact_working_days()});
    }
    if (d.risk() == v1::RISK_LEVEL_HIGH && b.On("SLA-HIGH-CONTACT")) {
      candidates.push_back({"SLA-HIGH-CONTACT", p.high_contact_working_days()});
    }
    if (candidates.empty() && b.On("SLA-STANDARD-CONTACT")) {
      candidates.push_back(
          {"SLA-STANDARD-CONTACT", p.standard_contact_working_days()});
    }
    if (candidates.empty()) continue;
    const Candidate& best = *std::min_element(
        candidates.begin(), candidates.end(),
        [](const Candidate& a, const Candidate& c) { return a.days < c.days; });
    add("FIRST_CONTACT", best.rule, best.days, pathway);
  }

  int updates = d.enhanced_rights() ? p.updates_enhanced_working_days()
                                    : p.updates_standard_working_days();
  d.set_updates_working_days(updates);
  b.Fire("SLA-UPDATES",
         absl::StrCat("updates within ", updates, " working day",
                      updates == 1 ? "" : "s",
                      d.enhanced_rights() ? " (enhanced rights)" : ""));
}

}  // namespace signpost::triage
