// Triage's figures (section "referrals"): referrals received in the period
// by source, by pathway, and by source and pathway, from one read
// transaction. Referrals withdrawn as entered in error or duplicates are
// left out: they were never real referrals. Thread-safe.
#pragma once

#include <vector>

#include "absl/status/statusor.h"
#include "common/reporting/figures.h"
#include "common/store/database.h"

namespace signpost::triage {

absl::StatusOr<std::vector<v1::Figure>> TriageFigures(
    store::Database& db, const reporting::FigureQuery& query);

}  // namespace signpost::triage
