#include "common/kafka/kafka.h"
#include "gtest/gtest.h"
#include "tests/support/test_support.h"

namespace signpost::kafka {
namespace {

TEST(TopicListTest, ShippedListHasEveryServiceTopicAndTheDeadLetterTopic) {
  auto topics = ParseTopicList(
      testing::ReadFile(testing::SourcePath("deploy/kafka/topics.txt")));
  ASSERT_TRUE(topics.ok()) << topics.status();
  std::set<std::string> names;
  for (const auto& t : *topics) names.insert(t.name);
  for (const char* want :
       {"signpost.intake.v1", "signpost.triage.v1", "signpost.advocacy.v1",
        "signpost.orders.v1", "signpost.notification.v1",
        "signpost.deadletter.v1"}) {
    EXPECT_TRUE(names.count(want)) << want;
  }
}

TEST(TopicListTest, BadLineIsRefusedWithItsNumber) {
  auto topics = ParseTopicList("# c\na 1 1\nb two 1\n");
  ASSERT_FALSE(topics.ok());
  EXPECT_NE(topics.status().message().find("line 3"), std::string::npos);
  EXPECT_FALSE(ParseTopicList("# only comments\n").ok());
  EXPECT_FALSE(ParseTopicList("a 0 1\n").ok());
}

}  // namespace
}  // namespace signpost::kafka
