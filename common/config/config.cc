#include "common/config/config.h"

#include <cstdio>
#include <cstdlib>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"

extern char** environ;

namespace signpost::config {
namespace {

// Variables of Signpost's tools, not of a service's settings (the CLI's
// identity, the stack script's): set in a service's environment by
// docker-compose or scripts/stack, and not a mistake there.
bool IsToolVariable(absl::string_view var) {
  for (const char* tool :
       {"SIGNPOST_AS", "SIGNPOST_PKI_DIR", "SIGNPOST_BIN_DIR",
        "SIGNPOST_RUN_DIR", "SIGNPOST_PORT_BASE", "SIGNPOST_METRICS_PORT_BASE",
        "SIGNPOST_LOAD_COUNT", "SIGNPOST_POLICY_FILE",
        "SIGNPOST_ACCESS_REGISTRY", "SIGNPOST_DEPS_MINIMAL",
        "SIGNPOST_TOOLS_DIR",
        // signpost-cli's endpoints.
        "SIGNPOST_INTAKE_ADDR", "SIGNPOST_TRIAGE_ADDR",
        "SIGNPOST_ADVOCACY_ADDR", "SIGNPOST_ORDERS_ADDR",
        "SIGNPOST_NOTIFICATION_ADDR"}) {
    if (var == tool) return true;
  }
  return false;
}

}  // namespace

// Whether a flag and a variable say the same, as their type reads them
// ("1" and "true" for a boolean, "015" and "15" for a number).
bool Config::SameValue(Type type, absl::string_view a, absl::string_view b) {
  switch (type) {
    case Type::kString:
      return a == b;
    case Type::kInt: {
      int64_t x = 0, y = 0;
      return absl::SimpleAtoi(a, &x) && absl::SimpleAtoi(b, &y) ? x == y
                                                                : a == b;
    }
    case Type::kBool: {
      auto truth = [](absl::string_view v) {
        const std::string lower = absl::AsciiStrToLower(v);
        return lower == "1" || lower == "true" || lower == "yes";
      };
      return truth(a) == truth(b);
    }
  }
  return a == b;
}

Config::Config(std::string program) : program_(std::move(program)) {}

void Config::DefineString(std::string name, std::string default_value,
                          std::string help, bool required, bool secret) {
  Setting s;
  s.type = Type::kString;
  s.value = std::move(default_value);
  s.help = std::move(help);
  s.required = required;
  s.secret = secret;
  s.default_value = s.value;
  settings_[std::move(name)] = std::move(s);
}

void Config::DefineInt(std::string name, int64_t default_value, int64_t min,
                       int64_t max, std::string help) {
  Setting s;
  s.type = Type::kInt;
  s.value = absl::StrCat(default_value);
  s.help = std::move(help);
  s.min = min;
  s.max = max;
  s.default_value = s.value;
  settings_[std::move(name)] = std::move(s);
}

void Config::DefineBool(std::string name, bool default_value,
                        std::string help) {
  Setting s;
  s.type = Type::kBool;
  s.value = default_value ? "true" : "false";
  s.help = std::move(help);
  s.default_value = s.value;
  settings_[std::move(name)] = std::move(s);
}

std::string Config::EnvName(absl::string_view flag_name) {
  std::string env = absl::StrCat("SIGNPOST_", flag_name);
  for (char& c : env) {
    c = c == '-' ? '_' : absl::ascii_toupper(static_cast<unsigned char>(c));
  }
  return env;
}

absl::Status Config::Parse(
    int argc, const char* const* argv,
    const std::function<const char*(const char*)>& getenv_fn,
    std::optional<std::vector<std::string>> env_names) {
  std::vector<std::string> errors;
  std::set<std::string> from_flag;
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (!absl::ConsumePrefix(&arg, "--")) {
      errors.push_back(absl::StrCat("unexpected argument '", arg, "'"));
      continue;
    }
    if (arg == "print-config" || arg == "print_config") {
      print_config_ = true;
      continue;
    }
    if (arg == "help") {
      help_ = true;
      continue;
    }
    if (arg == "version") {
      version_ = true;
      continue;
    }
    std::string name;
    std::string value;
    bool has_value = false;
    if (auto eq = arg.find('='); eq != absl::string_view::npos) {
      name = std::string(arg.substr(0, eq));
      value = std::string(arg.substr(eq + 1));
      has_value = true;
    } else {
      name = std::string(arg);
    }
    for (char& c : name) {
      if (c == '-') c = '_';
    }
    auto it = settings_.find(name);
    if (it == settings_.end()) {
      errors.push_back(absl::StrCat("unknown flag --", name));
      continue;
    }
    if (!has_value) {
      if (it->second.type == Type::kBool) {
        value = "true";
      } else if (i + 1 < argc) {
        value = argv[++i];
      } else {
        errors.push_back(absl::StrCat("flag --", name, " needs a value"));
        continue;
      }
    }
    it->second.value = value;
    from_flag.insert(name);
  }
  auto env_lookup = getenv_fn ? getenv_fn : [](const char* n) -> const char* {
    return std::getenv(n);
  };
  std::set<std::string> known;
  for (auto& [name, setting] : settings_) {
    known.insert(EnvName(name));
    const char* env = env_lookup(EnvName(name).c_str());
    if (env == nullptr) continue;
    if (!from_flag.count(name)) {
      setting.value = env;
    } else if (!SameValue(setting.type, setting.value, env)) {
      errors.push_back(
          setting.secret
              ? absl::StrCat("--", name, " and ", EnvName(name),
                             " are both set and disagree; unset one")
              : absl::StrCat("--", name, "=", setting.value, " and ",
                             EnvName(name), "=", env, " disagree; unset one"));
    }
  }
  if (!env_names.has_value() && !getenv_fn) {
    env_names.emplace();
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
      absl::string_view entry(*e);
      env_names->emplace_back(entry.substr(0, entry.find('=')));
    }
  }
  for (const std::string& var :
       env_names.value_or(std::vector<std::string>{})) {
    if (absl::StartsWith(var, "SIGNPOST_") && !known.count(var) &&
        !IsToolVariable(var)) {
      warnings_.push_back(absl::StrCat(var, " is set but names no setting of ",
                                       program_, " (ignored)"));
    }
  }
  for (auto& [name, setting] : settings_) {
    switch (setting.type) {
      case Type::kString:
        if (setting.required && setting.value.empty()) {
          errors.push_back(absl::StrCat(name, " is required (--", name, " or ",
                                        EnvName(name), ")"));
        }
        break;
      case Type::kInt: {
        int64_t v = 0;
        if (!absl::SimpleAtoi(setting.value, &v)) {
          errors.push_back(
              absl::StrCat(name, "='", setting.value, "' is not an integer"));
        } else if (v < setting.min || v > setting.max) {
          errors.push_back(absl::StrCat(name, "=", v, " is outside [",
                                        setting.min, ", ", setting.max, "]"));
        }
        break;
      }
      case Type::kBool: {
        std::string lower = absl::AsciiStrToLower(setting.value);
        if (lower == "1" || lower == "true" || lower == "yes") {
          setting.value = "true";
        } else if (lower == "0" || lower == "false" || lower == "no") {
          setting.value = "false";
        } else {
          errors.push_back(
              absl::StrCat(name, "='", setting.value, "' is not a boolean"));
        }
        break;
      }
    }
  }
  if (!errors.empty()) {
    return absl::InvalidArgumentError(absl::StrJoin(errors, "; "));
  }
  return absl::OkStatus();
}

