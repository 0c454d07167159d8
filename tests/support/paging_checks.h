// Shared checks of the paging contract (docs/api-and-events.md) for any List
// RPC: a test wraps its call in a Fetch and these page through it. Header
// only. Not thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "grpcpp/support/status.h"
#include "gtest/gtest.h"
#include "tests/support/test_support.h"

namespace signpost::testing {

// One call's outcome: the ids of the items in order and the next token.
struct PageResult {
  grpc::Status status;
  std::vector<std::string> ids;
  std::string next_page_token;
};

// Calls the List RPC under test with these paging fields (and the test's
// own filters).
using Fetch =
    std::function<PageResult(int32_t page_size, const std::string& page_token)>;

// Follows next_page_token from the first page with `page_size`: every page
// but the last holds exactly `page_size` items (0: 100), only the last has
// an empty token, and the pages joined are `expected` (same order, so no
// duplicates or gaps).
inline void ExpectPages(const Fetch& fetch, int32_t page_size,
                        const std::vector<std::string>& expected) {
  const size_t size = page_size == 0 ? 100 : static_cast<size_t>(page_size);
  std::vector<std::string> all;
  std::string token;
  for (int pages = 1;; ++pages) {
    PageResult page = fetch(page_size, token);
    ASSERT_TRUE(page.status.ok()) << page.status.error_message();
    all.insert(all.end(), page.ids.begin(), page.ids.end());
    if (page.next_page_token.empty()) {
      EXPECT_LE(page.ids.size(), size);
      break;
    }
    EXPECT_EQ(page.ids.size(), size) << "page " << pages;
    ASSERT_LE(static_cast<size_t>(pages) * size, expected.size() + size)
        << "pages never end";
    token = page.next_page_token;
  }
  EXPECT_EQ(all, expected);
  EXPECT_EQ(std::set<std::string>(all.begin(), all.end()).size(), all.size());
}

// Expects INVALID_ARGUMENT naming exactly `field`.
inline void ExpectRefused(const PageResult& page, const std::string& field) {
  EXPECT_EQ(page.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
      << page.status.error_message();
  EXPECT_THAT(BadFields(page.status), ::testing::ElementsAre(field));
}

// With at least 501 items: page_size 0 answers 100, 500 answers 500, and
// 501 or -1 are refused naming page_size.
inline void ExpectPageSizeBounds(const Fetch& fetch) {
  PageResult by_default = fetch(0, "");
  ASSERT_TRUE(by_default.status.ok()) << by_default.status.error_message();
  EXPECT_EQ(by_default.ids.size(), 100u);
  EXPECT_FALSE(by_default.next_page_token.empty());
  PageResult largest = fetch(500, "");
  ASSERT_TRUE(largest.status.ok()) << largest.status.error_message();
  EXPECT_EQ(largest.ids.size(), 500u);
  EXPECT_FALSE(largest.next_page_token.empty());
  ExpectRefused(fetch(501, ""), "page_size");
  ExpectRefused(fetch(-1, ""), "page_size");
}

// `token` with its first sort key edited (its first character moved on by
// one), re-encoded as a client could.
inline std::string TamperedToken(const std::string& token) {
  std::string text;
  EXPECT_TRUE(absl::WebSafeBase64Unescape(token, &text)) << token;
  // v1|<rpc>|<scope>|<first key>...
  size_t at = 0;
  for (int i = 0; i < 3 && at != std::string::npos; ++i) {
    at = text.find('|', at == 0 ? 0 : at + 1);
  }
  EXPECT_NE(at, std::string::npos) << text;
  if (at != std::string::npos && at + 1 < text.size()) ++text[at + 1];
  return absl::WebSafeBase64Escape(text);
}

// A token from a first page with `page_size` 1 (at least 2 items) edited,
// truncated, or garbage, and `foreign_token` (another RPC's or other
// filters'), are each refused naming page_token.
inline void ExpectBadTokensRefused(const Fetch& fetch,
                                   const std::string& foreign_token) {
  ASSERT_FALSE(foreign_token.empty());
  PageResult first = fetch(1, "");
  ASSERT_TRUE(first.status.ok()) << first.status.error_message();
  ASSERT_FALSE(first.next_page_token.empty());
  const std::string& good = first.next_page_token;
  ASSERT_TRUE(fetch(1, good).status.ok());
  ExpectRefused(fetch(1, TamperedToken(good)), "page_token");
  ExpectRefused(fetch(1, good.substr(0, good.size() - 4)), "page_token");
  ExpectRefused(fetch(1, "not-a-token"), "page_token");
  ExpectRefused(fetch(1, foreign_token), "page_token");
  // Both paging fields bad: both named in one answer.
  PageResult both = fetch(501, "garbage");
  EXPECT_THAT(BadFields(both.status),
              ::testing::UnorderedElementsAre("page_size", "page_token"));
}

}  // namespace signpost::testing
