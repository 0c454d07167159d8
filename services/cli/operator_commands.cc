// Operator subcommands: health, wait-healthy, rotate-kek.
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/crypto/person_keys.h"
#include "common/status/macros.h"
#include "common/store/database.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "services/cli/commands.h"

namespace signpost::cli {
namespace {

using grpc::health::v1::HealthCheckResponse;

// The addresses given, or every service's.
std::vector<std::string> AddressesOr(const Cli& cli,
                                     const std::vector<std::string>& given) {
  if (!given.empty()) return given;
  std::vector<std::string> all;
  for (Service s : kAllServices) all.push_back(cli.Address(s));
  return all;
}

// One Check of each address: exit 0 when every one is SERVING, 1 when one
// answers otherwise, the call's code when one cannot be asked.
int Health(const Cli& cli, const std::vector<std::string>& addrs,
           const std::string& service) {
  int worst = kExitOk;
  for (const std::string& addr : addrs) {
    auto stub = grpc::health::v1::Health::NewStub(cli.Dial(addr));
    grpc::ClientContext ctx;
    cli.SetDeadline(&ctx);
    grpc::health::v1::HealthCheckRequest req;
    req.set_service(service);
    HealthCheckResponse resp;
    grpc::Status s = stub->Check(&ctx, req, &resp);
    if (!s.ok()) {
      worst = std::max(worst, cli.Fail("health " + addr, s));
      continue;
    }
    if (cli.format() == Format::kJson) {
      cli.printer().Print(resp);
    } else {
      std::printf(
          "%s %s\n", addr.c_str(),
          HealthCheckResponse::ServingStatus_Name(resp.status()).c_str());
      std::fflush(stdout);
    }
    if (resp.status() != HealthCheckResponse::SERVING) {
      worst = std::max(worst, kExitProblem);
    }
  }
  return worst;
}

// Polls each address until it is SERVING; 1 when `timeout` passes first.
int WaitHealthy(const Cli& cli, const std::vector<std::string>& addrs,
                absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  for (const std::string& addr : addrs) {
    auto stub = grpc::health::v1::Health::NewStub(cli.Dial(addr));
    while (true) {
      grpc::ClientContext ctx;
      cli.SetDeadline(&ctx, absl::Seconds(1));
      grpc::health::v1::HealthCheckRequest req;
      HealthCheckResponse resp;
      grpc::Status s = stub->Check(&ctx, req, &resp);
      if (s.ok() && resp.status() == HealthCheckResponse::SERVING) break;
      if (absl::Now() > deadline) {
        return cli.Fail(
            "wait-healthy",
            absl::StrCat(
                addr, " not SERVING after ", absl::FormatDuration(timeout),
                s.ok() ? "" : absl::StrCat(" (", DescribeStatus(s), ")")),
            kExitProblem);
      }
      absl::SleepFor(absl::Milliseconds(200));
    }
  }
  return kExitOk;
}

// Re-wraps every data key in one service's store with the key file's first
// (active) key. The data is not rewritten. The old keys must still be in the
// file; remove them only after this succeeds, for every service.
int RotateKek(const std::string& db_path, const std::string& kek_file) {
  absl::StatusOr<std::shared_ptr<const crypto::PersonKeys>> keys =
      crypto::LoadPersonKeys("--kek_file", kek_file);
  if (!keys.ok()) {
    std::fprintf(stderr, "signpost-cli: %s\n",
                 std::string(keys.status().message()).c_str());
    return 2;
  }
  // An existing database only: a mistyped path must not make an empty one
  // and report success.
  if (::access(db_path.c_str(), R_OK | W_OK) != 0) {
    std::fprintf(stderr, "signpost-cli: --db_path: %s: no such database\n",
                 db_path.c_str());
    return 2;
  }
  absl::StatusOr<std::unique_ptr<store::Database>> db =
      store::Database::OpenExisting(db_path);
  if (!db.ok()) {
    std::fprintf(stderr, "signpost-cli: --db_path: %s\n",
                 std::string(db.status().message()).c_str());
    return 2;
  }
  absl::StatusOr<int> rewrapped =
      (*db)->Write([&](store::Tx& tx) -> absl::StatusOr<int> {
        RETURN_IF_ERROR((*keys)->CheckAll(tx));
        return (*keys)->RotateAll(tx);
      });
  if (!rewrapped.ok()) {
    std::fprintf(stderr, "signpost-cli: rotate-kek: %s\n",
                 std::string(rewrapped.status().message()).c_str());
    return 1;
  }
  std::printf("rewrapped=%d active_key=%s\n", *rewrapped,
              (*keys)->keyring().active_id().c_str());
  return 0;
}

}  // namespace

void AddOperatorCommands(CLI::App& app, Cli& cli) {
  struct Args {
    std::vector<std::string> addrs;
    std::string service;
    double timeout_s = 60;
    std::string db_path, kek_file;
  };
  auto args = std::make_shared<Args>();
  CLI::App* health = app.add_subcommand(
      "health",
      "one health Check of each ADDR (default: every service); exit 0 when "
      "all are SERVING, 1 when one is not");
  health->add_option("ADDR", args->addrs, "addresses to check");
  health->add_option("--service", args->service,
                     "the service name to check (e.g. "
                     "signpost.v1.IntakeService); default the whole server");
  OnRun(health, cli, [&cli, args]() {
    return Health(cli, AddressesOr(cli, args->addrs), args->service);
  });
  CLI::App* wait = app.add_subcommand(
      "wait-healthy",
      "wait until each ADDR (default: every service) is SERVING");
  wait->add_option("ADDR", args->addrs, "addresses to wait for");
  wait->add_option("--timeout_s", args->timeout_s, "how long to wait")
      ->capture_default_str();
  OnRun(wait, cli, [&cli, args]() {
    return WaitHealthy(cli, AddressesOr(cli, args->addrs),
                       absl::Seconds(args->timeout_s));
  });
  CLI::App* rotate = app.add_subcommand(
      "rotate-kek",
      "re-wrap every data key of one service's database with the key file's "
      "first key (run with the service stopped)");
  rotate->add_option("--db_path", args->db_path, "the service's database")
      ->required();
  rotate
      ->add_option("--kek_file", args->kek_file,
                   "the key file, new key first, old keys kept")
      ->required();
  OnRun(rotate, cli,
        [args]() { return RotateKek(args->db_path, args->kek_file); });
}

}  // namespace signpost::cli
