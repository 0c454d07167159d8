#include "common/status/macros.h"

#include <memory>
#include <string>

#include "gtest/gtest.h"

namespace signpost {
namespace {

absl::StatusOr<int> Parse(bool ok, int* evaluations) {
  ++*evaluations;
  if (!ok) return absl::InvalidArgumentError("not a number");
  return 7;
}

absl::Status Check(bool ok, int* evaluations) {
  ++*evaluations;
  return ok ? absl::OkStatus() : absl::NotFoundError("missing");
}

absl::Status UsesReturnIfError(bool ok, int* evaluations, bool* reached) {
  RETURN_IF_ERROR(Check(ok, evaluations));
  RETURN_IF_ERROR(Parse(ok, evaluations));  // a StatusOr works too
  *reached = true;
  return absl::OkStatus();
}

absl::StatusOr<int> UsesAssignOrReturn(bool ok, int* evaluations) {
  ASSIGN_OR_RETURN(int value, Parse(ok, evaluations));
  ASSIGN_OR_RETURN(auto again, Parse(ok, evaluations));  // two on one scope
  return value + again;
}

absl::StatusOr<std::unique_ptr<std::string>> MakeText(bool ok) {
  if (!ok) return absl::UnavailableError("down");
  return std::make_unique<std::string>("moved");
}

absl::StatusOr<std::string> MoveOnly(bool ok) {
  std::unique_ptr<std::string> text;
  ASSIGN_OR_RETURN(text, MakeText(ok));  // assigns to an existing lvalue
  return *text;
}

TEST(MacrosTest, ReturnIfErrorPropagatesAndEvaluatesOnce) {
  int evaluations = 0;
  bool reached = false;
  absl::Status s = UsesReturnIfError(false, &evaluations, &reached);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(evaluations, 1);
  EXPECT_FALSE(reached);
  evaluations = 0;
  EXPECT_TRUE(UsesReturnIfError(true, &evaluations, &reached).ok());
  EXPECT_EQ(evaluations, 2);
  EXPECT_TRUE(reached);
}

TEST(MacrosTest, AssignOrReturnPropagatesOrAssigns) {
  int evaluations = 0;
  absl::StatusOr<int> bad = UsesAssignOrReturn(false, &evaluations);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(evaluations, 1);
  evaluations = 0;
  absl::StatusOr<int> good = UsesAssignOrReturn(true, &evaluations);
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 14);
  EXPECT_EQ(evaluations, 2);
}

TEST(MacrosTest, AssignOrReturnMovesMoveOnlyValues) {
  EXPECT_EQ(*MoveOnly(true), "moved");
  EXPECT_EQ(MoveOnly(false).status().code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace signpost
