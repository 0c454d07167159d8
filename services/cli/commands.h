// The CLI's subcommands, one function per family: each adds its subcommands
// to the root app. Every RPC subcommand goes through AddRpc (cli.h).
#pragma once

#include "CLI/CLI.hpp"
#include "services/cli/cli.h"

namespace signpost::cli {

// submit, get, consent, cancel, rj-consent, erase, stalled (IntakeService).
void AddIntakeCommands(CLI::App& app, Cli& cli);
// decision, reassess, override (TriageService) and marac (its agenda and
// MaracService).
void AddTriageCommands(CLI::App& app, Cli& cli);
// worklist, accept, decline, contact, update, close, capacity, assignments
// and directory (AdvocacyService).
void AddAdvocacyCommands(CLI::App& app, Cli& cli);
// orders and review-queue (OrderService).
void AddOrderCommands(CLI::App& app, Cli& cli);
// deliveries, subscribe and replay (NotificationService, OutboxService).
void AddNotificationCommands(CLI::App& app, Cli& cli);
// report (ReportingService, as CSV).
void AddReportCommands(CLI::App& app, Cli& cli);
// audit verify|timeline|access.
void AddAuditCommands(CLI::App& app, Cli& cli);
// health, wait-healthy, rotate-kek.
void AddOperatorCommands(CLI::App& app, Cli& cli);
// demo and load.
void AddDemoCommands(CLI::App& app, Cli& cli);

}  // namespace signpost::cli
