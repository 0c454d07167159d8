#include "tests/load/closed_loop.h"

#include <memory>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/grpc/tls.h"
#include "grpcpp/create_channel.h"
#include "tests/support/test_support.h"

namespace signpost::load {
namespace {

// Shared with every callback in flight, so that it outlives the last one.
class ClosedLoop : public std::enable_shared_from_this<ClosedLoop> {
 public:
  ClosedLoop(const StartCall& start, int outstanding, absl::Duration warmup,
             absl::Duration duration)
      : start_(start), slots_(outstanding), active_(outstanding) {
    const int64_t now = SteadyNowNs();
    measure_from_ = now + absl::ToInt64Nanoseconds(warmup);
    measure_to_ = measure_from_ + absl::ToInt64Nanoseconds(duration);
  }

  ClosedLoopResult Run() {
    for (int i = 0; i < static_cast<int>(slots_.size()); ++i) Issue(i);
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](int* active) { return *active == 0; }, &active_));
    }
    ClosedLoopResult result;
    result.window_seconds = (measure_to_ - measure_from_) / 1e9;
    for (const Slot& s : slots_) {
      result.latencies.Merge(s.samples);
      result.errors += s.errors;
      if (result.first_error.empty()) result.first_error = s.first_error;
    }
    result.calls = static_cast<int64_t>(result.latencies.size());
    return result;
  }

 private:
  struct Slot {
    int64_t started = 0;
    Samples samples;
    int64_t errors = 0;
    std::string first_error;
  };

  void Issue(int i) {
    slots_[i].started = SteadyNowNs();
    start_(i, [self = shared_from_this(), i](const grpc::Status& status) {
      self->Done(i, status);
    });
  }

  void Done(int i, const grpc::Status& status) {
    const int64_t now = SteadyNowNs();
    Slot& slot = slots_[i];
    if (!status.ok()) {
      if (slot.errors++ == 0) {
        slot.first_error =
            absl::StrCat(status.error_code(), ": ", status.error_message());
      }
    } else if (slot.started >= measure_from_ && now <= measure_to_) {
      slot.samples.Add(now - slot.started);
    }
    if (now < measure_to_) {
      Issue(i);
      return;
    }
    absl::MutexLock lock(&mu_);
    --active_;
  }

  const StartCall& start_;
  int64_t measure_from_ = 0;
  int64_t measure_to_ = 0;
  // Each slot is touched only by its own chain of calls, one at a time.
  std::vector<Slot> slots_;
  absl::Mutex mu_;
  int active_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

ClosedLoopResult RunClosedLoop(const StartCall& start, int outstanding,
                               absl::Duration warmup, absl::Duration duration) {
  auto loop =
      std::make_shared<ClosedLoop>(start, outstanding, warmup, duration);
  return loop->Run();
}

std::shared_ptr<grpc::Channel> AgencyChannel(const std::string& address,
                                             const std::string& agency_id) {
  const std::string& pki = testing::TestPki();
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
      grpcutil::MutualTlsChannelCredentials(
          {absl::StrCat(pki, "/agencies/", agency_id, ".crt"),
           absl::StrCat(pki, "/agencies/", agency_id, ".key"),
           absl::StrCat(pki, "/ca.crt")});
  if (!credentials.ok()) return nullptr;
  grpc::ChannelArguments args;
  args.SetInt("grpc.use_local_subchannel_pool", 1);
  return grpc::CreateCustomChannel(address, *credentials, args);
}

}  // namespace signpost::load
