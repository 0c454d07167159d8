// Request bytes that do not decode get INVALID_ARGUMENT, not gRPC's bare
// UNIMPLEMENTED.
//
// gRPC's callback unary handler answers UNIMPLEMENTED with an empty message
// when a request does not parse, before any of our code runs. An adapter
// therefore swaps each method's handler for a DecodingUnaryHandler in its
// constructor (RefuseUndecodable). The wrapper decodes as gRPC does; when
// the bytes do not parse, it hands the adapter an empty request instead and
// marks the call, and the gate (gate.h) answers INVALID_ARGUMENT naming the
// request type, after the caller has been authenticated and authorised as
// for any call. Thread-safe (the mark is per thread, set and cleared around
// the synchronous part of the handler).
#pragma once

#include <functional>
#include <new>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "google/protobuf/descriptor.h"
#include "grpc/byte_buffer.h"
#include "grpcpp/impl/service_type.h"
#include "grpcpp/support/message_allocator.h"
#include "grpcpp/support/server_callback.h"

namespace signpost::grpcutil {

// The request type whose bytes did not decode, for the call now being set
// up on this thread (read by Gate::Run); nullopt for a decodable request.
std::optional<std::string> UndecodableRequest();

namespace decoding_internal {

// Marks (or, with nullopt, clears) the call being set up on this thread.
void SetUndecodable(std::optional<std::string> type_name);

// The protected parts of grpc::Service, reached through a derived class.
struct ServiceAccess : grpc::Service {
  static void Replace(grpc::Service& service, int index,
                      grpc::internal::MethodHandler* handler) {
    (service.*(&ServiceAccess::MarkMethodCallback))(index, handler);
  }
};

// The full name of a service ("signpost.v1.IntakeService"), from its first
// method's path; "" for a service without methods (decoding.cc).
std::string ServiceFullName(const grpc::Service& service);

// The index of `method` in service `service_full_name`, or -1.
int MethodIndex(absl::string_view service_full_name, absl::string_view method);

}  // namespace decoding_internal

template <typename Request, typename Response>
class DecodingUnaryHandler : public grpc::internal::MethodHandler {
 public:
  using Fn = std::function<grpc::ServerUnaryReactor*(
      grpc::CallbackServerContext*, const Request*, Response*)>;
  explicit DecodingUnaryHandler(Fn fn) : inner_(std::move(fn)) {}

  void* Deserialize(grpc_call* call, grpc_byte_buffer* req,
                    grpc::Status* status, void** handler_data) final {
    auto* state = new (grpc::g_core_codegen_interface->grpc_call_arena_alloc(
        call, sizeof(State))) State();
    void* request = inner_.Deserialize(call, req, status, &state->inner_data);
    if (!status->ok()) {
      // Free what the failed decode made, then decode an empty message
      // (always valid) so that the adapter runs, marked undecodable.
      static_cast<grpc::MessageHolder<Request, Response>*>(state->inner_data)
          ->Release();
      // Decoding consumes (destroys) the buffer it is given, as it did `req`.
      grpc_byte_buffer* empty = grpc_raw_byte_buffer_create(nullptr, 0);
      request = inner_.Deserialize(call, empty, status, &state->inner_data);
      state->undecodable = true;
    }
    *handler_data = state;
    return request;
  }

  void RunHandler(const HandlerParameter& param) final {
    auto* state = static_cast<State*>(param.internal_data);
    if (state->undecodable) {
      decoding_internal::SetUndecodable(
          std::string(Request::descriptor()->full_name()));
    }
    inner_.RunHandler(HandlerParameter(
        param.call, param.server_context, param.request, param.status,
        state->inner_data, param.call_requester));
    decoding_internal::SetUndecodable(std::nullopt);
  }

 private:
  struct State {
    void* inner_data = nullptr;
    bool undecodable = false;
  };
  grpc::internal::CallbackUnaryHandler<Request, Response> inner_;
};

// DecodingUnaryHandler's counterpart for a server-streaming method: the
// adapter's reactor getter runs with an empty request, marked undecodable
// (UndecodableRequest()), and must refuse the call itself.
template <typename Request, typename Response>
class DecodingServerStreamingHandler : public grpc::internal::MethodHandler {
 public:
  using Fn = std::function<grpc::ServerWriteReactor<Response>*(
      grpc::CallbackServerContext*, const Request*)>;
  explicit DecodingServerStreamingHandler(Fn fn) : inner_(std::move(fn)) {}

  void* Deserialize(grpc_call* call, grpc_byte_buffer* req,
                    grpc::Status* status, void** handler_data) final {
    auto* state = new (grpc::g_core_codegen_interface->grpc_call_arena_alloc(
        call, sizeof(State))) State();
    void* request = inner_.Deserialize(call, req, status, &state->inner_data);
    if (!status->ok()) {
      // The failed decode freed its message; decode an empty one instead.
      grpc_byte_buffer* empty = grpc_raw_byte_buffer_create(nullptr, 0);
      request = inner_.Deserialize(call, empty, status, &state->inner_data);
      state->undecodable = true;
    }
    *handler_data = state;
    return request;
  }

  void RunHandler(const HandlerParameter& param) final {
    auto* state = static_cast<State*>(param.internal_data);
    if (state->undecodable) {
      decoding_internal::SetUndecodable(
          std::string(Request::descriptor()->full_name()));
    }
    inner_.RunHandler(HandlerParameter(
        param.call, param.server_context, param.request, param.status,
        state->inner_data, param.call_requester));
    decoding_internal::SetUndecodable(std::nullopt);
  }

 private:
  struct State {
    void* inner_data = nullptr;
    bool undecodable = false;
  };
  grpc::internal::CallbackServerStreamingHandler<Request, Response> inner_;
};

// Swaps the handler of `method` of `service` (whose full name is
// `service_full_name`) for a DecodingUnaryHandler calling `fn` on it. Call
// from the adapter's constructor, once per method; aborts on a method the
// service does not have.
template <typename Service, typename Request, typename Response>
void RefuseUndecodable(
    Service* service, absl::string_view service_full_name,
    absl::string_view method,
    grpc::ServerUnaryReactor* (Service::*fn)(grpc::CallbackServerContext*,
                                             const Request*, Response*)) {
  const int index = decoding_internal::MethodIndex(service_full_name, method);
  GPR_CODEGEN_ASSERT(index >= 0 && "RefuseUndecodable: unknown method");
  decoding_internal::ServiceAccess::Replace(
      *service, index,
      new DecodingUnaryHandler<Request, Response>(
          [service, fn](grpc::CallbackServerContext* context,
                        const Request* request, Response* response) {
            return (service->*fn)(context, request, response);
          }));
}

// RefuseUndecodable for a server-streaming method.
template <typename Service, typename Request, typename Response>
void RefuseUndecodable(Service* service, absl::string_view service_full_name,
                       absl::string_view method,
                       grpc::ServerWriteReactor<Response>* (Service::*fn)(
                           grpc::CallbackServerContext*, const Request*)) {
  const int index = decoding_internal::MethodIndex(service_full_name, method);
  GPR_CODEGEN_ASSERT(index >= 0 && "RefuseUndecodable: unknown method");
  decoding_internal::ServiceAccess::Replace(
      *service, index,
      new DecodingServerStreamingHandler<Request, Response>(
          [service, fn](grpc::CallbackServerContext* context,
                        const Request* request) {
            return (service->*fn)(context, request);
          }));
}

}  // namespace signpost::grpcutil
