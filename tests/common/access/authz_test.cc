// The authorisation table and the object-level helpers, against the
// shipped agency registry, and docs/api-and-events.md against the table.
#include "common/access/authz.h"

#include <algorithm>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/errors/errors.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/test_support.h"

namespace signpost::access {
namespace {

std::string RuleOf(const absl::Status& status) {
  std::optional<errors::RuleViolationDetail> rule =
      errors::RuleViolationOf(status);
  return rule ? rule->rule_id : "";
}

TEST(AuthzTableTest, EveryRuleNamesRolesOnceAndMethodsAreUnique) {
  std::set<std::string> methods;
  for (const RpcRule& rule : AuthorizationTable()) {
    SCOPED_TRACE(rule.method);
    EXPECT_TRUE(methods.insert(rule.method).second) << "listed twice";
    EXPECT_FALSE(rule.roles.empty());
    std::set<v1::Role> roles(rule.roles.begin(), rule.roles.end());
    EXPECT_EQ(roles.size(), rule.roles.size());
    EXPECT_FALSE(roles.count(v1::ROLE_UNSPECIFIED));
    EXPECT_FALSE(rule.objects.empty());
    EXPECT_EQ(FindRule(rule.method), &rule);
  }
  EXPECT_EQ(methods.size(), 51u);
}

// The auditor reads: it holds no RPC that writes (issue 14). Every RPC it
// may call is a Get or a List, and the audit RPCs are among them.
TEST(AuthzTableTest, TheAuditorRoleHoldsReadsOnly) {
  std::set<std::string> granted;
  for (const RpcRule& rule : AuthorizationTable()) {
    if (std::find(rule.roles.begin(), rule.roles.end(), v1::ROLE_AUDITOR) ==
        rule.roles.end()) {
      continue;
    }
    const std::string method(rule.method.substr(rule.method.rfind('/') + 1));
    EXPECT_TRUE(absl::StartsWith(method, "Get") ||
                absl::StartsWith(method, "List"))
        << rule.method;
    granted.insert(rule.method);
  }
  EXPECT_TRUE(granted.count("/signpost.v1.AuditService/GetTimeline"));
  EXPECT_TRUE(granted.count("/signpost.v1.AuditService/ListAccess"));
}

// docs/api-and-events.md prints the table: every row with the same roles.
TEST(AuthzTableTest, DocsListTheSameRolesForEveryRpc) {
  const std::string docs =
      testing::ReadFile(testing::SourcePath("docs/api-and-events.md"));
  std::map<std::string, std::string> documented;
  std::istringstream in(docs);
  for (std::string line; std::getline(in, line);) {
    if (!absl::StartsWith(line, "| `/signpost.v1.")) continue;
    std::vector<std::string> cells = absl::StrSplit(line, '|');
    ASSERT_GE(cells.size(), 4u) << line;
    std::string method(absl::StripAsciiWhitespace(cells[1]));
    method =
        std::string(absl::StripSuffix(absl::StripPrefix(method, "`"), "`"));
    documented[method] = std::string(absl::StripAsciiWhitespace(cells[2]));
  }
  EXPECT_EQ(documented.size(), AuthorizationTable().size());
  for (const RpcRule& rule : AuthorizationTable()) {
    std::vector<std::string> names;
    for (v1::Role role : rule.roles) {
      names.push_back(
          std::string(absl::StripPrefix(v1::Role_Name(role), "ROLE_")));
    }
    EXPECT_EQ(documented[rule.method], absl::StrJoin(names, ", "))
        << rule.method;
  }
}

class AuthorizerTest : public ::testing::Test {
 protected:
  Authorizer authorizer_{testing::TestRegistry()};
};

TEST_F(AuthorizerTest, ARoleTheRuleListsIsAdmitted) {
  absl::StatusOr<Principal> p = authorizer_.Authorize(
      AgencyId("police-wmp"), "/signpost.v1.IntakeService/SubmitReferral");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->agency_id(), AgencyId("police-wmp"));
  EXPECT_TRUE(p->Serves("WMP"));
}

TEST_F(AuthorizerTest, RefusalsNameTheirRule) {
  struct Case {
    std::string agency;
    std::string method;
    std::string rule;
  };
  const Case cases[] = {
      {"pcc-wmp", "/signpost.v1.IntakeService/SubmitReferral", kRuleFunction},
      {"signpost-operator", "/signpost.v1.AdvocacyService/AcceptAssignment",
       kRuleFunction},
      {"signpost-auditor", "/signpost.v1.IntakeService/GetReferral",
       kRuleFunction},
      {"nobody-registered", "/signpost.v1.IntakeService/SubmitReferral",
       kRuleUnregistered},
      {"police-wmp", "/signpost.v1.IntakeService/DropEverything",
       kRuleUnlisted},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.agency + " " + c.method);
    absl::StatusOr<Principal> p =
        authorizer_.Authorize(AgencyId(c.agency), c.method);
    ASSERT_FALSE(p.ok());
    EXPECT_EQ(p.status().code(), absl::StatusCode::kPermissionDenied);
    EXPECT_EQ(RuleOf(p.status()), c.rule);
  }
}

