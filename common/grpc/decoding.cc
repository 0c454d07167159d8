#include "common/grpc/decoding.h"

#include <utility>

#include "google/protobuf/descriptor.h"

namespace signpost::grpcutil {
namespace {

thread_local std::optional<std::string> undecodable;

}  // namespace

std::optional<std::string> UndecodableRequest() { return undecodable; }

namespace decoding_internal {
namespace {

// grpc::Service keeps its methods private and names them nowhere public;
// the one sanctioned way to name a private member is an explicit template
// instantiation (C++20 [temp.spec]/6), which hands its address to this
// friend. Here, in one translation unit only.
struct MethodsTag {};
using MethodsMember =
    std::vector<std::unique_ptr<grpc::internal::RpcServiceMethod>>
        grpc::Service::*;
MethodsMember MethodsOf(MethodsTag);
template <MethodsMember M>
struct MethodsThief {
  friend MethodsMember MethodsOf(MethodsTag) { return M; }
};
template struct MethodsThief<&grpc::Service::methods_>;

}  // namespace

std::string ServiceFullName(const grpc::Service& service) {
  const auto& methods = service.*MethodsOf(MethodsTag{});
  for (const auto& m : methods) {
    if (m == nullptr) continue;
    const std::string path = m->name();  // "/pkg.Service/Method"
    const size_t slash = path.rfind('/');
    if (path.size() > 1 && slash != std::string::npos && slash > 0) {
      return path.substr(1, slash - 1);
    }
  }
  return "";
}

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
