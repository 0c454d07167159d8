#include "common/config/config.h"

#include <map>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace signpost::config {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class ConfigTest : public ::testing::Test {
 protected:
  ConfigTest() : config_("signpost-test") {
    config_.DefineString("db_path", "x.db", "db", /*required=*/true);
    config_.DefineString("kafka_sasl_password", "", "pw", false,
                         /*secret=*/true);
    config_.DefineInt("workers", 4, 1, 64, "workers");
    config_.DefineBool("verbose", false, "verbose");
  }
  absl::Status Parse(std::vector<const char*> args,
                     std::map<std::string, std::string> env = {}) {
    args.insert(args.begin(), "prog");
    return config_.Parse(
        static_cast<int>(args.size()), args.data(),
        [env = std::move(env)](const char* name) -> const char* {
          static std::string hold;
          auto it = env.find(name);
          if (it == env.end()) return nullptr;
          hold = it->second;
          return hold.c_str();
        });
  }
  Config config_;
};

TEST_F(ConfigTest, DefaultsApplyWithoutFlags) {
  ASSERT_TRUE(Parse({}).ok());
  EXPECT_EQ(config_.GetString("db_path"), "x.db");
  EXPECT_EQ(config_.GetInt("workers"), 4);
  EXPECT_FALSE(config_.GetBool("verbose"));
}

TEST_F(ConfigTest, FlagsInBothFormsAreRead) {
  ASSERT_TRUE(Parse({"--db_path=a.db", "--workers", "8", "--verbose"}).ok());
  EXPECT_EQ(config_.GetString("db_path"), "a.db");
  EXPECT_EQ(config_.GetInt("workers"), 8);
  EXPECT_TRUE(config_.GetBool("verbose"));
}

// A flag and a variable never silently disagree: the same value is fine,
// a different one is refused naming both (an exported SIGNPOST_DB_PATH must
// not quietly send every service to one database).
TEST_F(ConfigTest, AFlagAndAVariableThatDisagreeAreRefused) {
  ASSERT_TRUE(Parse({}, {{"SIGNPOST_DB_PATH", "env.db"}}).ok());
  EXPECT_EQ(config_.GetString("db_path"), "env.db");
  ASSERT_TRUE(
      Parse({"--db_path=same.db"}, {{"SIGNPOST_DB_PATH", "same.db"}}).ok());
  // The same as its type reads it.
  ASSERT_TRUE(Parse({"--verbose", "--workers=015"},
                    {{"SIGNPOST_VERBOSE", "1"}, {"SIGNPOST_WORKERS", "15"}})
                  .ok());
  absl::Status s =
      Parse({"--db_path=flag.db"}, {{"SIGNPOST_DB_PATH", "env.db"}});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(),
              HasSubstr("--db_path=flag.db and SIGNPOST_DB_PATH=env.db "
                        "disagree"));
  // A secret is never echoed.
  absl::Status secret = Parse({"--kafka_sasl_password=hunter2"},
                              {{"SIGNPOST_KAFKA_SASL_PASSWORD", "swordfish"}});
  EXPECT_EQ(secret.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(secret.message(), Not(HasSubstr("hunter2")));
  EXPECT_THAT(secret.message(), Not(HasSubstr("swordfish")));
}

TEST_F(ConfigTest, UnknownSignpostVariablesAreReportedAndHelpShowsDefaults) {
  ASSERT_TRUE(
      config_
          .Parse(
              1, std::vector<const char*>{"prog"}.data(),
              [](const char*) -> const char* { return nullptr; },
              std::vector<std::string>{"SIGNPOST_DB_PTH", "HOME",
                                       "SIGNPOST_PKI_DIR", "SIGNPOST_WORKERS"})
          .ok());
  ASSERT_EQ(config_.warnings().size(), 1u);
  EXPECT_THAT(config_.warnings()[0], HasSubstr("SIGNPOST_DB_PTH"));
  EXPECT_THAT(config_.Usage(), HasSubstr("[default: 4]"));
  EXPECT_THAT(config_.Usage(), HasSubstr("[required]"));
  EXPECT_THAT(config_.Usage(), HasSubstr("--version"));
}

TEST_F(ConfigTest, EveryBadSettingIsNamedAtOnce) {
  absl::Status s =
      Parse({"--workers=many", "--bogus=1"},
            {{"SIGNPOST_DB_PATH", ""}, {"SIGNPOST_VERBOSE", "perhaps"}});
  ASSERT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("unknown flag --bogus"));
  EXPECT_THAT(s.message(), HasSubstr("workers='many' is not an integer"));
  EXPECT_THAT(s.message(), HasSubstr("db_path is required"));
  EXPECT_THAT(s.message(), HasSubstr("verbose='perhaps' is not a boolean"));
}

TEST_F(ConfigTest, OutOfRangeIntegerIsRefused) {
  absl::Status s = Parse({"--workers=0"});
  EXPECT_THAT(s.message(), HasSubstr("workers=0 is outside [1, 64]"));
}

TEST_F(ConfigTest, PrintConfigRedactsSecrets) {
  ASSERT_TRUE(Parse({"--print-config", "--kafka_sasl_password=hunter2"}).ok());
  EXPECT_TRUE(config_.print_config_requested());
  std::string rendered = config_.Render();
  EXPECT_THAT(rendered, HasSubstr("kafka_sasl_password=<redacted>"));
  EXPECT_THAT(rendered, ::testing::Not(HasSubstr("hunter2")));
  EXPECT_THAT(rendered, HasSubstr("db_path=x.db"));
}

TEST(ConfigEnvNameTest, MapsFlagToUpperCaseWithPrefix) {
  EXPECT_EQ(Config::EnvName("kafka_bootstrap"), "SIGNPOST_KAFKA_BOOTSTRAP");
  EXPECT_EQ(Config::EnvName("grpc-address"), "SIGNPOST_GRPC_ADDRESS");
}

}  // namespace
}  // namespace signpost::config
