#include "common/worker/periodic_task.h"

#include <atomic>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace signpost::worker {
namespace {

// Waits (without asserting on time) until `cond` holds or 30 s pass.
template <typename Cond>
bool Eventually(Cond cond) {
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (!cond()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return true;
}

TEST(PeriodicTaskTest, RunsAtOnceThenSleepsUntilNotified) {
  std::atomic<int> runs{0};
  PeriodicTask task("t", absl::Hours(1), [&](absl::Time) {
    ++runs;
    return absl::InfiniteFuture();
  });
  task.Start();
  ASSERT_TRUE(Eventually([&] { return runs.load() == 1; }));
  task.Notify();
  ASSERT_TRUE(Eventually([&] { return runs.load() == 2; }));
  task.Notify();
  ASSERT_TRUE(Eventually([&] { return runs.load() == 3; }));
  task.Stop();
  // Not due for an hour: it ran only at start and when notified.
  EXPECT_EQ(task.runs(), 3);
}

TEST(PeriodicTaskTest, RunsAgainWhenTheReturnedTimeIsDue) {
  std::atomic<int> runs{0};
  PeriodicTask task("t", absl::Hours(1), [&](absl::Time now) {
    ++runs;
    return now + absl::Milliseconds(10);
  });
  task.Start();
  EXPECT_TRUE(Eventually([&] { return runs.load() >= 5; }));
  task.Stop();
}

TEST(PeriodicTaskTest, MaxIntervalCapsTheWait) {
  std::atomic<int> runs{0};
  PeriodicTask task("t", absl::Milliseconds(10), [&](absl::Time) {
    ++runs;
    return absl::InfiniteFuture();
  });
  task.Start();
  EXPECT_TRUE(Eventually([&] { return runs.load() >= 3; }));
}

TEST(PeriodicTaskTest, StopWakesASleepingTaskAtOnce) {
  PeriodicTask task("t", absl::Hours(24),
                    [](absl::Time) { return absl::InfiniteFuture(); });
  task.Start();
  ASSERT_TRUE(Eventually([&] { return task.runs() == 1; }));
  // Stop must not wait for the 24-hour interval: this returns, and the
  // test would hang (and hit ctest's timeout) if it did not.
  task.Stop();
  task.Stop();  // idempotent
  EXPECT_EQ(task.runs(), 1);
}

TEST(PeriodicTaskTest, StopLetsTheRunInProgressFinish) {
  absl::Notification entered, release;
  std::atomic<bool> finished{false};
  PeriodicTask task("t", absl::Hours(1), [&](absl::Time) {
    entered.Notify();
    release.WaitForNotification();
    finished = true;
    return absl::InfiniteFuture();
  });
  task.Start();
  entered.WaitForNotification();
  std::thread stopper([&] { task.Stop(); });
  release.Notify();
  stopper.join();
  EXPECT_TRUE(finished.load());
}

TEST(PeriodicTaskTest, NeverStartedStopsCleanly) {
  PeriodicTask task("t", absl::Seconds(1),
                    [](absl::Time) { return absl::InfiniteFuture(); });
  task.Stop();
  EXPECT_EQ(task.runs(), 0);
}

}  // namespace
}  // namespace signpost::worker
