// Intake's test settings: a fresh random matching key, the default link
// window, and the shipped retention policy.
#pragma once

#include "common/crypto/keyring.h"
#include "services/intake/intake_app.h"
#include "services/intake/retention.h"
#include "tests/support/test_support.h"

namespace signpost::intake {

inline IntakeOptions TestIntakeOptions() {
  IntakeOptions options;
  options.matching_key =
      crypto::RandomBytes(crypto::kKeyBytes).value_or(std::string(32, 'm'));
  absl::StatusOr<v1::RetentionPolicy> retention = LoadRetentionPolicy(
      signpost::testing::SourcePath("deploy/policy/retention.textproto"));
  if (retention.ok()) options.retention = *retention;
  return options;
}

}  // namespace signpost::intake
