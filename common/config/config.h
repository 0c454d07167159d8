// Service configuration from command-line flags and SIGNPOST_* environment
// variables (flag "db_path" is SIGNPOST_DB_PATH). A setting given both ways
// must agree: a flag and a variable that disagree are refused, never
// silently resolved (an exported SIGNPOST_DB_PATH must not quietly point
// five services at one database). SIGNPOST_* variables that name no setting
// are reported as warnings. Settings are declared with a type and checked
// all at once, so a bad start-up config fails fast naming every bad
// setting. Not thread-safe while parsing; read-only afterwards.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace signpost::config {

class Config {
 public:
  explicit Config(std::string program);

  // Declares a setting. `required` settings must be non-empty after parsing.
  // `secret` settings are redacted by Render().
  void DefineString(std::string name, std::string default_value,
                    std::string help, bool required = false,
                    bool secret = false);
  void DefineInt(std::string name, int64_t default_value, int64_t min,
                 int64_t max, std::string help);
  void DefineBool(std::string name, bool default_value, std::string help);

  // Parses argv ("--name=value", "--name value", "--flag" for booleans, plus
  // --print-config, --help and --version), then the environment. `getenv`
  // is injectable for tests; `env_names` lists the SIGNPOST_* variables
  // set (default: the process's environment, when `getenv` is not given).
  // Returns InvalidArgument naming every bad setting.
  absl::Status Parse(
      int argc, const char* const* argv,
      const std::function<const char*(const char*)>& getenv = nullptr,
      std::optional<std::vector<std::string>> env_names = std::nullopt);

  const std::string& GetString(absl::string_view name) const;
  int64_t GetInt(absl::string_view name) const;
  bool GetBool(absl::string_view name) const;

  bool print_config_requested() const { return print_config_; }
  bool help_requested() const { return help_; }
  bool version_requested() const { return version_; }
  // What Parse noticed but did not refuse (unknown SIGNPOST_* variables),
  // one sentence each, for the caller to log.
  const std::vector<std::string>& warnings() const { return warnings_; }

  // "name=value" lines, sorted, with secrets shown as "<redacted>".
  std::string Render() const;
  std::string Usage() const;

  static std::string EnvName(absl::string_view flag_name);

 private:
  enum class Type { kString, kInt, kBool };
  struct Setting {
    Type type;
    std::string value;
    std::string help;
    std::string default_value;
    bool required = false;
    bool secret = false;
    int64_t min = 0;
    int64_t max = 0;
  };
  const Setting& Find(absl::string_view name) const;
  static bool SameValue(Type type, absl::string_view a, absl::string_view b);

  std::string program_;
  std::map<std::string, Setting> settings_;
  bool print_config_ = false;
  bool help_ = false;
  bool version_ = false;
  std::vector<std::string> warnings_;
};

// Prints "<program>: configuration error: <message>" on stderr as one line.
void PrintConfigError(absl::string_view program, const absl::Status& status);

}  // namespace signpost::config