const Config::Setting& Config::Find(absl::string_view name) const {
  auto it = settings_.find(std::string(name));
  if (it == settings_.end()) {
    // Reading an undeclared setting is a programming error.
    std::fprintf(stderr, "config: undeclared setting %s\n",
                 std::string(name).c_str());
    std::abort();
  }
  return it->second;
}

const std::string& Config::GetString(absl::string_view name) const {
  return Find(name).value;
}

int64_t Config::GetInt(absl::string_view name) const {
  int64_t v = 0;
  (void)absl::SimpleAtoi(Find(name).value, &v);
  return v;
}

bool Config::GetBool(absl::string_view name) const {
  return Find(name).value == "true";
}

std::string Config::Render() const {
  std::string out;
  for (const auto& [name, setting] : settings_) {
    std::string shown = setting.value;
    if (setting.secret && !shown.empty()) shown = "<redacted>";
    absl::StrAppend(&out, name, "=", shown, "\n");
  }
  return out;
}

std::string Config::Usage() const {
  std::string out = absl::StrCat("usage: ", program_, " [flags]\n");
  for (const auto& [name, setting] : settings_) {
    std::string shown = setting.default_value;
    if (setting.secret && !shown.empty()) shown = "<redacted>";
    absl::StrAppend(&out, "  --", name, "  (", EnvName(name), ")  ",
                    setting.help,
                    setting.required ? " [required]"
                    : shown.empty()  ? ""
                                     : absl::StrCat(" [default: ", shown, "]"),
                    "\n");
  }
  absl::StrAppend(&out,
                  "  --print-config  print the effective settings, "
                  "secrets redacted, and exit\n"
                  "  --version  print the version and exit\n"
                  "  --help  print this and exit\n");
  return out;
}

void PrintConfigError(absl::string_view program, const absl::Status& status) {
  std::fprintf(stderr, "%s: configuration error: %s\n",
               std::string(program).c_str(),
               std::string(status.message()).c_str());
}

}  // namespace signpost::config
