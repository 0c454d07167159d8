#include "common/errors/errors.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace signpost::errors {
namespace {

TEST(FieldErrorsTest, EmptyIsOk) { EXPECT_TRUE(FieldErrors().ToStatus().ok()); }

TEST(FieldErrorsTest, NamesEveryFieldInMessageAndPayload) {
  FieldErrors e;
  e.Add("victim.name", "is required");
  e.Add("victim.date_of_birth", "is in the future");
  absl::Status s = e.ToStatus();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("victim.name: is required"), std::string::npos);
  EXPECT_NE(s.message().find("victim.date_of_birth"), std::string::npos);
  std::vector<FieldViolation> v = FieldViolationsOf(s);
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[1].field, "victim.date_of_birth");
  EXPECT_EQ(v[1].description, "is in the future");
  EXPECT_EQ(FieldViolationCountOf(s), 2u);
}

TEST(FieldErrorsTest, SeparatorsInDescriptionsSurviveTheRoundTrip) {
  FieldErrors e;
  e.Add("a\tb", "line one\nline two\\");
  std::vector<FieldViolation> v = FieldViolationsOf(e.ToStatus());
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].field, "a\tb");
  EXPECT_EQ(v[0].description, "line one\nline two\\");
}

TEST(FieldErrorsTest, ManyViolationsAreCappedButCounted) {
  FieldErrors e;
  for (int i = 0; i < 150; ++i) e.Add(absl::StrCat("f", i), "bad");
  absl::Status s = e.ToStatus();
  std::vector<FieldViolation> v = FieldViolationsOf(s);
  // 100 named, then one entry saying how many more.
  ASSERT_EQ(v.size(), kMaxNamedViolations + 1);
  EXPECT_EQ(v[99].field, "f99");
  EXPECT_EQ(v[100].field, "");
  EXPECT_EQ(v[100].description, "and 50 more invalid fields not listed");
  EXPECT_EQ(FieldViolationCountOf(s), 150u);
  EXPECT_NE(s.message().find("f9: bad; and 140 more"), std::string::npos);
  EXPECT_LT(s.message().size(), 512u);
}

TEST(FieldErrorsTest, LongDescriptionsAreCappedByBytes) {
  FieldErrors e;
  for (int i = 0; i < 50; ++i) {
    e.Add(absl::StrCat("referral.victim.safe_contact.channels[", i, "]"),
          std::string(200, 'x'));
  }
  std::vector<FieldViolation> v = FieldViolationsOf(e.ToStatus());
  size_t bytes = 0;
  for (const auto& f : v) bytes += f.field.size() + f.description.size();
  EXPECT_LE(bytes, kMaxViolationBytes + 100);
  EXPECT_LT(v.size(), 50u);
  EXPECT_NE(v.back().description.find("more invalid fields"),
            std::string::npos);
}

TEST(FieldErrorsTest, MergePrefixesInnerFields) {
  FieldErrors inner;
  inner.Add("phone", "is not a UK number");
  FieldErrors outer;
  outer.Merge("victim.", inner.ToStatus());
  outer.Merge("referrer", absl::InvalidArgumentError("unknown agency"));
  outer.Merge("ignored", absl::OkStatus());
  ASSERT_EQ(outer.size(), 2u);
  EXPECT_EQ(outer.violations()[0].field, "victim.phone");
  EXPECT_EQ(outer.violations()[1].field, "referrer");
}

TEST(RuleViolationTest, NamesTheRule) {
  absl::Status s = RuleViolation("PJ-RAISE", "risk", "an override only raises");
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StartsWith(s.message(), "PJ-RAISE: "));
  auto rule = RuleViolationOf(s);
  ASSERT_TRUE(rule.has_value());
  EXPECT_EQ(rule->rule_id, "PJ-RAISE");
  EXPECT_EQ(rule->subject, "risk");
  EXPECT_FALSE(RuleViolationOf(absl::FailedPreconditionError("x")));
}

TEST(ClassifyTest, EveryCodeHasADisposition) {
  EXPECT_EQ(Classify(absl::UnavailableError("busy")), Disposition::kRetry);
  EXPECT_EQ(Classify(absl::ResourceExhaustedError("disk full")),
            Disposition::kRetry);
  EXPECT_EQ(Classify(absl::InvalidArgumentError("x")),
            Disposition::kDeadLetter);
  EXPECT_EQ(Classify(RuleViolation("R", "s", "d")), Disposition::kDeadLetter);
  // A constraint failure is never fixed by retrying.
  EXPECT_EQ(Classify(absl::AlreadyExistsError("UNIQUE constraint failed")),
            Disposition::kDeadLetter);
  EXPECT_EQ(Classify(absl::InternalError("x")), Disposition::kRetryBounded);
  EXPECT_EQ(Classify(absl::NotFoundError("x")), Disposition::kRetryBounded);
  EXPECT_EQ(Classify(absl::UnknownError("x")), Disposition::kRetryBounded);
  EXPECT_EQ(Classify(InvariantViolation("two open assignments")),
            Disposition::kCrash);
  EXPECT_TRUE(IsInvariantViolation(InvariantViolation("x")));
  EXPECT_FALSE(IsInvariantViolation(absl::InternalError("x")));
}

}  // namespace
}  // namespace signpost::errors
