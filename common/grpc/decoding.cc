#include "common/grpc/decoding.h"

#include <utility>

#include "google/protobuf/descriptor.h"

namespace signpost::grpcutil {
namespace {

thread_local std::optional<std::string> undecodable;

}  // namespace

std::optional<std::string> UndecodableRequest() { return undecodable; }

namespace decoding_internal {

void SetUndecodable(std::optional<std::string> type_name) {
  undecodable = std::move(type_name);
}

int MethodIndex(absl::string_view service_full_name, absl::string_view method) {
  const google::protobuf::ServiceDescriptor* service =
      google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
          std::string(service_full_name));
  if (service == nullptr) return -1;
  for (int i = 0; i < service->method_count(); ++i) {
    if (service->method(i)->name() == method) return i;
  }
  return -1;
}

}  // namespace decoding_internal
}  // namespace signpost::grpcutil
