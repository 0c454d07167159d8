#include "services/advocacy/directory.h"

#include <cstdio>
#include <optional>
#include <set>
#include <string>

#include "common/config/textproto.h"
#include "common/errors/errors.h"
#include "common/ids/ids.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/advocacy/advocacy_app.h"
#include "services/advocacy/advocacy_store.h"
#include "services/advocacy/directory_file.h"
#include "tests/support/test_support.h"

namespace signpost::advocacy {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1717405200);

void WriteFile(const std::string& path, const std::string& text) {
  FILE* f = std::fopen(path.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fputs(text.c_str(), f);
  std::fclose(f);
}

TEST(DirectoryTest, BadDirectoryNamesEveryProblem) {
  v1::Directory d;
  ASSERT_TRUE(
      config::ParseTextProto(
          R"pb(
            providers { provider_id: "p" }
            advocates {
              advocate_id: "a"
              provider_id: "p"
              role: ADVOCATE_ROLE_IDVA
              languages: "en"
              localities: "L1"
              capacity: -1
            }
            advocates { advocate_id: "a" languages: "en" localities: "L1" }
          )pb",
          "d", &d)
          .ok());
  errors::FieldErrors errors = ValidateDirectory(d);
  std::vector<std::string> fields;
  for (const auto& [f, desc] : errors.violations()) fields.push_back(f);
  EXPECT_THAT(fields, ::testing::UnorderedElementsAre(
                          "providers[0].name", "advocates[0].capacity",
                          "advocates[1].provider_id", "advocates[1].role",
                          "advocates[1].advocate_id"));
}

TEST(DirectoryTest, ExampleDirectoryLoads) {
  auto d = LoadDirectory(testing::SourcePath("examples/directory.textproto"));
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_GT(d->advocates_size(), 5);
}

TEST(DirectoryTest, UnknownProviderIsRefusedAndNothingIsImported) {
  testing::TempDir dir;
  auto db =
      store::Database::Open(dir.File("a.db"), AdvocacyStore::Migrations());
  AdvocacyApp app(**db, testing::TestPersonKeys());
  v1::Directory d;
  auto* p = d.add_providers();
  p->set_provider_id("p");
  p->set_name("x");
  auto* a = d.add_advocates();
  a->set_advocate_id("a");
  a->set_provider_id("nope");
  auto r = app.ImportDirectory(d, kT0, NewTraceparent());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(errors::FieldViolationsOf(r.status()),
              ::testing::ElementsAre(::testing::Field(
                  &errors::FieldViolation::field, "advocates[a].provider_id")));
  EXPECT_EQ(app.GetProvider(testing::PrincipalOf("signpost-operator"),
                            ProviderId("p"), "")
                .status()
                .code(),
            absl::StatusCode::kNotFound);
}

TEST(DirectoryTest, TextprotoErrorsNameTheLine) {
  v1::Directory d;
  absl::Status s = config::ParseTextProto("advocates {\n  capacity: lots\n}\n",
                                          "f.textproto", &d);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("f.textproto: line 2"), std::string::npos) << s;
}

TEST(DirectoryTest, ConfidentialAddressIsWithheldFromOtherAgencies) {
  v1::Provider refuge;
  refuge.set_provider_id("wm-refuge");
  refuge.set_address("secret place");
  refuge.set_address_confidential(true);
  // Another provider, or an agency that is no provider at all.
  v1::Provider seen = ProviderAsSeenBy(refuge, ProviderId("wm-idva-service"));
  EXPECT_EQ(seen.address(), "");
  EXPECT_TRUE(seen.address_redacted());
  seen = ProviderAsSeenBy(refuge, std::nullopt);
  EXPECT_EQ(seen.address(), "");
  EXPECT_TRUE(seen.address_redacted());
  // An empty provider id is not a match for anything.
  EXPECT_TRUE(ProviderAsSeenBy(refuge, ProviderId("")).address_redacted());
  EXPECT_EQ(ProviderAsSeenBy(refuge, ProviderId("wm-refuge")).address(),
            "secret place");
  EXPECT_FALSE(
      ProviderAsSeenBy(refuge, ProviderId("wm-refuge")).address_redacted());
  refuge.set_address_confidential(false);
  EXPECT_EQ(ProviderAsSeenBy(refuge, std::nullopt).address(), "secret place");
}