TEST(ObjectRulesTest, ReferralAccessRefusesForeignAndUnknownIsNotFound) {
  const Principal police = testing::PrincipalOf("police-wmp");
  const Principal ae = testing::PrincipalOf("nhs-lth-ae");
  const Principal marac = testing::PrincipalOf("marac-coordinator-wmp");
  const Principal op = testing::PrincipalOf("signpost-operator");
  const ReferralRule rule{
      true, {v1::ROLE_MARAC_COORDINATOR}, {v1::ROLE_OPERATOR}};
  const ReferralScope wmp{AgencyId("police-wmp"), "WMP"};
  const ReferralScope gmp{AgencyId("police-wmp"), "GMP"};
  EXPECT_TRUE(RequireReferralAccess(police, wmp, rule, "r").ok());
  EXPECT_TRUE(RequireReferralAccess(marac, wmp, rule, "r").ok());
  EXPECT_TRUE(RequireReferralAccess(op, wmp, rule, "r").ok());
  // Another referrer: refused. An unknown referral: NOT_FOUND to anyone.
  absl::Status foreign = RequireReferralAccess(ae, wmp, rule, "r");
  EXPECT_EQ(foreign.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(RuleOf(foreign), kRuleOwnReferral);
  for (const Principal* caller : {&police, &ae, &marac, &op}) {
    EXPECT_EQ(RequireReferralAccess(*caller, std::nullopt, rule, "r").code(),
              absl::StatusCode::kNotFound);
  }
  // MARAC of another area.
  EXPECT_EQ(RuleOf(RequireReferralAccess(marac, gmp, rule, "r")),
            kRuleOwnReferral);
  // Only a caller who sees everything learns that it does not exist.
  EXPECT_EQ(RequireReferralAccess(op, std::nullopt, rule, "r").code(),
            absl::StatusCode::kNotFound);
}

TEST(ObjectRulesTest, ProviderAndAreaRules) {
  const Principal idva = testing::PrincipalOf("wm-idva-service");
  ASSERT_TRUE(idva.provider().has_value());
  EXPECT_TRUE(RequireProvider(idva, *idva.provider(), "a").ok());
  EXPECT_EQ(RuleOf(RequireProvider(idva, ProviderId("wm-refuge"), "a")),
            kRuleOwnProvider);
  const Principal police = testing::PrincipalOf("police-wmp");
  EXPECT_EQ(RuleOf(RequireProvider(police, ProviderId(""), "a")),
            kRuleOwnProvider);
  EXPECT_TRUE(RequireArea(police, "WMP", "o").ok());
  EXPECT_EQ(RuleOf(RequireArea(police, "GMP", "o")), kRuleOwnArea);
  EXPECT_EQ(RuleOf(RequireArea(police, "", "o")), kRuleOwnArea);
}

}  // namespace
}  // namespace signpost::access
