#include "services/cli/request_flags.h"

#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/config/textproto.h"
#include "common/time/timestamps.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/timestamp.pb.h"
#include "google/protobuf/util/json_util.h"

namespace signpost::cli {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::EnumDescriptor;
using google::protobuf::EnumValueDescriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

constexpr int kMaxDepth = 3;

bool IsTimestamp(const FieldDescriptor* field) {
  return field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE &&
         field->message_type()->full_name() == "google.protobuf.Timestamp";
}

// The prefix every value of the enum shares up to its last '_'
// ("RISK_LEVEL_" for RiskLevel), so that values can be named without it.
std::string EnumPrefix(const EnumDescriptor* e) {
  if (e->value_count() < 2) return "";
  std::string prefix = e->value(0)->name();
  for (int i = 1; i < e->value_count(); ++i) {
    const std::string& name = e->value(i)->name();
    size_t n = 0;
    while (n < prefix.size() && n < name.size() && prefix[n] == name[n]) ++n;
    prefix.resize(n);
  }
  const size_t underscore = prefix.rfind('_');
  return underscore == std::string::npos ? ""
                                         : prefix.substr(0, underscore + 1);
}

absl::StatusOr<const EnumValueDescriptor*> ParseEnum(const EnumDescriptor* e,
                                                     const std::string& text) {
  const std::string upper = absl::AsciiStrToUpper(text);
  const std::string prefix = EnumPrefix(e);
  for (int i = 0; i < e->value_count(); ++i) {
    const EnumValueDescriptor* v = e->value(i);
    if (v->name() == upper || v->name() == prefix + upper) return v;
  }
  std::vector<std::string> names;
  for (int i = 0; i < e->value_count(); ++i) {
    if (absl::EndsWith(e->value(i)->name(), "_UNSPECIFIED")) continue;
    names.push_back(e->value(i)->name().substr(prefix.size()));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("'", text, "' is not a ", e->name(), " (one of ",
                   absl::StrJoin(names, ", "), ")"));
}

absl::StatusOr<bool> ParseBool(const std::string& text) {
  const std::string lower = absl::AsciiStrToLower(text);
  if (lower == "true" || lower == "1" || lower == "yes" || lower == "on") {
    return true;
  }
  if (lower == "false" || lower == "0" || lower == "no" || lower == "off") {
    return false;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("'", text, "' is not true or false"));
}

// Sets one value of `field` in `message` (appends when repeated).
absl::Status SetOne(Message* message, const FieldDescriptor* field,
                    const std::string& text) {
  const Reflection* r = message->GetReflection();
  const bool rep = field->is_repeated();
  auto bad_number = [&] {
    return absl::InvalidArgumentError(
        absl::StrCat("'", text, "' is not a number"));
  };
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING:
      if (field->type() == FieldDescriptor::TYPE_BYTES) {
        return absl::InvalidArgumentError(
            "bytes fields are set with --request FILE");
      }
      rep ? r->AddString(message, field, text)
          : r->SetString(message, field, text);
      return absl::OkStatus();
    case FieldDescriptor::CPPTYPE_INT32: {
      int32_t v;
      if (!absl::SimpleAtoi(text, &v)) return bad_number();
      rep ? r->AddInt32(message, field, v) : r->SetInt32(message, field, v);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_INT64: {
      int64_t v;
      if (!absl::SimpleAtoi(text, &v)) return bad_number();
      rep ? r->AddInt64(message, field, v) : r->SetInt64(message, field, v);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_UINT32: {
      uint32_t v;
      if (!absl::SimpleAtoi(text, &v)) return bad_number();
      rep ? r->AddUInt32(message, field, v) : r->SetUInt32(message, field, v);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_UINT64: {
      uint64_t v;
      if (!absl::SimpleAtoi(text, &v)) return bad_number();
      rep ? r->AddUInt64(message, field, v) : r->SetUInt64(message, field, v);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_DOUBLE:
    case FieldDescriptor::CPPTYPE_FLOAT: {
      double v;
      if (!absl::SimpleAtod(text, &v)) return bad_number();
      if (field->cpp_type() == FieldDescriptor::CPPTYPE_FLOAT) {
        rep ? r->AddFloat(message, field, static_cast<float>(v))
            : r->SetFloat(message, field, static_cast<float>(v));
      } else {
        rep ? r->AddDouble(message, field, v) : r->SetDouble(message, field, v);
      }
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_BOOL: {
      absl::StatusOr<bool> v = ParseBool(text);
      if (!v.ok()) return v.status();
      rep ? r->AddBool(message, field, *v) : r->SetBool(message, field, *v);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_ENUM: {
      absl::StatusOr<const EnumValueDescriptor*> v =
          ParseEnum(field->enum_type(), text);
      if (!v.ok()) return v.status();
      rep ? r->AddEnum(message, field, *v) : r->SetEnum(message, field, *v);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_MESSAGE: {
      if (!IsTimestamp(field)) {
        return absl::InvalidArgumentError(
            "message fields are set with --request FILE");
      }
      absl::StatusOr<absl::Time> t = ParseTime(text);
      if (!t.ok()) return t.status();
      Message* ts = rep ? r->AddMessage(message, field)
                        : r->MutableMessage(message, field);
      ts->CopyFrom(timeutil::ToTimestamp(*t));
      return absl::OkStatus();
    }
  }
  return absl::InvalidArgumentError("unsupported field type");
}

absl::StatusOr<std::string> ReadWhole(const std::string& path) {
  std::ifstream in(path);
  if (!in)
    return absl::InvalidArgumentError(absl::StrCat("cannot read ", path));
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

absl::Status ParseInto(const std::string& path, const std::string& text,
                       Message* message) {
  if (absl::EndsWith(path, ".json")) {
    google::protobuf::util::JsonParseOptions options;
    auto status =
        google::protobuf::util::JsonStringToMessage(text, message, options);
    if (!status.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": ", std::string(status.message())));
    }
    return absl::OkStatus();
  }
  return config::ParseTextProto(text, path, message);
}

}  // namespace

absl::StatusOr<absl::Time> ParseTime(const std::string& text) {
  if (text == "now") return absl::Now();
  absl::Time t;
  std::string err;
  if (absl::ParseTime(absl::RFC3339_full, text, &t, &err)) return t;
  absl::TimeZone london;
  if (!absl::LoadTimeZone("Europe/London", &london)) {
    return absl::FailedPreconditionError("time zone Europe/London not found");
  }
  if (absl::ParseTime("%Y-%m-%d", text, london, &t, &err)) return t;
  return absl::InvalidArgumentError(
      absl::StrCat("'", text, "' is neither YYYY-MM-DD nor RFC 3339"));
}

absl::Status SetField(Message* message, const std::string& path,
                      const std::vector<std::string>& values) {
  std::vector<std::string> parts = absl::StrSplit(path, '.');
  Message* target = message;
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    const FieldDescriptor* f =
        target->GetDescriptor()->FindFieldByName(parts[i]);
    if (f == nullptr || f->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE ||
        f->is_repeated()) {
      return absl::InvalidArgumentError(absl::StrCat("no field ", path));
    }
    target = target->GetReflection()->MutableMessage(target, f);
  }
  const FieldDescriptor* field =
      target->GetDescriptor()->FindFieldByName(parts.back());
  if (field == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("no field ", path));
  }
  if (field->is_repeated()) {
    target->GetReflection()->ClearField(target, field);
  }
  for (const std::string& value : values) {
    if (absl::Status s = SetOne(target, field, value); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status LoadMessageFile(const std::string& path, Message* message) {
  absl::StatusOr<std::string> text = ReadWhole(path);
  if (!text.ok()) return text.status();
  absl::Status whole = ParseInto(path, *text, message);
  if (whole.ok()) return whole;
  // A request that wraps one message (ImportDirectoryRequest{directory})
  // may be given as that message alone.
  const Descriptor* d = message->GetDescriptor();
  if (d->field_count() == 1 &&
      d->field(0)->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE &&
      !d->field(0)->is_repeated()) {
    message->Clear();
    Message* inner =
        message->GetReflection()->MutableMessage(message, d->field(0));
    if (ParseInto(path, *text, inner).ok()) return absl::OkStatus();
    message->Clear();
  }
  return whole;
}

RequestFlags::RequestFlags(CLI::App* app, Message* request,
                           const Options& options)
    : app_(app), request_(request), options_(options) {
  CLI::Option* file =
      app_->add_option("--request,--file", file_,
                       absl::StrCat("the request (", request->GetTypeName(),
                                    ") as text format, or JSON if *.json"));
  if (options_.file_required) file->required();
  AddFields(request->GetDescriptor(), "", 0);
}

void RequestFlags::AddFields(const Descriptor* descriptor,
                             const std::string& prefix, int depth) {
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const FieldDescriptor* field = descriptor->field(i);
    const std::string path = prefix + field->name();
    if (field->is_map()) continue;
    if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE &&
        !IsTimestamp(field)) {
      if (options_.nested && !field->is_repeated() && depth + 1 < kMaxDepth) {
        AddFields(field->message_type(), path + ".", depth + 1);
      }
      continue;
    }
    if (field->type() == FieldDescriptor::TYPE_BYTES) continue;
    auto bound = std::make_unique<Bound>();
    bound->path = path;
    bound->flag = "--" + path;
    std::vector<std::string> names = {bound->flag};
    if (auto a = options_.aliases.find(path); a != options_.aliases.end()) {
      names.insert(names.end(), a->second.begin(), a->second.end());
    }
    for (const std::string& p : options_.positional) {
      if (p == path) names.push_back(path);
    }
    std::string help;
    switch (field->cpp_type()) {
      case FieldDescriptor::CPPTYPE_ENUM: {
        std::vector<std::string> values;
        const EnumDescriptor* e = field->enum_type();
        const std::string enum_prefix = EnumPrefix(e);
        for (int v = 0; v < e->value_count(); ++v) {
          if (absl::EndsWith(e->value(v)->name(), "_UNSPECIFIED")) continue;
          values.push_back(e->value(v)->name().substr(enum_prefix.size()));
        }
        help = absl::StrCat(e->name(), ": ", absl::StrJoin(values, "|"));
        break;
      }
      case FieldDescriptor::CPPTYPE_MESSAGE:
        help = "time: YYYY-MM-DD, RFC 3339 or now";
        break;
      case FieldDescriptor::CPPTYPE_BOOL:
        help = "true|false";
        break;
      default:
        help = field->type_name();
    }
    if (field->is_repeated()) absl::StrAppend(&help, " (repeatable)");
    bound->option =
        app_->add_option(absl::StrJoin(names, ","), bound->values, help);
    if (field->is_repeated()) {
      bound->option->expected(1)->multi_option_policy(
          CLI::MultiOptionPolicy::TakeAll);
    } else {
      bound->option->expected(1)->multi_option_policy(
          CLI::MultiOptionPolicy::TakeLast);
    }
    if (field->cpp_type() == FieldDescriptor::CPPTYPE_BOOL) {
      // `--dry_run` alone means true.
      bound->option->expected(0, 1)->default_str("true");
    }
    bound_.push_back(std::move(bound));
  }
}

absl::Status RequestFlags::Apply() {
  if (!file_.empty()) {
    if (absl::Status s = LoadMessageFile(file_, request_); !s.ok()) return s;
  }
  for (const auto& b : bound_) {
    if (b->option->count() == 0) continue;
    std::vector<std::string> values = b->values;
    if (values.empty()) values.push_back("true");  // a bare boolean flag
    if (absl::Status s = SetField(request_, b->path, values); !s.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(b->flag, ": ", std::string(s.message())));
    }
  }
  return absl::OkStatus();
}

}  // namespace signpost::cli
