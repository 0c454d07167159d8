// Loads the shipped policies (deploy/policy) with the shipped calendar, once.
#pragma once

#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "services/triage/policy.h"
#include "tests/support/test_support.h"

namespace signpost::triage {

inline std::shared_ptr<const Policy> LoadShippedPolicy(
    const std::string& file) {
  auto policy =
      LoadPolicy(testing::SourcePath("deploy/policy/" + file),
                 testing::SourcePath("deploy/calendar/england-and-wales.txt"));
  EXPECT_TRUE(policy.ok()) << policy.status();
  return policy.ok() ? *policy : nullptr;
}

// The shipped default policy, shared (as TriageApp holds it).
inline std::shared_ptr<const Policy> SharedDefaultPolicy() {
  static const std::shared_ptr<const Policy> policy =
      LoadShippedPolicy("default.textproto");
  return policy;
}

inline const Policy& DefaultPolicy() { return *SharedDefaultPolicy(); }

inline const Policy& Marac17Policy() {
  static const std::shared_ptr<const Policy> policy =
      LoadShippedPolicy("cambridgeshire-marac17.textproto");
  return *policy;
}

}  // namespace signpost::triage
