#include "services/cli/output.h"

#include <algorithm>
#include <cstdio>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/time/time.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/util/json_util.h"

namespace signpost::cli {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

using Cells = std::vector<std::pair<std::string, std::string>>;

struct SubTable {
  std::string path;
  const Message* owner;
  const FieldDescriptor* field;
};

bool IsTimestamp(const google::protobuf::Descriptor* d) {
  return d->full_name() == "google.protobuf.Timestamp";
}

std::string TimestampText(const Message& ts) {
  const Reflection* r = ts.GetReflection();
  const auto* d = ts.GetDescriptor();
  const int64_t seconds = r->GetInt64(ts, d->FindFieldByName("seconds"));
  const int32_t nanos = r->GetInt32(ts, d->FindFieldByName("nanos"));
  return absl::FormatTime(
      "%Y-%m-%dT%H:%M:%E3SZ",
      absl::FromUnixSeconds(seconds) + absl::Nanoseconds(nanos),
      absl::UTCTimeZone());
}

// One value of a scalar, enum or Timestamp field (element `index` when
// repeated).
std::string ValueText(const Message& m, const FieldDescriptor* f, int index) {
  const Reflection* r = m.GetReflection();
  const bool rep = f->is_repeated();
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING: {
      std::string s =
          rep ? r->GetRepeatedString(m, f, index) : r->GetString(m, f);
      if (f->type() == FieldDescriptor::TYPE_BYTES) {
        return absl::Base64Escape(s);
      }
      return absl::StrReplaceAll(s, {{"\n", " "}, {"\t", " "}});
    }
    case FieldDescriptor::CPPTYPE_INT32:
      return absl::StrCat(rep ? r->GetRepeatedInt32(m, f, index)
                              : r->GetInt32(m, f));
    case FieldDescriptor::CPPTYPE_INT64:
      return absl::StrCat(rep ? r->GetRepeatedInt64(m, f, index)
                              : r->GetInt64(m, f));
    case FieldDescriptor::CPPTYPE_UINT32:
      return absl::StrCat(rep ? r->GetRepeatedUInt32(m, f, index)
                              : r->GetUInt32(m, f));
    case FieldDescriptor::CPPTYPE_UINT64:
      return absl::StrCat(rep ? r->GetRepeatedUInt64(m, f, index)
                              : r->GetUInt64(m, f));
    case FieldDescriptor::CPPTYPE_DOUBLE:
      return absl::StrCat(rep ? r->GetRepeatedDouble(m, f, index)
                              : r->GetDouble(m, f));
    case FieldDescriptor::CPPTYPE_FLOAT:
      return absl::StrCat(rep ? r->GetRepeatedFloat(m, f, index)
                              : r->GetFloat(m, f));
    case FieldDescriptor::CPPTYPE_BOOL:
      return (rep ? r->GetRepeatedBool(m, f, index) : r->GetBool(m, f))
                 ? "true"
                 : "false";
    case FieldDescriptor::CPPTYPE_ENUM:
      return (rep ? r->GetRepeatedEnum(m, f, index) : r->GetEnum(m, f))->name();
    case FieldDescriptor::CPPTYPE_MESSAGE:
      return TimestampText(rep ? r->GetRepeatedMessage(m, f, index)
                               : r->GetMessage(m, f));
  }
  return "";
}

// The set fields of `m` as cells under `prefix`; repeated message fields go
// to `tables` (or, when `tables` is null, become a count "[n]").
void Flatten(const Message& m, const std::string& prefix, Cells* cells,
             std::vector<SubTable>* tables) {
  std::vector<const FieldDescriptor*> fields;
  m.GetReflection()->ListFields(m, &fields);
  const Reflection* r = m.GetReflection();
  for (const FieldDescriptor* f : fields) {
    const std::string path = prefix + f->name();
    const bool message = f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE &&
                         !IsTimestamp(f->message_type());
    if (f->is_map()) {
      cells->emplace_back(path, absl::StrCat("{", r->FieldSize(m, f), "}"));
    } else if (f->is_repeated() && message) {
      if (tables != nullptr) {
        tables->push_back({path, &m, f});
      } else {
        cells->emplace_back(path, absl::StrCat("[", r->FieldSize(m, f), "]"));
      }
    } else if (f->is_repeated()) {
      std::vector<std::string> values;
      for (int i = 0; i < r->FieldSize(m, f); ++i) {
        values.push_back(ValueText(m, f, i));
      }
      cells->emplace_back(path, absl::StrJoin(values, ","));
    } else if (message) {
      Flatten(r->GetMessage(m, f), path + ".", cells, tables);
    } else {
      cells->emplace_back(path, ValueText(m, f, 0));
    }
  }
}

void AppendTable(const SubTable& t, std::string* out) {
  const Reflection* r = t.owner->GetReflection();
  const int n = r->FieldSize(*t.owner, t.field);
  absl::StrAppend(out, "\n", t.path, " (", n, "):\n");
  std::vector<std::string> columns;
  std::vector<Cells> rows;
  for (int i = 0; i < n; ++i) {
    Cells cells;
    Flatten(r->GetRepeatedMessage(*t.owner, t.field, i), "", &cells, nullptr);
    for (const auto& [name, value] : cells) {
      if (std::find(columns.begin(), columns.end(), name) == columns.end()) {
        columns.push_back(name);
      }
    }
    rows.push_back(std::move(cells));
  }
  if (columns.empty()) return;
  std::vector<std::vector<std::string>> grid;
  std::vector<size_t> width;
  for (const std::string& c : columns) width.push_back(c.size());
  for (const Cells& cells : rows) {
    std::vector<std::string> line(columns.size());
    for (const auto& [name, value] : cells) {
      const size_t col =
          std::find(columns.begin(), columns.end(), name) - columns.begin();
      line[col] = value;
      width[col] = std::max(width[col], value.size());
    }
    grid.push_back(std::move(line));
  }
  auto append_line = [&](const std::vector<std::string>& line) {
    std::string text;
    for (size_t c = 0; c < line.size(); ++c) {
      absl::StrAppend(&text, line[c]);
      if (c + 1 < line.size()) {
        text.append(width[c] - line[c].size() + 2, ' ');
      }
    }
    absl::StrAppend(out, text, "\n");
  };
  append_line(columns);
  for (const auto& line : grid) append_line(line);
}

}  // namespace

std::string ToJson(const Message& message) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = false;
  auto status =
      google::protobuf::util::MessageToJsonString(message, &json, options);
  if (!status.ok()) return "{}";  // only on unresolvable Any types
  return json;
}

std::string ToTable(const Message& message) {
  Cells cells;
  std::vector<SubTable> tables;
  Flatten(message, "", &cells, &tables);
  std::string out;
  size_t width = 0;
  for (const auto& [name, value] : cells) width = std::max(width, name.size());
  for (const auto& [name, value] : cells) {
    absl::StrAppend(&out, name, std::string(width - name.size() + 2, ' '),
                    value, "\n");
  }
  for (const SubTable& t : tables) AppendTable(t, &out);
  if (out.empty()) out = "(empty response)\n";
  return out;
}

void Printer::Print(const Message& message) const {
  const std::string text = format_ == Format::kJson
                               ? absl::StrCat(ToJson(message), "\n")
                               : ToTable(message);
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}

}  // namespace signpost::cli
