#include "common/grpc/reflection_v1.h"

#include <unordered_set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.pb.h"
#include "grpcpp/impl/server_builder_plugin.h"
#include "grpcpp/impl/server_initializer.h"

namespace signpost::grpcutil {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::FileDescriptor;
using grpc::reflection::v1::ServerReflectionRequest;
using grpc::reflection::v1::ServerReflectionResponse;

// `file` and, depth first, every file it imports, each once.
void AddWithDependencies(const FileDescriptor* file,
                         std::unordered_set<std::string>* seen,
                         ServerReflectionResponse* response) {
  if (!seen->insert(file->name()).second) return;
  google::protobuf::FileDescriptorProto proto;
  file->CopyTo(&proto);
  response->mutable_file_descriptor_response()->add_file_descriptor_proto(
      proto.SerializeAsString());
  for (int i = 0; i < file->dependency_count(); ++i) {
    AddWithDependencies(file->dependency(i), seen, response);
  }
}

grpc::Status AnswerWithFile(const FileDescriptor* file, absl::string_view what,
                            ServerReflectionResponse* response) {
  if (file == nullptr) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND,
                        absl::StrCat(what, " not found"));
  }
  std::unordered_set<std::string> seen;
  AddWithDependencies(file, &seen, response);
  return grpc::Status::OK;
}

// One reactor per stream: each request read is answered before the next is
// read, so the stream needs no lock.
class ReflectionReactor final
    : public grpc::ServerBidiReactor<ServerReflectionRequest,
                                     ServerReflectionResponse> {
 public:
  explicit ReflectionReactor(const ReflectionV1Service& service)
      : service_(service) {
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      // The client closed its side (or went away): the stream is done.
      Finish(grpc::Status::OK);
      return;
    }
    response_ = service_.Answer(request_);
    StartWrite(&response_);
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::CANCELLED,
                          "the reflection stream was closed"));
      return;
    }
    StartRead(&request_);
  }

  void OnDone() override { delete this; }

 private:
  const ReflectionV1Service& service_;
  ServerReflectionRequest request_;
  ServerReflectionResponse response_;
};

class ReflectionV1Plugin final : public grpc::ServerBuilderPlugin {
 public:
  std::string name() override { return "signpost_reflection_v1"; }
  void InitServer(grpc::ServerInitializer* si) override {
    si->RegisterService(service_);
  }
  // After the server started: its list now holds every service registered,
  // the built-in health service among them.
  void Finish(grpc::ServerInitializer* si) override {
    service_->SetServiceList(*si->GetServiceList());
  }
  void ChangeArguments(const std::string& /*name*/, void* /*value*/) override {}

 private:
  const std::shared_ptr<ReflectionV1Service> service_ =
      std::make_shared<ReflectionV1Service>();
};

class ReflectionV1BuilderOption final : public grpc::ServerBuilderOption {
 public:
  void UpdateArguments(grpc::ChannelArguments* /*args*/) override {}
  void UpdatePlugins(std::vector<std::unique_ptr<grpc::ServerBuilderPlugin>>*
                         plugins) override {
    plugins->push_back(std::make_unique<ReflectionV1Plugin>());
  }
};

}  // namespace

ReflectionV1Service::ReflectionV1Service(
    const google::protobuf::DescriptorPool* pool)
    : pool_(pool) {}

void ReflectionV1Service::SetServiceList(std::vector<std::string> services) {
  absl::MutexLock lock(&mu_);
  services_ = std::move(services);
  listed_ = true;
}

ServerReflectionResponse ReflectionV1Service::Answer(
    const ServerReflectionRequest& request) const {
  ServerReflectionResponse response;
  grpc::Status status;
  switch (request.message_request_case()) {
    case ServerReflectionRequest::kFileByFilename:
      status = AnswerWithFile(pool_->FindFileByName(request.file_by_filename()),
                              absl::StrCat("file ", request.file_by_filename()),
                              &response);
      break;
    case ServerReflectionRequest::kFileContainingSymbol:
      status = AnswerWithFile(
          pool_->FindFileContainingSymbol(request.file_containing_symbol()),
          absl::StrCat("symbol ", request.file_containing_symbol()), &response);
      break;
    case ServerReflectionRequest::kFileContainingExtension: {
      const auto& extension = request.file_containing_extension();
      const Descriptor* type =
          pool_->FindMessageTypeByName(extension.containing_type());
      const FieldDescriptor* field =
          type == nullptr ? nullptr
                          : pool_->FindExtensionByNumber(
                                type, extension.extension_number());
      status = AnswerWithFile(
          field == nullptr ? nullptr : field->file(),
          absl::StrCat("extension ", extension.extension_number(), " of ",
                       extension.containing_type()),
          &response);
      break;
    }
    case ServerReflectionRequest::kAllExtensionNumbersOfType: {
      const std::string& name = request.all_extension_numbers_of_type();
      const Descriptor* type = pool_->FindMessageTypeByName(name);
      if (type == nullptr) {
        status = grpc::Status(grpc::StatusCode::NOT_FOUND,
                              absl::StrCat("type ", name, " not found"));
        break;
      }
      std::vector<const FieldDescriptor*> extensions;
      pool_->FindAllExtensions(type, &extensions);
      auto* numbers = response.mutable_all_extension_numbers_response();
      numbers->set_base_type_name(name);
      for (const FieldDescriptor* field : extensions) {
        numbers->add_extension_number(field->number());
      }
      break;
    }
    case ServerReflectionRequest::kListServices: {
      absl::MutexLock lock(&mu_);
      if (!listed_) {
        status = grpc::Status(grpc::StatusCode::UNAVAILABLE,
                              "the server is still starting");
        break;
      }
      auto* list = response.mutable_list_services_response();
      for (const std::string& name : services_) {
        list->add_service()->set_name(name);
      }
      break;
    }
    case ServerReflectionRequest::MESSAGE_REQUEST_NOT_SET:
      status = grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                            "the request asks for nothing this server knows");
      break;
  }
  if (!status.ok()) {
    auto* error = response.mutable_error_response();
    error->set_error_code(status.error_code());
    error->set_error_message(status.error_message());
  }
  response.set_valid_host(request.host());
  *response.mutable_original_request() = request;
  return response;
}

grpc::ServerBidiReactor<ServerReflectionRequest, ServerReflectionResponse>*
ReflectionV1Service::ServerReflectionInfo(
    grpc::CallbackServerContext* /*context*/) {
  return new ReflectionReactor(*this);
}

std::unique_ptr<grpc::ServerBuilderOption> ReflectionV1Option() {
  return std::make_unique<ReflectionV1BuilderOption>();
}

}  // namespace signpost::grpcutil
