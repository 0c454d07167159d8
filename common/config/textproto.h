// Loads a typed data file (protobuf text format). A bad file is refused with
// the file, line, column and problem named. Thread-safe.
#pragma once

#include <fstream>
#include <sstream>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"

namespace signpost::config {

namespace internal {
class CollectErrors : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, google::protobuf::io::ColumnNumber column,
                const std::string& message) override {
    errors.push_back(
        absl::StrCat("line ", line + 1, ":", column + 1, ": ", message));
  }
  void AddWarning(int, google::protobuf::io::ColumnNumber,
                  const std::string&) override {}
  std::vector<std::string> errors;
};
}  // namespace internal

// Parses `text` into `out`; `name` labels errors.
template <typename T>
absl::Status ParseTextProto(const std::string& text, const std::string& name,
                            T* out) {
  internal::CollectErrors errors;
  google::protobuf::TextFormat::Parser parser;
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(text, out)) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": ", absl::StrJoin(errors.errors, "; ")));
  }
  return absl::OkStatus();
}

template <typename T>
absl::Status LoadTextProto(const std::string& path, T* out) {
  std::ifstream in(path);
  if (!in)
    return absl::InvalidArgumentError(absl::StrCat("cannot read ", path));
  std::stringstream buffer;
  buffer << in.rdbuf();
  return ParseTextProto(buffer.str(), path, out);
}

}  // namespace signpost::config
