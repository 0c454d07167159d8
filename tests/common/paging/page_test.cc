#include "common/paging/page.h"

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace signpost::paging {
namespace {

using ::testing::ElementsAre;

constexpr KeyKind kTimeThenId[] = {KeyKind::kInt, KeyKind::kText};
constexpr Listing kOrders{"ListOrders", kTimeThenId};
constexpr Listing kAgenda{"ListMaracAgenda", kTimeThenId};
constexpr KeyKind kIdOnly[] = {KeyKind::kText};
constexpr Listing kAdvocates{"ListAdvocates", kIdOnly};

std::vector<std::string> Fields(const errors::FieldErrors& errors) {
  std::vector<std::string> out;
  for (const auto& v : errors.violations()) out.push_back(v.field);
  return out;
}

PageRequest Parse(const Listing& listing, absl::string_view scope, int32_t size,
                  absl::string_view token, errors::FieldErrors& errors) {
  return ParsePageRequest(listing, scope, size, token, errors);
}

std::string Token(const Listing& listing, absl::string_view scope,
                  Cursor cursor) {
  return NextPageToken(listing, scope, std::move(cursor));
}

TEST(PageSizeTest, ZeroMeansTheDefault) {
  errors::FieldErrors errors;
  PageRequest request = Parse(kOrders, "", 0, "", errors);
  EXPECT_TRUE(errors.empty());
  EXPECT_EQ(request.size, 100);
  EXPECT_EQ(request.limit(), 101);
  EXPECT_FALSE(request.after.has_value());
}

TEST(PageSizeTest, OneToFiveHundredAreKept) {
  for (int32_t size : {1, 2, 250, 499, 500}) {
    errors::FieldErrors errors;
    EXPECT_EQ(Parse(kOrders, "", size, "", errors).size, size);
    EXPECT_TRUE(errors.empty()) << size;
  }
}

TEST(PageSizeTest, NegativeAndOverTheMaximumNamePageSize) {
  for (int32_t size : {-1, -100, 501, 100000}) {
    errors::FieldErrors errors;
    Parse(kOrders, "", size, "", errors);
    EXPECT_THAT(Fields(errors), ElementsAre("page_size")) << size;
    EXPECT_EQ(errors.violations()[0].description,
              "must be between 0 and 500 (0 means 100)");
  }
}

TEST(PageTokenTest, RoundTripsEveryKeyKind) {
  Cursor cursor({int64_t{-1712345678901}, std::string("a|b%7C%c|")});
  std::string token = Token(kOrders, "area=WMP", cursor);
  EXPECT_FALSE(token.empty());
  // Url-safe: no characters that need escaping in a URL or a header.
  EXPECT_EQ(token.find_first_of("+/= |"), std::string::npos) << token;
  errors::FieldErrors errors;
  PageRequest request = Parse(kOrders, "area=WMP", 7, token, errors);
  EXPECT_TRUE(errors.empty()) << errors.ToStatus();
  ASSERT_TRUE(request.after.has_value());
  EXPECT_EQ(*request.after, cursor);
  EXPECT_EQ(request.after->Int(0), -1712345678901);
  EXPECT_EQ(request.after->Text(1), "a|b%7C%c|");
  EXPECT_EQ(request.size, 7);
}

TEST(PageTokenTest, NoNextCursorMeansAnEmptyToken) {
  EXPECT_EQ(NextPageToken(kOrders, "", std::nullopt), "");
}

TEST(PageTokenTest, ATokenOfAnotherRpcIsRefused) {
  std::string token = Token(kAgenda, "", Cursor({int64_t{5}, "r1"}));
  errors::FieldErrors errors;
  Parse(kOrders, "", 0, token, errors);
  EXPECT_THAT(Fields(errors), ElementsAre("page_token"));
  EXPECT_EQ(errors.violations()[0].description,
            "was issued by another list RPC");
}

TEST(PageTokenTest, ATokenForOtherFiltersIsRefused) {
  std::string token = Token(kOrders, "area=WMP", Cursor({int64_t{5}, "o1"}));
  errors::FieldErrors errors;
  Parse(kOrders, "area=GMP", 0, token, errors);
  EXPECT_THAT(Fields(errors), ElementsAre("page_token"));
}

TEST(PageTokenTest, MalformedTokensAreRefused) {
  const std::string good = Token(kOrders, "", Cursor({int64_t{5}, "o1"}));
  std::vector<std::string> bad = {
      "not base64!",
      "djE",  // "v1"
      absl::WebSafeBase64Escape("v1|ListOrders"),
      absl::WebSafeBase64Escape("v2|ListOrders|x|5|o1|0000000000000000"),
      std::string(kMaxTokenLength + 1, 'A'),
      good + "A",
  };
  for (const std::string& token : bad) {
    errors::FieldErrors errors;
    Parse(kOrders, "", 0, token, errors);
    EXPECT_THAT(Fields(errors), ElementsAre("page_token")) << token;
  }
}

// Decodes `token`, replaces `from` by `to` in its text, encodes it again.
std::string Edit(const std::string& token, const std::string& from,
                 const std::string& to) {
  std::string text;
  EXPECT_TRUE(absl::WebSafeBase64Unescape(token, &text));
  size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << text;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return absl::WebSafeBase64Escape(text);
}

TEST(PageTokenTest, AnEditedTokenIsRefused) {
  const std::string token = Token(kOrders, "", Cursor({int64_t{5}, "o1"}));
  for (const std::string& edited :
       {Edit(token, "|5|", "|6|"), Edit(token, "|o1|", "|o2|"),
        Edit(token, "ListOrders", "ListAdvocates")}) {
    errors::FieldErrors errors;
    Parse(kOrders, "", 0, edited, errors);
    EXPECT_THAT(Fields(errors), ElementsAre("page_token")) << edited;
    EXPECT_EQ(errors.violations()[0].description,
              "is not a page token of this list");
  }
}

TEST(PageTokenTest, KeysOfTheWrongKindAreRefused) {
  // A token whose shape differs from the listing's (here text where an
  // integer is expected) never reaches a store.
  static constexpr KeyKind kTextThenText[] = {KeyKind::kText, KeyKind::kText};
  static constexpr Listing kOddOrders{"ListOrders", kTextThenText};
  std::string token = Token(kOddOrders, "", Cursor({"x", "o1"}));
  errors::FieldErrors errors;
  Parse(kOrders, "", 0, token, errors);
  EXPECT_THAT(Fields(errors), ElementsAre("page_token"));
  // And a token with a different number of keys.
  std::string short_token = Token(kAdvocates, "", Cursor({"o1"}));
  static constexpr Listing kAdvocatesTwoKeys{"ListAdvocates", kTimeThenId};
  errors::FieldErrors errors2;
  Parse(kAdvocatesTwoKeys, "", 0, short_token, errors2);
  EXPECT_THAT(Fields(errors2), ElementsAre("page_token"));
}

TEST(PageTokenTest, BothFieldsAreNamedAtOnce) {
  errors::FieldErrors errors;
  errors.Add("area_code", "is required");
  Parse(kOrders, "", 501, "garbage", errors);
  EXPECT_THAT(Fields(errors),
              ElementsAre("area_code", "page_size", "page_token"));
}

TEST(ScopeTest, FieldBoundariesCount) {
  EXPECT_EQ(Scope({"a", "b"}), Scope({"a", "b"}));
  EXPECT_NE(Scope({"a|", "b"}), Scope({"a", "|b"}));
  EXPECT_NE(Scope({"", "ab"}), Scope({"ab", ""}));
  EXPECT_NE(Scope({}), Scope({""}));
}

// A stand-in for a store::Statement: Step() over fixed rows.
struct Rows {
  std::vector<int> values;
  size_t at = 0;
  int current = 0;
  absl::StatusOr<bool> Step() {
    if (at == values.size()) return false;
    current = values[at++];
    return true;
  }
};

Keyed<int> ReadRow(const Rows& rows) {
  return {rows.current, Cursor({int64_t{rows.current}})};
}

TEST(ReadPageTest, KeepsThePageAndPointsAtItsLastItem) {
  PageRequest request;
  request.size = 3;
  Rows rows{{1, 2, 3, 4}};  // read with LIMIT 4
  absl::StatusOr<Page<int>> page = ReadPage(request, rows, ReadRow);
  ASSERT_TRUE(page.ok());
  EXPECT_THAT(page->items, ElementsAre(1, 2, 3));
  ASSERT_TRUE(page->next.has_value());
  EXPECT_EQ(page->next->Int(0), 3);
}

TEST(ReadPageTest, AShortOrExactReadIsTheLastPage) {
  PageRequest request;
  request.size = 3;
  for (std::vector<int> values :
       {std::vector<int>{}, std::vector<int>{1}, std::vector<int>{1, 2, 3}}) {
    Rows rows{values};
    absl::StatusOr<Page<int>> page = ReadPage(request, rows, ReadRow);
    ASSERT_TRUE(page.ok());
    EXPECT_EQ(page->items, values);
    EXPECT_FALSE(page->next.has_value());
  }
}

TEST(ReadPageTest, AStepErrorIsReturned) {
  struct Failing {
    absl::StatusOr<bool> Step() { return absl::DataLossError("disk"); }
  } rows;
  PageRequest request;
  auto page = ReadPage(request, rows, [](const Failing&) {
    return Keyed<int>{0, Cursor()};
  });
  EXPECT_EQ(page.status().code(), absl::StatusCode::kDataLoss);
}

TEST(ReadPageTest, AFallibleReadPassesItsErrorOn) {
  PageRequest request;
  auto read = [](const Rows& rows) -> absl::StatusOr<Keyed<int>> {
    if (rows.current == 2) return absl::DataLossError("row 2 does not parse");
    return Keyed<int>{rows.current, Cursor({int64_t{rows.current}})};
  };
  Rows good{{1, 3}};
  absl::StatusOr<Page<int>> page = ReadPage(request, good, read);
  ASSERT_TRUE(page.ok());
  EXPECT_THAT(page->items, ElementsAre(1, 3));
  Rows bad{{1, 2, 3}};
  EXPECT_EQ(ReadPage(request, bad, read).status().code(),
            absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace signpost::paging
