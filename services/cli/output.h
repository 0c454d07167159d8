// Printing responses, by reflection, in the format `-o` chose. JSON is the
// protobuf JSON mapping, one document per line (so a stream is NDJSON).
// Table is for people: the message's set scalar fields as `name  value`
// lines (nested messages flattened with dotted names, enums by name, times in
// RFC 3339), and each repeated message field as a table with a row per
// element and a column per set scalar field. Thread-compatible.
#pragma once

#include <string>

#include "google/protobuf/message.h"

namespace signpost::cli {

enum class Format { kTable, kJson };

class Printer {
 public:
  explicit Printer(Format format) : format_(format) {}
  // Prints `message` to stdout and flushes.
  void Print(const google::protobuf::Message& message) const;

 private:
  Format format_;
};

// The protobuf JSON mapping of `message`, on one line.
std::string ToJson(const google::protobuf::Message& message);
// The table rendering described above, ending in a newline.
std::string ToTable(const google::protobuf::Message& message);

}  // namespace signpost::cli
