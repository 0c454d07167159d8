// Paging for every List RPC, free of gRPC: page_size and page_token checked
// as field violations, keyset cursors, and the tokens that carry them.
//
//   adapter: ASSIGN_OR_RETURN(PageRequest page, CheckPageRequest(kListing,
//                scope, request, Validate(request)));
//   store:   ... WHERE (sort keys) > (page.after) ORDER BY sort keys
//            LIMIT page.limit()  →  ReadPage(page, statement, read_row)
//   adapter: response.set_next_page_token(
//                NextPageToken(kListing, scope, result.next));
//
// A token is opaque to clients: url-safe base64 (no padding) of
//   "v1|<rpc>|<scope digest>|<key>|...|<check>"
// where each key is one sort key field of the last item served (integers in
// decimal, text with '%' and '|' escaped), the scope digest binds the token
// to the request's filters and the check is a digest of all before it. So a
// token of another RPC, of other filters, malformed or edited is refused,
// naming page_token. Neither digest is secret: a token only says where to
// resume, and every page applies the request's filters anew. Thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "common/errors/errors.h"
#include "common/status/macros.h"

namespace signpost::paging {

inline constexpr int32_t kDefaultPageSize = 100;
inline constexpr int32_t kMaxPageSize = 500;
// Longer page_token values are refused before decoding.
inline constexpr size_t kMaxTokenLength = 1024;

enum class KeyKind { kInt, kText };

// One List RPC's paging: its name, bound into its tokens, and the kinds of
// its sort key fields in order (the last one makes the order unique).
struct Listing {
  absl::string_view rpc;
  absl::Span<const KeyKind> keys;
};

// Where a page starts: the sort key fields of the last item of the page
// before it.
class Cursor {
 public:
  using Key = std::variant<int64_t, std::string>;

  Cursor() = default;
  explicit Cursor(std::vector<Key> keys) : keys_(std::move(keys)) {}

  // The i-th field; a parsed cursor has the kinds its listing names.
  int64_t Int(size_t i) const { return std::get<int64_t>(keys_.at(i)); }
  const std::string& Text(size_t i) const {
    return std::get<std::string>(keys_.at(i));
  }
  const std::vector<Key>& keys() const { return keys_; }

  friend bool operator==(const Cursor&, const Cursor&) = default;

 private:
  std::vector<Key> keys_;
};

// A checked page request.
struct PageRequest {
  int32_t size = kDefaultPageSize;
  // Unset: the first page.
  std::optional<Cursor> after;

  // Rows a store reads: one more than the page shows that another follows.
  int64_t limit() const { return int64_t{size} + 1; }
};

template <typename T>
struct Page {
  std::vector<T> items;
  // The last item's sort key when another page follows; unset on the last.
  std::optional<Cursor> next;
};

// Checks `page_size` (0 means kDefaultPageSize; 1..kMaxPageSize) and
// `page_token` (empty, or a token NextPageToken made for `listing` and the
// same `scope`), adding violations named "page_size" and "page_token" to
// `errors`. `scope` is the request's filters in a fixed form. The result is
// meaningful only when no violation was added.
PageRequest ParsePageRequest(const Listing& listing, absl::string_view scope,
                             int32_t page_size, absl::string_view page_token,
                             errors::FieldErrors& errors);

// For an adapter: ParsePageRequest over `request`'s page_size and
// page_token, added to `errors` (the violations of its other fields). The
// page, or INVALID_ARGUMENT naming every bad field at once.
template <typename Request>
absl::StatusOr<PageRequest> CheckPageRequest(const Listing& listing,
                                             absl::string_view scope,
                                             const Request& request,
                                             errors::FieldErrors errors) {
  PageRequest page = ParsePageRequest(listing, scope, request.page_size(),
                                      request.page_token(), errors);
  RETURN_IF_ERROR(errors.ToStatus());
  return page;
}

// The token of the page after `next`; empty when `next` is unset (the last
// page). `next` has the kinds `listing` names.
std::string NextPageToken(const Listing& listing, absl::string_view scope,
                          const std::optional<Cursor>& next);

// A request's filters in one unambiguous form, for `scope` above: e.g.
// Scope({area_code, absl::StrCat(state)}).
std::string Scope(std::initializer_list<absl::string_view> filters);

// A row as a store reads it: the item and its sort key.
template <typename T>
struct Keyed {
  T item;
  Cursor key;
};

namespace paging_internal {
template <typename R>
struct KeyedRow;  // R: Keyed<T> or absl::StatusOr<Keyed<T>>
template <typename T>
struct KeyedRow<Keyed<T>> {
  using Item = T;
  static constexpr bool kFallible = false;
};
template <typename T>
struct KeyedRow<absl::StatusOr<Keyed<T>>> {
  using Item = T;
  static constexpr bool kFallible = true;
};
}  // namespace paging_internal

// Reads one page from `rows` (anything with `absl::StatusOr<bool> Step()`,
// e.g. a store::Statement run with LIMIT request.limit()); `read(rows)`
// maps the current row to a Keyed<T> (or an absl::StatusOr of one, whose
// error is returned). Keeps at most request.size items, and sets `next` to
// the last one's key when a further row exists.
template <typename Rows, typename Read,
          typename Row = paging_internal::KeyedRow<
              std::remove_cvref_t<std::invoke_result_t<Read&, Rows&>>>>
absl::StatusOr<Page<typename Row::Item>> ReadPage(const PageRequest& request,
                                                  Rows& rows, Read read) {
  Page<typename Row::Item> page;
  std::optional<Cursor> last;
  while (true) {
    ASSIGN_OR_RETURN(bool row, rows.Step());
    if (!row) return page;
    if (page.items.size() >= static_cast<size_t>(request.size)) {
      page.next = std::move(last);
      return page;
    }
    Keyed<typename Row::Item> keyed;
    if constexpr (Row::kFallible) {
      ASSIGN_OR_RETURN(keyed, read(rows));
    } else {
      keyed = read(rows);
    }
    page.items.push_back(std::move(keyed.item));
    last = std::move(keyed.key);
  }
}

}  // namespace signpost::paging
