#include "common/access/registry.h"

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/config/textproto.h"
#include "common/errors/errors.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "signpost/v1/advocacy.pb.h"
#include "signpost/v1/notification.pb.h"
#include "tests/support/test_support.h"

namespace signpost::access {
namespace {

using ::testing::HasSubstr;

constexpr char kName[] = "test.textproto";

// Text with one entry per line, so that line numbers in a test are the
// (1-based) positions in the list.
std::string Lines(const std::vector<std::string>& lines) {
  return absl::StrJoin(lines, "\n");
}

// A valid police force, 6 lines, for tests to vary.
std::vector<std::string> Police(const std::string& id = "police-wmp") {
  return {"agencies {",
          absl::StrCat("  agency_id: \"", id, "\""),
          "  kind: AGENCY_KIND_POLICE_FORCE",
          "  roles: [ROLE_REFERRER, ROLE_POLICE_ORDERS]",
          "  area_codes: \"WMP\"",
          "  name: \"Example Police\"",
          "}"};
}

std::vector<std::string> Concat(std::vector<std::vector<std::string>> parts) {
  std::vector<std::string> out;
  for (auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

TEST(RegistryTest, GoodTextLoadsAndAnswersLookups) {
  std::vector<std::string> text = Concat(
      {Police(),
       {"agencies {", "  agency_id: \"wm-refuge\"",
        "  kind: AGENCY_KIND_SUPPORT_PROVIDER", "  roles: ROLE_PROVIDER",
        "  provider_id: \"wm-refuge\"", "  name: \"Example Refuge\"", "}"}});
  absl::StatusOr<Registry> registry = ParseRegistry(Lines(text), kName);
  ASSERT_TRUE(registry.ok()) << registry.status();
  EXPECT_EQ(registry->size(), 2);

  const v1::Agency* police = registry->Find(AgencyId("police-wmp"));
  ASSERT_NE(police, nullptr);
  EXPECT_EQ(police->kind(), v1::AGENCY_KIND_POLICE_FORCE);
  EXPECT_TRUE(registry->HasRole(AgencyId("police-wmp"), v1::ROLE_REFERRER));
  EXPECT_TRUE(
      registry->HasRole(AgencyId("police-wmp"), v1::ROLE_POLICE_ORDERS));
  EXPECT_FALSE(registry->HasRole(AgencyId("police-wmp"), v1::ROLE_PROVIDER));
  EXPECT_TRUE(registry->ServesArea(AgencyId("police-wmp"), "WMP"));
  EXPECT_FALSE(registry->ServesArea(AgencyId("police-wmp"), "CAMBS"));

  EXPECT_EQ(registry->Find(AgencyId("nobody")), nullptr);
  EXPECT_FALSE(registry->HasRole(AgencyId("nobody"), v1::ROLE_REFERRER));
  EXPECT_FALSE(registry->ServesArea(AgencyId("nobody"), "WMP"));

  const v1::Agency* refuge = registry->FindByProvider(ProviderId("wm-refuge"));
  ASSERT_NE(refuge, nullptr);
  EXPECT_EQ(refuge->agency_id(), "wm-refuge");
  EXPECT_EQ(registry->FindByProvider(ProviderId("police-wmp")), nullptr);
}

TEST(RegistryTest, AnEmptyRegistryKnowsNoAgency) {
  Registry registry;
  EXPECT_EQ(registry.size(), 0);
  EXPECT_EQ(registry.Find(AgencyId("police-wmp")), nullptr);
}

struct BadCase {
  std::string label;
  std::vector<std::string> text;
  int line;             // where the problem is named
  std::string problem;  // what is said after "line N: "
};

// Each kind of bad field, alone in an otherwise valid file, is the one
// problem reported, on its own line.
TEST(RegistryTest, EachBadFieldIsNamedWithItsLine) {
  auto police_with = [](int line, const std::string& replacement) {
    std::vector<std::string> text = Police();
    text[line - 1] = replacement;
    return text;
  };
  auto provider = [](std::vector<std::string> fields) {
    std::vector<std::string> text = {"agencies {"};
    text.insert(text.end(), fields.begin(), fields.end());
    text.push_back("}");
    return text;
  };
  const std::vector<BadCase> cases = {
      {"missing id", police_with(2, ""), 1, "agency #1: agency_id is required"},
      {"id in capitals", police_with(2, "  agency_id: \"POLICE-WMP\""), 2,
       "agency 'POLICE-WMP': agency_id must be 2-64 of a-z, 0-9 and '-'"},
      {"id too short", police_with(2, "  agency_id: \"p\""), 2,
       "agency 'p': agency_id must be 2-64"},
      {"id with underscore", police_with(2, "  agency_id: \"police_wmp\""), 2,
       "agency 'police_wmp': agency_id must be 2-64"},
      {"id too long",
       police_with(2,
                   absl::StrCat("  agency_id: \"", std::string(65, 'a'), "\"")),
       2,
       absl::StrCat("agency '", std::string(65, 'a'),
                    "': agency_id must be 2-64")},
      {"missing kind", police_with(3, ""), 1,
       "agency 'police-wmp': kind is required"},
      {"explicit unspecified kind",
       police_with(3, "  kind: AGENCY_KIND_UNSPECIFIED"), 3,
       "agency 'police-wmp': kind is required"},
      {"unknown kind number", police_with(3, "  kind: 99"), 3,
       "agency 'police-wmp': kind 99 is not a known kind"},
      {"no roles", police_with(4, ""), 1,
       "agency 'police-wmp': needs at least one role"},
      {"role not allowed for kind", police_with(4, "  roles: ROLE_PROVIDER"), 4,
       "agency 'police-wmp': role ROLE_PROVIDER is not allowed for a police "
       "force (allowed: ROLE_REFERRER, ROLE_POLICE_ORDERS)"},
      {"unspecified role", police_with(4, "  roles: ROLE_UNSPECIFIED"), 4,
       "agency 'police-wmp': "
       "role ROLE_UNSPECIFIED is not a role"},
      {"unknown role number", police_with(4, "  roles: 42"), 4,
       "agency 'police-wmp': "
       "role 42 is not a role"},
      {"role twice", police_with(4, "  roles: [ROLE_REFERRER, ROLE_REFERRER]"),
       4,
       "agency 'police-wmp': "
       "role ROLE_REFERRER is listed twice"},
      {"no areas for a police force", police_with(5, ""), 1,
       "agency 'police-wmp': area_codes needs at least one area for a police "
       "force"},
      {"lower-case area", police_with(5, "  area_codes: \"wmp\""), 5,
       "agency 'police-wmp': area code 'wmp' must be an area code like "
       "\"WMP\""},
      {"locality instead of area", police_with(5, "  area_codes: \"WMP-WORC\""),
       5,
       "agency 'police-wmp': "
       "area code 'WMP-WORC' must be an area code"},
      {"area twice", police_with(5, "  area_codes: [\"WMP\", \"WMP\"]"), 5,
       "agency 'police-wmp': "
       "area code 'WMP' is listed twice"},
      {"provider id on a police force",
       police_with(5, "  area_codes: \"WMP\" provider_id: \"wm-refuge\""), 5,
       "agency 'police-wmp': provider_id is only for a support provider, or a "
       "SARC or MARAC with the role ROLE_PROVIDER"},
      {"missing name", police_with(6, ""), 1,
       "agency 'police-wmp': name is required"},
      {"blank name", police_with(6, "  name: \"   \""), 6,
       "agency 'police-wmp': "
       "name must be 1-200 characters, not blank"},
      {"name with a newline", police_with(6, "  name: \"a\\nb\""), 6,
       "agency 'police-wmp': name must be 1-200 characters, not blank, with "
       "no control characters"},
      {"support provider without provider id",
       provider({"  agency_id: \"wm-refuge\"",
                 "  kind: AGENCY_KIND_SUPPORT_PROVIDER",
                 "  roles: ROLE_PROVIDER", "  name: \"Refuge\""}),
       1,
       "agency 'wm-refuge': provider_id is required for a support provider "
       "with the role ROLE_PROVIDER"},
      {"bad provider id",
       provider({"  agency_id: \"wm-refuge\"",
                 "  kind: AGENCY_KIND_SUPPORT_PROVIDER",
                 "  roles: ROLE_PROVIDER", "  provider_id: \"wm refuge\"",
                 "  name: \"Refuge\""}),
       5, "agency 'wm-refuge': provider_id must be 1-64"},
      {"support provider without the provider role",
       provider({"  agency_id: \"wm-refuge\"",
                 "  kind: AGENCY_KIND_SUPPORT_PROVIDER",
                 "  roles: ROLE_REFERRER", "  provider_id: \"wm-refuge\"",
                 "  name: \"Refuge\""}),
       4,
       "agency 'wm-refuge': a support provider needs the role ROLE_PROVIDER"},
      {"empty registry",
       {"# nothing here"},
       0,
       "the registry lists no agencies"},
  };
  for (const BadCase& c : cases) {
    SCOPED_TRACE(c.label);
    absl::StatusOr<Registry> registry = ParseRegistry(Lines(c.text), kName);
    ASSERT_FALSE(registry.ok());
    EXPECT_EQ(registry.status().code(), absl::StatusCode::kInvalidArgument);
    std::string expected =
        c.line > 0 ? absl::StrCat(kName, ": line ", c.line, ": ", c.problem)
                   : absl::StrCat(kName, ": ", c.problem);
    EXPECT_THAT(std::string(registry.status().message()), HasSubstr(expected));
    EXPECT_EQ(errors::FieldViolationCountOf(registry.status()), 1u)
        << registry.status();
  }
}

TEST(RegistryTest, RepeatedFieldsWrittenOnSeparateLinesNameTheirOwnLine) {
  std::vector<std::string> text = {"agencies {",
                                   "  agency_id: \"police-wmp\"",
                                   "  kind: AGENCY_KIND_POLICE_FORCE",
                                   "  roles: ROLE_REFERRER",
                                   "  roles: ROLE_OPERATOR",
                                   "  area_codes: \"WMP\"",
                                   "  area_codes: \"wm\"",
                                   "  name: \"Police\"",
                                   "}"};
  absl::StatusOr<Registry> registry = ParseRegistry(Lines(text), kName);
  ASSERT_FALSE(registry.ok());
  std::string message(registry.status().message());
  EXPECT_THAT(message, HasSubstr("line 5: agency 'police-wmp': role "
                                 "ROLE_OPERATOR is not allowed"));
  EXPECT_THAT(message,
              HasSubstr("line 7: agency 'police-wmp': area code 'wm'"));
}

TEST(RegistryTest, SeveralBadFieldsAreAllReportedAtOnce) {
  std::vector<std::string> text =
      Concat({{"agencies {",                            // 1
               "  agency_id: \"Bad Id\"",               // 2
               "  kind: AGENCY_KIND_MARAC",             // 3
               "  roles: ROLE_COMMISSIONER",            // 4
               "  provider_id: \"wm-refuge\"",          // 5
               "}"},                                    // 6
              {"agencies {",                            // 7
               "  agency_id: \"wm-refuge\"",            // 8
               "  kind: AGENCY_KIND_SUPPORT_PROVIDER",  // 9
               "  roles: ROLE_PROVIDER",                // 10
               "  area_codes: \"W\"",                   // 11
               "  name: \"Refuge\"",                    // 12
               "}"}});                                  // 13
  absl::StatusOr<Registry> registry = ParseRegistry(Lines(text), kName);
  ASSERT_FALSE(registry.ok());
  std::string message(registry.status().message());
  for (const char* expected : {
           "line 2: agency 'Bad Id': agency_id must be",
           "line 4: agency 'Bad Id': role ROLE_COMMISSIONER is not allowed",
           "line 1: agency 'Bad Id': area_codes needs at least one area",
           "line 5: agency 'Bad Id': provider_id is only for a support",
           "line 1: agency 'Bad Id': name is required",
           "line 7: agency 'wm-refuge': provider_id is required",
           "line 11: agency 'wm-refuge': area code 'W'",
       }) {
    EXPECT_THAT(message, HasSubstr(expected));
  }
  EXPECT_THAT(message,
              HasSubstr("ROLE_COMMISSIONER is not allowed for a MARAC "
                        "(allowed: ROLE_MARAC_COORDINATOR, ROLE_PROVIDER)"));
  std::vector<errors::FieldViolation> violations =
      errors::FieldViolationsOf(registry.status());
  ASSERT_EQ(violations.size(), 7u) << message;
  EXPECT_EQ(violations[0].field, "agencies[0].agency_id");
  EXPECT_EQ(violations[6].field, "agencies[1].provider_id");
}

TEST(RegistryTest, DuplicateAgencyIdsAreRefusedNamingTheFirstLine) {
  std::vector<std::string> text = Concat({Police(), Police()});
  absl::StatusOr<Registry> registry = ParseRegistry(Lines(text), kName);
  ASSERT_FALSE(registry.ok());
  EXPECT_THAT(std::string(registry.status().message()),
              HasSubstr("test.textproto: line 9: agency 'police-wmp': "
                        "agency_id is already used on line 2"));
  EXPECT_EQ(errors::FieldViolationCountOf(registry.status()), 1u);
}

TEST(RegistryTest, TwoAgenciesForOneProviderAreRefused) {
  auto refuge = [](const std::string& id) {
    return std::vector<std::string>{"agencies {",
                                    absl::StrCat("  agency_id: \"", id, "\""),
                                    "  kind: AGENCY_KIND_SUPPORT_PROVIDER",
                                    "  roles: ROLE_PROVIDER",
                                    "  provider_id: \"wm-refuge\"",
                                    "  name: \"Refuge\"",
                                    "}"};
  };
  std::vector<std::string> text = Concat({refuge("refuge-a"), refuge("b2")});
  absl::StatusOr<Registry> registry = ParseRegistry(Lines(text), kName);
  ASSERT_FALSE(registry.ok());
  EXPECT_THAT(std::string(registry.status().message()),
              HasSubstr("line 12: agency 'b2': provider 'wm-refuge' already "
                        "has an agency, on line 5"));
}

TEST(RegistryTest, SyntaxErrorsNameLineAndColumn) {
  absl::StatusOr<Registry> registry =
      ParseRegistry(Lines({"agencies {", "  agency_idd: \"x\"", "}"}), kName);
  ASSERT_FALSE(registry.ok());
  EXPECT_EQ(registry.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(registry.status().message()),
              HasSubstr("test.textproto: line 2:"));
  EXPECT_THAT(std::string(registry.status().message()),
              HasSubstr("agency_idd"));
}

TEST(RegistryTest, AMissingFileIsRefusedByName) {
  absl::StatusOr<Registry> registry = LoadRegistry("/nonexistent/agencies");
  ASSERT_FALSE(registry.ok());
  EXPECT_THAT(std::string(registry.status().message()),
              HasSubstr("cannot read /nonexistent/agencies"));
}

TEST(RegistryTest, EveryKindAllowsSomeRoleAndUnspecifiedNone) {
  const auto* kinds = v1::AgencyKind_descriptor();
  for (int i = 0; i < kinds->value_count(); ++i) {
    auto kind = static_cast<v1::AgencyKind>(kinds->value(i)->number());
    SCOPED_TRACE(kinds->value(i)->name());
    if (kind == v1::AGENCY_KIND_UNSPECIFIED) {
      EXPECT_TRUE(AllowedRoles(kind).empty());
    } else {
      EXPECT_FALSE(AllowedRoles(kind).empty());
    }
  }
  EXPECT_THAT(AllowedRoles(v1::AGENCY_KIND_SUPPORT_PROVIDER),
              ::testing::Contains(v1::ROLE_PROVIDER));
}

// The shipped registry: it loads, and it covers the agencies the examples
// use.
class ShippedRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<Registry> registry =
        LoadRegistry(testing::SourcePath("deploy/access/agencies.textproto"));
    ASSERT_TRUE(registry.ok()) << registry.status();
    registry_ = *std::move(registry);
  }
  Registry registry_;
};

TEST_F(ShippedRegistryTest, EveryDirectoryProviderHasExactlyOneAgency) {
  v1::Directory directory;
  ASSERT_TRUE(
      config::LoadTextProto(testing::SourcePath("examples/directory.textproto"),
                            &directory)
          .ok());
  ASSERT_GT(directory.providers_size(), 0);
  std::map<std::string, int> agencies_per_provider;
  for (const v1::Agency& agency : registry_.agencies().agencies()) {
    if (!agency.provider_id().empty())
      ++agencies_per_provider[agency.provider_id()];
  }
  for (const v1::Provider& provider : directory.providers()) {
    SCOPED_TRACE(provider.provider_id());
    EXPECT_EQ(agencies_per_provider[provider.provider_id()], 1);
    const v1::Agency* agency =
        registry_.FindByProvider(ProviderId(provider.provider_id()));
    ASSERT_NE(agency, nullptr);
    // A support provider, or a SARC or MARAC that takes service referrals.
    EXPECT_THAT(agency->kind(),
                ::testing::AnyOf(v1::AGENCY_KIND_SUPPORT_PROVIDER,
                                 v1::AGENCY_KIND_SARC, v1::AGENCY_KIND_MARAC));
    EXPECT_TRUE(
        registry_.HasRole(AgencyId(agency->agency_id()), v1::ROLE_PROVIDER));
  }
  // And no agency names a provider the directory lacks.
  EXPECT_EQ(agencies_per_provider.size(),
            static_cast<size_t>(directory.providers_size()));
}

TEST_F(ShippedRegistryTest, EveryExampleReferrerIsARegisteredReferrer) {
  for (const std::string& name : testing::ExampleNames()) {
    SCOPED_TRACE(name);
    const v1::SubmitReferralRequest example = testing::LoadExample(name);
    const v1::Referral& referral = example.referral();
    // Each names the agency that submits it (a self-referral: the victim
    // advice line), as intake records it.
    AgencyId referrer(referral.referrer_org());
    EXPECT_TRUE(registry_.HasRole(referrer, v1::ROLE_REFERRER))
        << referrer.value();
    EXPECT_TRUE(registry_.ServesArea(referrer, referral.area_code()));
  }
}

TEST_F(ShippedRegistryTest, EverySubscribedAgencyIsRegistered) {
  v1::SubscriptionList subscriptions;
  ASSERT_TRUE(config::LoadTextProto(
                  testing::SourcePath("examples/subscriptions.textproto"),
                  &subscriptions)
                  .ok());
  for (const v1::Subscription& s : subscriptions.subscriptions()) {
    EXPECT_NE(registry_.Find(AgencyId(s.agency_id())), nullptr)
        << s.agency_id();
  }
}

TEST_F(ShippedRegistryTest, EachAreaHasAMaracPoliceAndAPcc) {
  std::map<std::string, std::set<v1::Role>> roles_by_area;
  for (const v1::Agency& agency : registry_.agencies().agencies()) {
    for (const std::string& area : agency.area_codes()) {
      for (int role : agency.roles()) {
        roles_by_area[area].insert(static_cast<v1::Role>(role));
      }
    }
  }
  ASSERT_FALSE(roles_by_area.empty());
  for (const auto& [area, roles] : roles_by_area) {
    SCOPED_TRACE(area);
    EXPECT_TRUE(roles.count(v1::ROLE_MARAC_COORDINATOR));
    EXPECT_TRUE(roles.count(v1::ROLE_POLICE_ORDERS));
    EXPECT_TRUE(roles.count(v1::ROLE_COMMISSIONER));
  }
  bool operator_found = false, auditor_found = false;
  for (const v1::Agency& agency : registry_.agencies().agencies()) {
    for (int role : agency.roles()) {
      operator_found |= role == v1::ROLE_OPERATOR;
      auditor_found |= role == v1::ROLE_AUDITOR;
    }
  }
  EXPECT_TRUE(operator_found);
  EXPECT_TRUE(auditor_found);
}

}  // namespace
}  // namespace signpost::access
