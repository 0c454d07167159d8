#include "common/log/log.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace signpost::log {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST(LogTest, LineIsOneJsonObjectWithServiceLevelTraceAndMessage) {
  SetService("intake");
  std::string line =
      FormatLine(Level::kWarn, "referral rejected", {{"violations", "3"}},
                 "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_THAT(line, StartsWith("{\"ts\":\""));
  EXPECT_THAT(line, HasSubstr("\"service\":\"intake\""));
  EXPECT_THAT(line, HasSubstr("\"level\":\"warn\""));
  EXPECT_THAT(line,
              HasSubstr("\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\""));
  EXPECT_THAT(line, HasSubstr("\"msg\":\"referral rejected\""));
  EXPECT_THAT(line, HasSubstr("\"violations\":\"3\""));
  EXPECT_EQ(line.back(), '}');
  EXPECT_EQ(line.find('\n'), std::string::npos);
}

TEST(LogTest, ControlCharactersAndQuotesAreEscaped) {
  EXPECT_EQ(JsonEscape("a\"b\\c\nd\x01"), "a\\\"b\\\\c\\nd\\u0001");
}

TEST(LogTest, ParseLevelAcceptsOnlyKnownNames) {
  Level level;
  EXPECT_TRUE(ParseLevel("debug", &level));
  EXPECT_EQ(level, Level::kDebug);
  EXPECT_FALSE(ParseLevel("verbose", &level));
}

}  // namespace
}  // namespace signpost::log
