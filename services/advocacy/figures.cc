#include "services/advocacy/figures.h"

#include <map>
#include <string>
#include <utility>

#include "common/status/macros.h"

namespace signpost::advocacy {
namespace {

using reporting::FigureBuilder;

constexpr double kMillisPerHour = 3600.0 * 1000.0;

double Hours(int64_t from_ms, int64_t to_ms) {
  return static_cast<double>(to_ms - from_ms) / kMillisPerHour;
}

struct Period {
  int64_t from_ms, to_ms, now_ms;
  bool Contains(int64_t ms) const {
    return ms > 0 && ms >= from_ms && ms < to_ms;
  }
};

// Met and counted for one deadline kind.
struct Tally {
  int64_t met = 0;
  int64_t base = 0;
};

// A deadline `due_ms` in the period, met when `done_ms` (0: not done) came
// by it. Counted once it is settled: done, or due by now. Not counted when
// the assignment ended undone before it fell due (released, closed).
void CountDeadline(const Period& p, int64_t due_ms, int64_t done_ms,
                   int64_t closed_ms, Tally& tally) {
  if (!p.Contains(due_ms)) return;
  if (done_ms == 0 && due_ms > p.now_ms) return;
  if (done_ms == 0 && closed_ms > 0 && closed_ms < due_ms) return;
  ++tally.base;
  if (done_ms > 0 && done_ms <= due_ms) ++tally.met;
}

bool Asked(v1::OutcomeAnswer a) {
  return a == v1::OUTCOME_ANSWER_YES || a == v1::OUTCOME_ANSWER_NO;
}

// One outcome question: closure answers, and baseline + closure pairs.
struct Question {
  const char* name;
  v1::OutcomeAnswer AssignmentFigureRow::*closure;
  v1::OutcomeAnswer AssignmentFigureRow::*baseline;
};
constexpr Question kQuestions[] = {
    {"feels_safer", &AssignmentFigureRow::feels_safer,
     &AssignmentFigureRow::baseline_feels_safe},
    {"copes_better", &AssignmentFigureRow::copes_better,
     &AssignmentFigureRow::baseline_copes},
    {"better_informed", &AssignmentFigureRow::better_informed,
     &AssignmentFigureRow::baseline_informed},
};

void FirstContact(const Period& p, const std::vector<AssignmentFigureRow>& rows,
                  FigureBuilder& b) {
  std::vector<double> all;
  std::map<std::string, std::vector<double>> by_pathway, by_provider;
  for (const AssignmentFigureRow& r : rows) {
    if (!IsVictimSupport(r.pathway, r.service)) continue;
    if (!p.Contains(r.first_contact_at_ms)) continue;
    const double h = Hours(r.created_at_ms, r.first_contact_at_ms);
    all.push_back(h);
    by_pathway[v1::Pathway_Name(r.pathway)].push_back(h);
    if (!r.provider_id.empty()) by_provider[r.provider_id].push_back(h);
  }
  b.MedianAndP90("first_contact", {}, "", all);
  for (const auto& [pathway, hours] : by_pathway) {
    b.MedianAndP90("first_contact", {{"pathway", pathway}}, "", hours);
  }
  for (const auto& [provider, hours] : by_provider) {
    b.MedianAndP90("first_contact", {{"provider", provider}}, "", hours);
  }
}

void Deadlines(const Period& p, const std::vector<AssignmentFigureRow>& rows,
               const std::vector<UpdateGiven>& updates, FigureBuilder& b) {
  Tally first_contact, referral, update;
  // SLA-VCOP-REFERRAL is one deadline per referral (held on one of its
  // assignments), met by the referral's first offer of any support.
  struct ReferralDeadline {
    int64_t due_ms = 0, first_offer_ms = 0, closed_ms = 0;
  };
  std::map<std::string, ReferralDeadline> by_referral;
  for (const AssignmentFigureRow& r : rows) {
    if (!IsVictimSupport(r.pathway, r.service)) continue;
    CountDeadline(p, r.first_contact_due_ms, r.first_contact_at_ms,
                  r.closed_at_ms, first_contact);
    ReferralDeadline& d = by_referral[r.referral_id];
    if (r.referral_due_ms > 0) {
      d.due_ms = r.referral_due_ms;
      d.closed_ms = r.closed_at_ms;
    }
    if (r.offered_at_ms > 0 &&
        (d.first_offer_ms == 0 || r.offered_at_ms < d.first_offer_ms)) {
      d.first_offer_ms = r.offered_at_ms;
    }
    // A missed update with none given since: a miss in the base.
    if (p.Contains(r.update_missed_ms)) ++update.base;
  }
  for (const auto& [id, d] : by_referral) {
    CountDeadline(p, d.due_ms, d.first_offer_ms, d.closed_ms, referral);
  }
  for (const UpdateGiven& u : updates) {
    if (!IsVictimSupport(u.pathway, u.service) || u.due_ms == 0) continue;
    ++update.base;
    update.met += u.within_deadline;
  }
  b.Percentage("deadlines", {{"deadline", "FIRST_CONTACT"}}, "met_percent",
               first_contact.met, first_contact.base);
  b.Percentage("deadlines", {{"deadline", "VCOP_REFERRAL"}}, "met_percent",
               referral.met, referral.base);
  b.Percentage("deadlines", {{"deadline", "UPDATES"}}, "met_percent",
               update.met, update.base);
}

void Waitlist(const Period& p, const std::vector<AssignmentFigureRow>& rows,
              FigureBuilder& b) {
  int64_t waiting = 0;
  std::vector<double> waited;
  for (const AssignmentFigureRow& r : rows) {
    if (!IsVictimSupport(r.pathway, r.service)) continue;
    waiting += r.state == v1::ASSIGNMENT_STATE_WAITLISTED;
    if (r.waitlisted_at_ms > 0 && p.Contains(r.offered_at_ms) &&
        r.offered_at_ms >= r.waitlisted_at_ms) {
      waited.push_back(Hours(r.waitlisted_at_ms, r.offered_at_ms));
    }
  }
  b.Count("waitlist", {}, "waiting_now", waiting);
  b.MedianAndP90("waitlist", {}, "wait_", waited);
}

void Providers(const std::vector<OfferAnswer>& answers, FigureBuilder& b) {
  struct Answers {
    int64_t accepted = 0, declined = 0, all = 0;
  };
  std::map<std::string, Answers> by_provider;
  for (const OfferAnswer& a : answers) {
    if (a.provider_id.empty()) continue;
    Answers& n = by_provider[a.provider_id];
    ++n.all;
    n.accepted += a.step == "ACCEPTED";
    n.declined += a.step == "DECLINED";
  }
  for (const auto& [provider, n] : by_provider) {
    b.Percentage("providers", {{"provider", provider}}, "accepted_percent",
                 n.accepted, n.all);
    b.Percentage("providers", {{"provider", provider}}, "declined_percent",
                 n.declined, n.all);
  }
}

void Outcomes(const Period& p, const std::vector<AssignmentFigureRow>& rows,
              FigureBuilder& b) {
  for (const Question& q : kQuestions) {
    int64_t asked = 0, yes = 0, paired = 0, baseline_yes = 0, closure_yes = 0;
    for (const AssignmentFigureRow& r : rows) {
      if (!IsVictimSupport(r.pathway, r.service)) continue;
      if (r.state != v1::ASSIGNMENT_STATE_CLOSED ||
          !p.Contains(r.closed_at_ms)) {
        continue;
      }
      const v1::OutcomeAnswer at_close = r.*q.closure;
      const v1::OutcomeAnswer at_start = r.*q.baseline;
      if (!Asked(at_close)) continue;
      ++asked;
      yes += at_close == v1::OUTCOME_ANSWER_YES;
      if (!Asked(at_start)) continue;
      ++paired;
      baseline_yes += at_start == v1::OUTCOME_ANSWER_YES;
      closure_yes += at_close == v1::OUTCOME_ANSWER_YES;
    }
    const reporting::Labels labels = {{"question", q.name}};
    b.Percentage("outcomes", labels, "yes_percent", yes, asked);
    b.Percentage("outcomes", labels, "baseline_yes_percent", baseline_yes,
                 paired);
    b.Percentage("outcomes", labels, "paired_yes_percent", closure_yes, paired);
    b.Value("outcomes", labels, "change_points",
            reporting::RoundTenth(reporting::Percent(closure_yes, paired) -
                                  reporting::Percent(baseline_yes, paired)),
            paired);
  }
}

}  // namespace

bool IsVictimSupport(v1::Pathway pathway, v1::ServiceKind service) {
  if (pathway == v1::PATHWAY_PERPETRATOR_PROGRAMME) return false;
  switch (service) {
    case v1::SERVICE_KIND_PERPETRATOR_HIGH_HARM:
    case v1::SERVICE_KIND_PERPETRATOR_STANDARD:
    case v1::SERVICE_KIND_CHILDREN_SAFEGUARDING:
    case v1::SERVICE_KIND_MARAC:
      return false;
    default:
      return true;
  }
}

std::vector<v1::Figure> ComputeAdvocacyFigures(
    const reporting::FigureQuery& query,
    const std::vector<AssignmentFigureRow>& rows,
    const std::vector<OfferAnswer>& answers,
    const std::vector<UpdateGiven>& updates) {
  const Period p{absl::ToUnixMillis(query.from), absl::ToUnixMillis(query.to),
                 absl::ToUnixMillis(query.now)};
  FigureBuilder b(query.threshold);
  FirstContact(p, rows, b);
  Deadlines(p, rows, updates, b);
  Waitlist(p, rows, b);
  Providers(answers, b);
  Outcomes(p, rows, b);
  return b.Take();
}

absl::StatusOr<std::vector<v1::Figure>> AdvocacyFigures(
    store::Database& db, const reporting::FigureQuery& query) {
  struct Read {
    std::vector<AssignmentFigureRow> rows;
    std::vector<OfferAnswer> answers;
    std::vector<UpdateGiven> updates;
  };
  ASSIGN_OR_RETURN(
      Read read, db.Read([&](store::Tx& tx) -> absl::StatusOr<Read> {
        Read r;
        ASSIGN_OR_RETURN(r.rows, AssignmentsForFigures(tx, query.area_code,
                                                       query.from, query.to));
        ASSIGN_OR_RETURN(
            r.answers, OfferAnswers(tx, query.area_code, query.from, query.to));
        ASSIGN_OR_RETURN(
            r.updates, UpdatesGiven(tx, query.area_code, query.from, query.to));
        return r;
      }));
  return ComputeAdvocacyFigures(query, read.rows, read.answers, read.updates);
}

}  // namespace signpost::advocacy
