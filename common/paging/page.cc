#include "common/paging/page.h"

#include <openssl/evp.h>

#include <array>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace signpost::paging {
namespace {

constexpr char kVersion[] = "v1";
constexpr char kSeparator = '|';
constexpr size_t kDigestBytes = 8;

// Hex of the first kDigestBytes of SHA-256 over `label` and `data`; empty
// when OpenSSL fails (no token then verifies).
std::string Digest(absl::string_view label, absl::string_view data) {
  std::string input = absl::StrCat("signpost-page-token/", label, "\n", data);
  std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
  unsigned int length = 0;
  if (EVP_Digest(input.data(), input.size(), out.data(), &length, EVP_sha256(),
                 nullptr) != 1 ||
      length < kDigestBytes) {
    return "";
  }
  return absl::BytesToHexString(absl::string_view(
      reinterpret_cast<const char*>(out.data()), kDigestBytes));
}

std::string EscapeText(absl::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '%') {
      out += "%25";
    } else if (c == kSeparator) {
      out += "%7C";
    } else {
      out += c;
    }
  }
  return out;
}

std::optional<std::string> UnescapeText(absl::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    absl::string_view code = text.substr(i + 1, 2);
    if (code == "25") {
      out += '%';
    } else if (code == "7C") {
      out += kSeparator;
    } else {
      return std::nullopt;
    }
    i += 2;
  }
  return out;
}

std::string EncodeKey(const Cursor::Key& key) {
  if (const int64_t* value = std::get_if<int64_t>(&key)) {
    return absl::StrCat(*value);
  }
  return EscapeText(std::get<std::string>(key));
}

std::optional<Cursor::Key> DecodeKey(KeyKind kind, absl::string_view field) {
  if (kind == KeyKind::kText) {
    std::optional<std::string> text = UnescapeText(field);
    if (!text.has_value()) return std::nullopt;
    return Cursor::Key(std::move(*text));
  }
  int64_t value = 0;
  // Only the canonical decimal form, so one position has one token.
  if (!absl::SimpleAtoi(field, &value) || absl::StrCat(value) != field) {
    return std::nullopt;
  }
  return Cursor::Key(value);
}

// The cursor in `token`, or the description of why it is refused.
absl::StatusOr<Cursor> DecodeToken(const Listing& listing,
                                   absl::string_view scope,
                                   absl::string_view token) {
  const absl::Status malformed =
      absl::InvalidArgumentError("is not a page token of this list");
  if (token.size() > kMaxTokenLength) return malformed;
  std::string text;
  if (!absl::WebSafeBase64Unescape(token, &text)) return malformed;
  std::vector<absl::string_view> parts = absl::StrSplit(text, kSeparator);
  // version, rpc, scope digest, keys..., check
  if (parts.size() < 4 || parts[0] != kVersion) return malformed;
  const absl::string_view signed_part =
      absl::string_view(text).substr(0, text.size() - parts.back().size() - 1);
  const std::string check = Digest("check", signed_part);
  if (check.empty() || parts.back() != check) return malformed;
  if (parts[1] != listing.rpc) {
    return absl::InvalidArgumentError("was issued by another list RPC");
  }
  if (parts[2] != Digest("scope", scope)) {
    return absl::InvalidArgumentError(
        "was issued for other filters than this request's");
  }
  if (parts.size() != listing.keys.size() + 4) return malformed;
  std::vector<Cursor::Key> keys;
  for (size_t i = 0; i < listing.keys.size(); ++i) {
    std::optional<Cursor::Key> key = DecodeKey(listing.keys[i], parts[3 + i]);
    if (!key.has_value()) return malformed;
    keys.push_back(std::move(*key));
  }
  return Cursor(std::move(keys));
}

}  // namespace

PageRequest ParsePageRequest(const Listing& listing, absl::string_view scope,
                             int32_t page_size, absl::string_view page_token,
                             errors::FieldErrors& errors) {
  PageRequest request;
  if (page_size < 0 || page_size > kMaxPageSize) {
    errors.Add("page_size", absl::StrCat("must be between 0 and ", kMaxPageSize,
                                         " (0 means ", kDefaultPageSize, ")"));
  } else if (page_size > 0) {
    request.size = page_size;
  }
  if (page_token.empty()) return request;
  absl::StatusOr<Cursor> cursor = DecodeToken(listing, scope, page_token);
  if (cursor.ok()) {
    request.after = std::move(*cursor);
  } else {
    errors.Add("page_token", cursor.status().message());
  }
  return request;
}

std::string Scope(std::initializer_list<absl::string_view> filters) {
  std::string out;
  for (absl::string_view filter : filters) {
    absl::StrAppend(&out, filter.size(), ":", filter, ";");
  }
  return out;
}

std::string NextPageToken(const Listing& listing, absl::string_view scope,
                          const std::optional<Cursor>& next) {
  if (!next.has_value()) return "";
  std::vector<std::string> parts = {kVersion, std::string(listing.rpc),
                                    Digest("scope", scope)};
  for (const Cursor::Key& key : next->keys()) parts.push_back(EncodeKey(key));
  std::string text = absl::StrJoin(parts, std::string(1, kSeparator));
  absl::StrAppend(&text, std::string(1, kSeparator), Digest("check", text));
  return absl::WebSafeBase64Escape(text);
}

}  // namespace signpost::paging
