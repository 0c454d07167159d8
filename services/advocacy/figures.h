// Advocacy's figures, from one read transaction over the area's
// assignments (docs/api-and-events.md, "Figures"):
//   first_contact  hours from assignment to first contact (median, p90),
//                  overall, per pathway and per provider;
//   deadlines      share of Victims' Code deadlines met: FIRST_CONTACT,
//                  VCOP_REFERRAL (offered to a service by its due), UPDATES;
//   waitlist       waiting now, and hours waited by those offered from the
//                  waitlist in the period (median, p90);
//   providers      acceptance and decline rates of offers per provider;
//   outcomes       % YES at closure among those asked, and for those asked
//                  both at first contact and at closure the baseline and
//                  closure % YES and the change in points.
// Victim measures leave out perpetrator programmes, MARAC and the
// children's safeguarding notification: those are not support given to
// the victim. Thread-safe.
#pragma once

#include <vector>

#include "absl/status/statusor.h"
#include "common/reporting/figures.h"
#include "common/store/database.h"
#include "services/advocacy/figures_store.h"

namespace signpost::advocacy {

// True for an assignment that is victim support (counted in the victim
// measures).
bool IsVictimSupport(v1::Pathway pathway, v1::ServiceKind service);

// The figures of `rows`, `answers` and `updates` for `query` (pure).
std::vector<v1::Figure> ComputeAdvocacyFigures(
    const reporting::FigureQuery& query,
    const std::vector<AssignmentFigureRow>& rows,
    const std::vector<OfferAnswer>& answers,
    const std::vector<UpdateGiven>& updates);

absl::StatusOr<std::vector<v1::Figure>> AdvocacyFigures(
    store::Database& db, const reporting::FigureQuery& query);

}  // namespace signpost::advocacy
