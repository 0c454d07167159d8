#include "services/advocacy/directory.h"

#include <cstdio>

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
  AdvocacyApp app(**db);
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
  EXPECT_EQ(app.GetProvider(ProviderId("p"), AgencyId()).status().code(),
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
  refuge.set_provider_id("refuge");
  refuge.set_address("secret place");
  refuge.set_address_confidential(true);
  v1::Provider seen = ProviderAsSeenBy(refuge, AgencyId("police-wmp"));
  EXPECT_EQ(seen.address(), "");
  EXPECT_TRUE(seen.address_redacted());
  EXPECT_EQ(ProviderAsSeenBy(refuge, AgencyId("refuge")).address(),
            "secret place");
  refuge.set_address_confidential(false);
  EXPECT_EQ(ProviderAsSeenBy(refuge, AgencyId()).address(), "secret place");
}

TEST(DirectoryFileTest, ImportsTheExampleDirectoryAndAnEmptyPathIsNothing) {
  testing::TempDir dir;
  auto db =
      store::Database::Open(dir.File("a.db"), AdvocacyStore::Migrations());
  ASSERT_TRUE(db.ok()) << db.status();
  AdvocacyApp app(**db);
  ASSERT_TRUE(ImportDirectoryFile(app, "").ok());
  EXPECT_TRUE(app.ListAdvocates()->items.empty());
  absl::Status s = ImportDirectoryFile(
      app, testing::SourcePath("examples/directory.textproto"));
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_GT(app.ListAdvocates()->items.size(), 5u);
}

TEST(DirectoryFileTest, ErrorsNameTheFile) {
  testing::TempDir dir;
  auto db =
      store::Database::Open(dir.File("a.db"), AdvocacyStore::Migrations());
  ASSERT_TRUE(db.ok()) << db.status();
  AdvocacyApp app(**db);
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
