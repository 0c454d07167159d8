// The area's figures from every ReportingService (triage, advocacy, orders):
// `report` prints them as CSV (docs/operations.md, "Figures"), and the demo
// ends with a few of them as a table. Not thread-safe (uses the Cli).
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/cli/cli.h"
#include "signpost/v1/reporting.pb.h"

namespace signpost::cli {

// Every producer's figures for the area and period; the first failure is
// returned as the producer's status, naming it.
absl::StatusOr<std::vector<v1::GetFiguresResponse>> FetchFigures(
    const Cli& cli, const std::string& area, absl::Time from, absl::Time to);

// The demo's closing table: a few key figures of `area` for the last 30
// days. Returns the exit code.
int PrintFiguresTable(const Cli& cli, const std::string& area);

}  // namespace signpost::cli
