// Orders' figures (section "orders"): per calendar month of the period, in
// `zone` (the orders calendar's, Europe/London), the considerations opened
// and decided, applications, grants and breaches of the area, from one read
// transaction. Every month the period touches gets every measure, so a
// month with none shows (suppressed) rather than vanishing. Thread-safe.
#pragma once

#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/reporting/figures.h"
#include "common/store/database.h"

namespace signpost::orders {

absl::StatusOr<std::vector<v1::Figure>> OrdersFigures(
    store::Database& db, const absl::TimeZone& zone,
    const reporting::FigureQuery& query);

}  // namespace signpost::orders
