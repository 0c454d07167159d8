// `report` and the figures the demo ends with.
#include <algorithm>
#include <cstdio>
#include <memory>
#include <tuple>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/reporting/figures.h"
#include "common/time/timestamps.h"
#include "services/cli/commands.h"
#include "services/cli/figures.h"
#include "signpost/v1/reporting.grpc.pb.h"

namespace signpost::cli {
namespace {

// The services that serve ReportingService, in report order.
constexpr Service kFigureProducers[] = {Service::kTriage, Service::kAdvocacy,
                                        Service::kOrders};

std::string Short(absl::string_view name, absl::string_view prefix) {
  absl::ConsumePrefix(&name, prefix);
  return std::string(name);
}

// A CSV field, quoted when it holds a comma, quote or line break.
std::string CsvField(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  return absl::StrCat("\"", absl::StrReplaceAll(s, {{"\"", "\"\""}}), "\"");
}

// One CSV line per figure (docs/operations.md, "Figures"); a suppressed
// figure has empty value and base.
void PrintFiguresCsv(const std::vector<v1::GetFiguresResponse>& responses) {
  std::printf(
      "producer,area_code,from,to,threshold,section,labels,measure,value,"
      "base,suppressed\n");
  for (const v1::GetFiguresResponse& r : responses) {
    const std::string from =
        absl::FormatTime(absl::RFC3339_sec, timeutil::FromTimestamp(r.from()),
                         absl::UTCTimeZone());
    const std::string to =
        absl::FormatTime(absl::RFC3339_sec, timeutil::FromTimestamp(r.to()),
                         absl::UTCTimeZone());
    for (const v1::Figure& f : r.figures()) {
      std::printf("%s,%s,%s,%s,%d,%s,%s,%s,%s,%s,%s\n",
                  CsvField(r.producer()).c_str(),
                  CsvField(r.area_code()).c_str(), from.c_str(), to.c_str(),
                  r.suppression_threshold(), CsvField(f.section()).c_str(),
                  CsvField(reporting::LabelsText(f)).c_str(),
                  CsvField(f.measure()).c_str(),
                  f.suppressed() ? "" : absl::StrCat(f.value()).c_str(),
                  f.suppressed() ? "" : absl::StrCat(f.base()).c_str(),
                  f.suppressed() ? "true" : "false");
    }
  }
}

// A figure for people: "<5" when suppressed, else the value in its unit.
std::string FigureText(const v1::Figure& f, int threshold) {
  if (f.suppressed()) return absl::StrCat("<", threshold);
  if (absl::EndsWith(f.measure(), "_percent")) {
    return absl::StrFormat("%.1f%%", f.value());
  }
  if (absl::EndsWith(f.measure(), "_hours")) {
    return absl::StrFormat("%.1f h", f.value());
  }
  return absl::StrCat(f.value());
}

}  // namespace

absl::StatusOr<std::vector<v1::GetFiguresResponse>> FetchFigures(
    const Cli& cli, const std::string& area, absl::Time from, absl::Time to) {
  v1::GetFiguresRequest req;
  req.set_area_code(area);
  *req.mutable_from() = timeutil::ToTimestamp(from);
  *req.mutable_to() = timeutil::ToTimestamp(to);
  std::vector<v1::GetFiguresResponse> out;
  for (Service producer : kFigureProducers) {
    const std::string name = ServiceName(producer);
    auto stub = v1::ReportingService::NewStub(cli.Dial(producer));
    grpc::ClientContext ctx;
    cli.SetDeadline(&ctx, std::max(cli.timeout(), absl::Seconds(30)));
    v1::GetFiguresResponse resp;
    grpc::Status s = stub->GetFigures(&ctx, req, &resp);
    if (!s.ok()) {
      return absl::Status(
          static_cast<absl::StatusCode>(s.error_code()),
          absl::StrCat(name, ": GetFigures failed: ", DescribeStatus(s)));
    }
    out.push_back(std::move(resp));
  }
  return out;
}

int PrintFiguresTable(const Cli& cli, const std::string& area) {
  const absl::Time to = absl::Now() + absl::Hours(1);
  absl::StatusOr<std::vector<v1::GetFiguresResponse>> figures =
      FetchFigures(cli, area, to - absl::Hours(24 * 30), to);
  if (!figures.ok()) {
    return cli.Fail("figures", std::string(figures.status().message()),
                    kExitProblem);
  }
  int threshold = figures->empty() ? reporting::kMinSuppressionThreshold
                                   : figures->front().suppression_threshold();
  // (section, labels, measure) -> shown as
  const std::vector<
      std::tuple<std::string, std::string, std::string, std::string>>
      rows = {
          {"referrals", "", "count", "referrals received"},
          {"referrals", "source=", "count", "  from "},
          {"referrals", "", "marac_count", "referrals to MARAC"},
          {"first_contact", "", "median_hours", "first contact, median"},
          {"first_contact", "", "p90_hours", "first contact, 90th percentile"},
          {"deadlines", "deadline=FIRST_CONTACT", "met_percent",
           "first-contact deadlines met"},
          {"deadlines", "deadline=VCOP_REFERRAL", "met_percent",
           "referral deadlines met"},
          {"deadlines", "deadline=UPDATES", "met_percent", "updates on time"},
          {"waitlist", "", "waiting_now", "waiting now"},
          {"waitlist", "", "wait_median_hours", "waited, median"},
          {"orders", "month=", "considerations_opened",
           "order considerations opened, "},
          {"orders", "month=", "grants", "orders granted, "},
      };
  std::printf(
      "\nFigures for %s, last 30 days (counts below %d shown as <%d):\n",
      area.c_str(), threshold, threshold);
  for (const auto& [section, labels, measure, title] : rows) {
    for (const v1::GetFiguresResponse& r : *figures) {
      for (const v1::Figure& f : r.figures()) {
        const std::string text = reporting::LabelsText(f);
        const bool prefix = absl::EndsWith(labels, "=");
        if (f.section() != section || f.measure() != measure) continue;
        if (prefix ? !(absl::StartsWith(text, labels) &&
                       text.find(';') == std::string::npos)
                   : text != labels) {
          continue;
        }
        std::string name = title;
        if (prefix) {
          name += Short(text.substr(labels.size()), "REFERRAL_SOURCE_");
        }
        std::printf("  %-40s %s\n", name.c_str(),
                    FigureText(f, r.suppression_threshold()).c_str());
      }
    }
  }
  return 0;
}

void AddReportCommands(CLI::App& app, Cli& cli) {
  CLI::App* sub = app.add_subcommand(
      "report",
      "GetFigures from triage, advocacy and orders: CSV (one line per "
      "figure), or one JSON document per producer with -o json");
  struct Args {
    std::string area, from, to;
    bool csv = false;
  };
  auto args = std::make_shared<Args>();
  sub->add_option("--area,--area_code", args->area, "the area code")
      ->required();
  sub->add_option("--from", args->from, "YYYY-MM-DD or RFC 3339")->required();
  sub->add_option("--to", args->to, "YYYY-MM-DD or RFC 3339")->required();
  sub->add_flag("--csv", args->csv, "CSV (the default for -o table)");
  OnRun(sub, cli, [&cli, args]() {
    absl::StatusOr<absl::Time> from = ParseTime(args->from);
    absl::StatusOr<absl::Time> to = ParseTime(args->to);
    for (const auto& t : {from, to}) {
      if (!t.ok()) {
        return cli.Fail("report", std::string(t.status().message()),
                        kExitUsage);
      }
    }
    absl::StatusOr<std::vector<v1::GetFiguresResponse>> figures =
        FetchFigures(cli, args->area, *from, *to);
    if (!figures.ok()) {
      return cli.Fail(
          "report", std::string(figures.status().message()),
          ExitCodeOf(grpc::Status(
              static_cast<grpc::StatusCode>(figures.status().code()), "")));
    }
    if (cli.format() == Format::kJson) {
      for (const v1::GetFiguresResponse& r : *figures) cli.printer().Print(r);
    } else {
      PrintFiguresCsv(*figures);
    }
    return kExitOk;
  });
}

}  // namespace signpost::cli
