#include "common/ids/ids.h"

#include <set>

#include "gtest/gtest.h"

namespace signpost {
namespace {

TEST(IdsTest, NewUuidIsCanonicalVersion4AndUnique) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    std::string id = NewUuid();
    ASSERT_TRUE(IsUuid(id)) << id;
    EXPECT_EQ(id[14], '4');
    EXPECT_TRUE(id[19] == '8' || id[19] == '9' || id[19] == 'a' ||
                id[19] == 'b');
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(IdsTest, IsUuidRejectsMalformed) {
  EXPECT_FALSE(IsUuid(""));
  EXPECT_FALSE(IsUuid("not-a-uuid"));
  EXPECT_FALSE(IsUuid("123e4567-e89b-12d3-a456-42661417400z"));
  EXPECT_TRUE(IsUuid("123e4567-e89b-12d3-a456-426614174000"));
}

TEST(IdsTest, ChildTraceparentKeepsTraceIdWithNewSpan) {
  std::string parent = NewTraceparent();
  ASSERT_EQ(parent.size(), 55u);
  std::string child = ChildTraceparent(parent);
  EXPECT_EQ(TraceIdOf(child), TraceIdOf(parent));
  EXPECT_NE(child, parent);
  EXPECT_EQ(TraceIdOf("garbage"), "");
}

TEST(IdsTest, StrongIdsOfDifferentKindsDoNotMix) {
  ReferralId r("a");
  EventId e("a");
  EXPECT_EQ(r.value(), e.value());
  static_assert(!std::is_convertible_v<ReferralId, EventId>);
}

}  // namespace
}  // namespace signpost
