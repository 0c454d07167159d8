#include "common/log/log.h"

#include <atomic>
#include <cmath>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace signpost::log {
namespace {

absl::Mutex g_mu;
std::string* g_service ABSL_GUARDED_BY(g_mu) = new std::string("signpost");
std::atomic<int> g_min_level{static_cast<int>(Level::kInfo)};

const char* LevelName(Level level) {
  switch (level) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarn:
      return "warn";
    case Level::kError:
      return "error";
  }
  return "info";
}

}  // namespace

void SetService(absl::string_view service) {
  absl::MutexLock lock(&g_mu);
  *g_service = std::string(service);
}

void SetMinLevel(Level level) { g_min_level = static_cast<int>(level); }

bool ParseLevel(absl::string_view text, Level* level) {
  if (text == "debug") {
    *level = Level::kDebug;
  } else if (text == "info") {
    *level = Level::kInfo;
  } else if (text == "warn") {
    *level = Level::kWarn;
  } else if (text == "error") {
    *level = Level::kError;
  } else {
    return false;
  }
  return true;
}

std::string JsonEscape(absl::string_view in) {
  std::string out;
  out.reserve(in.size() + 2);
  for (unsigned char c : in) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          out += absl::StrFormat("\\u%04x", c);
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out;
}

std::string Value::ToJson() const {
  switch (kind_) {
    case Kind::kString:
      return absl::StrCat("\"", JsonEscape(text_), "\"");
    case Kind::kInteger:
      return is_unsigned_ ? absl::StrCat(unsigned_) : absl::StrCat(integer_);
    case Kind::kBoolean:
      return boolean_ ? "true" : "false";
    case Kind::kNumber:
      if (!std::isfinite(number_)) return absl::StrCat("\"", number_, "\"");
      return absl::StrFormat("%.17g", number_);
  }
  return "null";
}

std::string FormatLine(Level level, absl::string_view message,
                       const Fields& fields, absl::string_view trace_id) {
  std::string service;
  {
    absl::MutexLock lock(&g_mu);
    service = *g_service;
  }
  std::string line =
      absl::StrCat("{\"ts\":\"",
                   absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(),
                                    absl::UTCTimeZone()),
                   "\",\"service\":\"", JsonEscape(service), "\",\"level\":\"",
                   LevelName(level), "\",\"trace_id\":\"", JsonEscape(trace_id),
                   "\",\"msg\":\"", JsonEscape(message), "\"");
  for (const auto& [key, value] : fields) {
    absl::StrAppend(&line, ",\"", JsonEscape(key), "\":", value.ToJson());
  }
  line += "}";
  return line;
}

void Log(Level level, absl::string_view message, const Fields& fields,
         absl::string_view trace_id) {
  if (static_cast<int>(level) < g_min_level.load()) return;
  std::string line = FormatLine(level, message, fields, trace_id);
  line += "\n";
  // One fwrite per line keeps lines whole across threads.
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace signpost::log
