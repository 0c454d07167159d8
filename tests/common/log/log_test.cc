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
      FormatLine(Level::kWarn, "referral rejected", {{"violations", 3}},
                 "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_THAT(line, StartsWith("{\"ts\":\""));
  EXPECT_THAT(line, HasSubstr("\"service\":\"intake\""));
  EXPECT_THAT(line, HasSubstr("\"level\":\"warn\""));
  EXPECT_THAT(line,
              HasSubstr("\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\""));
  EXPECT_THAT(line, HasSubstr("\"msg\":\"referral rejected\""));
  EXPECT_THAT(line, HasSubstr("\"violations\":3"));
  EXPECT_EQ(line.back(), '}');
  EXPECT_EQ(line.find('\n'), std::string::npos);
}

TEST(LogTest, ValuesAreWrittenAsTheirJsonTypes) {
  const int64_t big = int64_t{1} << 40;
  const uint64_t huge = ~uint64_t{0};
  std::string line = FormatLine(Level::kInfo, "typed",
                                {{"count", 2},
                                 {"big", big},
                                 {"huge", huge},
                                 {"negative", -7},
                                 {"ok", true},
                                 {"late", false},
                                 {"seconds", 0.25},
                                 {"not_a_number", std::nan("")},
                                 {"code", "NOT_FOUND"},
                                 {"id", std::string("a\"b")}},
                                "");
  EXPECT_THAT(line, HasSubstr("\"count\":2,"));
  EXPECT_THAT(line, HasSubstr("\"big\":1099511627776,"));
  EXPECT_THAT(line, HasSubstr("\"huge\":18446744073709551615,"));
  EXPECT_THAT(line, HasSubstr("\"negative\":-7,"));
  EXPECT_THAT(line, HasSubstr("\"ok\":true,"));
  EXPECT_THAT(line, HasSubstr("\"late\":false,"));
  EXPECT_THAT(line, HasSubstr("\"seconds\":0.25,"));
  EXPECT_THAT(line, HasSubstr("\"not_a_number\":\"nan\","));
  EXPECT_THAT(line, HasSubstr("\"code\":\"NOT_FOUND\","));
  EXPECT_THAT(line, HasSubstr("\"id\":\"a\\\"b\"}"));
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
