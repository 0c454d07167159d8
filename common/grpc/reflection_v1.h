// Server reflection as grpc.reflection.v1. Debian's gRPC 1.51 serves only
// grpc.reflection.v1alpha (ServerRunner keeps that one too); this answers
// the same five requests from a descriptor pool, each file with its
// transitive dependencies, as upstream's ProtoServerReflection does. An
// unknown file, symbol, type or extension is NOT_FOUND in the stream's
// error_response. Reflection describes the API only, never data.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "google/protobuf/descriptor.h"
#include "grpc/reflection/v1/reflection.grpc.pb.h"
#include "grpcpp/impl/server_builder_option.h"

namespace signpost::grpcutil {

// The grpc.reflection.v1.ServerReflection service. Thread-safe: each stream
// has its own reactor, and the service list is set once under a lock.
class ReflectionV1Service final
    : public grpc::reflection::v1::ServerReflection::CallbackService {
 public:
  // `pool` must outlive the service; the default is the generated pool, the
  // descriptors linked into the binary.
  explicit ReflectionV1Service(
      const google::protobuf::DescriptorPool* pool =
          google::protobuf::DescriptorPool::generated_pool());

  // The full names list_services reports. Until it is set, list_services is
  // UNAVAILABLE.
  void SetServiceList(std::vector<std::string> services);

  // The answer to one request, with valid_host and original_request set.
  grpc::reflection::v1::ServerReflectionResponse Answer(
      const grpc::reflection::v1::ServerReflectionRequest& request) const;

  grpc::ServerBidiReactor<grpc::reflection::v1::ServerReflectionRequest,
                          grpc::reflection::v1::ServerReflectionResponse>*
  ServerReflectionInfo(grpc::CallbackServerContext* context) override;

 private:
  const google::protobuf::DescriptorPool* const pool_;
  mutable absl::Mutex mu_;
  bool listed_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::string> services_ ABSL_GUARDED_BY(mu_);
};

// A ServerBuilder option that adds a ReflectionV1Service over the generated
// pool to the server, listing every service the server registers (its own,
// health and both reflection versions), the way gRPC's v1alpha plugin does.
std::unique_ptr<grpc::ServerBuilderOption> ReflectionV1Option();

}  // namespace signpost::grpcutil
