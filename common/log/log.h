// Structured logging facade: one JSON object per line on stderr with the
// service, level, trace id and message. Fields carry ids, codes and counts
// only; callers must never pass personal data (names, dates of birth,
// addresses, phone numbers, free text). Thread-safe.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace signpost::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

using Fields = std::vector<std::pair<std::string, std::string>>;

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
