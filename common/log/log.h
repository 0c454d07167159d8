// Structured logging facade: one JSON object per line on stderr with the
// service, level, trace id and message. Fields carry ids, codes and counts
// only; callers must never pass personal data (names, dates of birth,
// addresses, phone numbers, free text). Thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace signpost::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

// One field's value, written as its JSON type: a string, an integer, a
// number or a boolean ({"count":2,"ok":true}, not {"count":"2"}).
class Value {
 public:
  enum class Kind { kString, kInteger, kNumber, kBoolean };

  Value(const char* text) : kind_(Kind::kString), text_(text) {}
  Value(absl::string_view text) : kind_(Kind::kString), text_(text) {}
  Value(const std::string& text) : kind_(Kind::kString), text_(text) {}
  Value(std::string&& text) : kind_(Kind::kString), text_(std::move(text)) {}
  template <typename T,
            std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>,
                             int> = 0>
  Value(T n) : kind_(Kind::kInteger) {
    if constexpr (std::is_signed_v<T>) {
      integer_ = static_cast<int64_t>(n);
    } else {
      unsigned_ = static_cast<uint64_t>(n);
      is_unsigned_ = true;
    }
  }
  Value(bool b) : kind_(Kind::kBoolean), boolean_(b) {}
  Value(double d) : kind_(Kind::kNumber), number_(d) {}

  Kind kind() const { return kind_; }
  // The value as JSON: a quoted, escaped string, or a bare literal. A
  // number that JSON cannot hold (NaN, infinity) is written as a string.
  std::string ToJson() const;

 private:
  Kind kind_;
  std::string text_;
  int64_t integer_ = 0;
  uint64_t unsigned_ = 0;
  bool is_unsigned_ = false;
  bool boolean_ = false;
  double number_ = 0;
};

using Fields = std::vector<std::pair<std::string, Value>>;

// Sets the service name stamped on every line. Call once at start-up.
void SetService(absl::string_view service);
void SetMinLevel(Level level);
// Parses "debug", "info", "warn" or "error".
bool ParseLevel(absl::string_view text, Level* level);

// Formats one log line (without the trailing newline). Exposed for tests.
std::string FormatLine(Level level, absl::string_view message,
                       const Fields& fields, absl::string_view trace_id);

void Log(Level level, absl::string_view message, const Fields& fields = {},
         absl::string_view trace_id = "");

inline void Debug(absl::string_view m, const Fields& f = {},
                  absl::string_view t = "") {
  Log(Level::kDebug, m, f, t);
}
inline void Info(absl::string_view m, const Fields& f = {},
                 absl::string_view t = "") {
  Log(Level::kInfo, m, f, t);
}
inline void Warn(absl::string_view m, const Fields& f = {},
                 absl::string_view t = "") {
  Log(Level::kWarn, m, f, t);
}
inline void Error(absl::string_view m, const Fields& f = {},
                  absl::string_view t = "") {
  Log(Level::kError, m, f, t);
}

// Escapes a string for inclusion in a JSON string literal.
std::string JsonEscape(absl::string_view in);

}  // namespace signpost::log