// Each provider of the example directory can act for itself: a registered
// support provider agency has its provider id (and none names a provider the
// directory lacks).
TEST(DirectoryTest, EveryExampleProviderIsARegisteredAgency) {
  auto d = LoadDirectory(testing::SourcePath("examples/directory.textproto"));
  ASSERT_TRUE(d.ok()) << d.status();
  std::set<std::string> directory;
  for (const v1::Provider& p : d->providers())
    directory.insert(p.provider_id());
  std::set<std::string> registered;
  for (const char* agency :
       {"wm-idva-service", "wm-ipc-service", "wm-rape-crisis",
        "wm-stalking-hub", "changing-lives", "wm-restorative-justice",
        "victim-advice-line-wmp", "wm-refuge", "sarc-wmp", "wm-stalking-clinic",
        "wm-perpetrator-programme", "wm-childrens-safeguarding",
        "marac-coordinator-wmp", "wm-modern-slavery"}) {
    access::Principal principal = testing::PrincipalOf(agency);
    EXPECT_TRUE(principal.Has(v1::ROLE_PROVIDER)) << agency;
    ASSERT_TRUE(principal.provider().has_value()) << agency;
    registered.insert(principal.provider()->value());
  }
  EXPECT_EQ(directory, registered);
}

TEST(DirectoryFileTest, ImportsTheExampleDirectoryAndAnEmptyPathIsNothing) {
  testing::TempDir dir;
  auto db =
      store::Database::Open(dir.File("a.db"), AdvocacyStore::Migrations());
  ASSERT_TRUE(db.ok()) << db.status();
  AdvocacyApp app(**db, testing::TestPersonKeys());
  const access::Principal op = testing::PrincipalOf("signpost-operator");
  ASSERT_TRUE(ImportDirectoryFile(app, "").ok());
  EXPECT_TRUE(app.ListAdvocates(op)->items.empty());
  absl::Status s = ImportDirectoryFile(
      app, testing::SourcePath("examples/directory.textproto"));
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_GT(app.ListAdvocates(op)->items.size(), 5u);
  // The refuge's own agency sees its confidential address.
  auto refuge = app.GetProvider(testing::PrincipalOf("wm-refuge"),
                                ProviderId("wm-refuge"), "");
  ASSERT_TRUE(refuge.ok()) << refuge.status();
  EXPECT_TRUE(refuge->provider.address_confidential());
  EXPECT_FALSE(refuge->provider.address().empty());
}

TEST(DirectoryFileTest, ErrorsNameTheFile) {
  testing::TempDir dir;
  auto db =
      store::Database::Open(dir.File("a.db"), AdvocacyStore::Migrations());
  ASSERT_TRUE(db.ok()) << db.status();
  AdvocacyApp app(**db, testing::TestPersonKeys());
  const std::string bad = dir.File("bad.textproto");
  WriteFile(bad, "advocates { advocate_id: \"a\" capacity: -3 }\n");
  absl::Status s = ImportDirectoryFile(app, bad);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find(bad), std::string::npos) << s;
  EXPECT_NE(s.message().find("capacity: must be 0-500"), std::string::npos)
      << s;
  const std::string orphan = dir.File("orphan.textproto");
  WriteFile(orphan, R"pb(advocates {
                           advocate_id: "a"
                           provider_id: "nope"
                           role: ADVOCATE_ROLE_IDVA
                           languages: "en"
                           localities: "L1"
                           capacity: 1
                         })pb");
  s = ImportDirectoryFile(app, orphan);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find(orphan), std::string::npos) << s;
  EXPECT_NE(s.message().find("unknown provider 'nope'"), std::string::npos)
      << s;
  EXPECT_EQ(ImportDirectoryFile(app, dir.File("missing.textproto")).code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace signpost::advocacy
