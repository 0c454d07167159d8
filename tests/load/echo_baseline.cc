#include "tests/load/echo_baseline.h"

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "grpcpp/client_context.h"
#include "load/echo.grpc.pb.h"
#include "tests/support/test_support.h"

namespace signpost::load {
namespace {

// Answers every call at once with its payload, never blocking.
class EchoService final : public Echo::CallbackService {
  grpc::ServerUnaryReactor* Echo(grpc::CallbackServerContext* context,
                                 const EchoRequest* request,
                                 EchoResponse* response) override {
    response->set_payload(request->payload());
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
};

}  // namespace

EchoResult RunEchoBaseline(int outstanding, int payload_bytes,
                           absl::Duration warmup, absl::Duration duration) {
  EchoService service;
  testing::InProcessServer server({&service});
  std::unique_ptr<Echo::Stub> stub =
      Echo::NewStub(AgencyChannel(server.address(), "police-wmp"));
  EchoRequest request;
  std::string payload(static_cast<size_t>(payload_bytes), '\0');
  for (size_t i = 0; i < payload.size(); ++i) {
    payload[i] = static_cast<char>('a' + i % 26);
  }
  request.set_payload(payload);

  struct Slot {
    std::unique_ptr<grpc::ClientContext> context;
    EchoResponse response;
  };
  std::vector<Slot> slots(static_cast<size_t>(outstanding));
  std::atomic<int64_t> mismatched{0};
  const StartCall start = [&](int i,
                              std::function<void(const grpc::Status&)> done) {
    Slot& slot = slots[static_cast<size_t>(i)];
    slot.context = std::make_unique<grpc::ClientContext>();
    slot.context->set_deadline(
        absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    slot.response.Clear();
    stub->async()->Echo(
        slot.context.get(), &request, &slot.response,
        [&, i, done = std::move(done)](grpc::Status status) {
          if (status.ok() && slots[static_cast<size_t>(i)].response.payload() !=
                                 request.payload()) {
            mismatched.fetch_add(1);
          }
          done(status);
        });
  };
  EchoResult result;
  result.loop = RunClosedLoop(start, outstanding, warmup, duration);
  result.mismatched = mismatched.load();
  return result;
}

}  // namespace signpost::load
