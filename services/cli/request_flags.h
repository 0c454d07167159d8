// A request message's fields as command-line flags, by reflection: every
// scalar, enum and google.protobuf.Timestamp field (and repeated ones) of
// the request becomes `--field_name VALUE` (nested messages `--outer.inner`),
// enums by name (RISK_LEVEL_HIGH or HIGH, any case, validated), timestamps
// as YYYY-MM-DD (midnight, Europe/London), RFC 3339 or `now`. `--request
// FILE` (alias `--file`) loads the whole request first, as JSON (*.json) or
// text format; when the request wraps a single message (e.g. a Directory)
// the file may hold just that message. Flags given override the file. Not
// thread-safe.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "google/protobuf/message.h"

namespace signpost::cli {

class RequestFlags {
 public:
  struct Options {
    // Field paths also accepted as a positional argument, in order.
    std::vector<std::string> positional;
    // Extra flag names per field path (e.g. "referral_id" -> "--referral").
    std::map<std::string, std::vector<std::string>> aliases;
    // Whether nested message fields get dotted flags (off for requests that
    // are mostly a file, such as SubmitReferral).
    bool nested = true;
    // Whether --request/--file must be given.
    bool file_required = false;

    Options& Positional(const std::string& path) {
      positional.push_back(path);
      return *this;
    }
    Options& Alias(const std::string& path, const std::string& flag) {
      aliases[path].push_back(flag);
      return *this;
    }
    Options& Flat() {
      nested = false;
      return *this;
    }
    Options& FileRequired() {
      file_required = true;
      return *this;
    }
  };
  // Shorthands for the common cases.
  static Options ById(const std::string& path) {
    return Options().Positional(path);
  }
  static Options ByArea() { return Options().Alias("area_code", "--area"); }

  // Adds the flags to `app`; `request` must outlive this.
  RequestFlags(CLI::App* app, google::protobuf::Message* request,
               const Options& options);

  // After parsing: loads --request, then sets every flag given. An
  // INVALID_ARGUMENT naming the flag on a bad value.
  absl::Status Apply();

 private:
  struct Bound {
    std::string path;  // dotted field path
    std::string flag;  // "--path"
    CLI::Option* option = nullptr;
    std::vector<std::string> values;
  };
  void AddFields(const google::protobuf::Descriptor* descriptor,
                 const std::string& prefix, int depth);

  CLI::App* app_;
  google::protobuf::Message* request_;
  Options options_;
  std::string file_;
  std::vector<std::unique_ptr<Bound>> bound_;
};

// Loads `path` (JSON when it ends in .json, else protobuf text format) into
// `message`, or into its only message field when the file holds that.
absl::Status LoadMessageFile(const std::string& path,
                             google::protobuf::Message* message);

// "2024-01-01" (midnight, Europe/London), an RFC 3339 time, or "now".
absl::StatusOr<absl::Time> ParseTime(const std::string& text);

// Sets field `path` (dotted) of `message` from its text; repeated fields
// get one element per value.
absl::Status SetField(google::protobuf::Message* message,
                      const std::string& path,
                      const std::vector<std::string>& values);

}  // namespace signpost::cli
