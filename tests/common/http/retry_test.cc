// Backoff with full jitter, and the per-endpoint circuit breaker's states,
// driven by a passed-in clock.
#include "common/http/retry.h"

#include <algorithm>
#include <atomic>
#include <limits>
#include <thread>
#include <vector>

#include "absl/random/random.h"
#include "gtest/gtest.h"

namespace signpost::http {
namespace {

using State = CircuitBreaker::State;

TEST(BackoffTest, DelayStaysWithinTheDoublingCeilingAndTheCap) {
  absl::BitGen gen;
  const absl::Duration base = absl::Milliseconds(100);
  const absl::Duration cap = absl::Seconds(10);
  struct Case {
    int attempt;
    absl::Duration ceiling;
  } cases[] = {
      {1, absl::Milliseconds(100)},
      {2, absl::Milliseconds(200)},
      {3, absl::Milliseconds(400)},
      {7, absl::Milliseconds(6400)},
      {8, absl::Seconds(10)},
      {1000, absl::Seconds(10)},
      {std::numeric_limits<int>::max(), absl::Seconds(10)},
      {0, absl::Milliseconds(100)},
      {-5, absl::Milliseconds(100)},
  };
  for (const Case& c : cases) {
    absl::Duration longest = absl::ZeroDuration();
    for (int i = 0; i < 2000; ++i) {
      const absl::Duration d = BackoffDelay(c.attempt, base, cap, gen);
      ASSERT_GE(d, absl::ZeroDuration()) << c.attempt;
      ASSERT_LE(d, c.ceiling) << c.attempt;
      longest = std::max(longest, d);
    }
    // Full jitter uses the whole range: the longest of 2000 draws is near
    // the ceiling (failing by chance has probability 0.9^2000).
    EXPECT_GT(longest, c.ceiling * 0.9) << c.attempt;
  }
}

TEST(BackoffTest, JitterSpreadsDelaysDownToZero) {
  absl::BitGen gen;
  absl::Duration shortest = absl::InfiniteDuration();
  for (int i = 0; i < 2000; ++i) {
    shortest = std::min(
        shortest, BackoffDelay(5, absl::Seconds(1), absl::Minutes(1), gen));
  }
  EXPECT_LT(shortest, absl::Seconds(16) * 0.1);
}

TEST(BackoffTest, DegenerateInputsGiveZeroOrStayFinite) {
  absl::BitGen gen;
  EXPECT_EQ(BackoffDelay(3, absl::ZeroDuration(), absl::Seconds(1), gen),
            absl::ZeroDuration());
  EXPECT_EQ(BackoffDelay(3, absl::Seconds(1), -absl::Seconds(1), gen),
            absl::ZeroDuration());
  // A cap below the base caps the first delay too.
  EXPECT_LE(BackoffDelay(1, absl::Seconds(10), absl::Seconds(1), gen),
            absl::Seconds(1));
  // An infinite cap with a huge attempt neither overflows nor goes negative.
  const absl::Duration d =
      BackoffDelay(std::numeric_limits<int>::max(), absl::Seconds(1),
                   absl::InfiniteDuration(), gen);
  EXPECT_GE(d, absl::ZeroDuration());
  EXPECT_LT(d, absl::InfiniteDuration());
}

class BreakerTest : public ::testing::Test {
 protected:
  const absl::Time t0_ = absl::FromUnixSeconds(1700000000);
  CircuitBreaker breaker_{
      {.failure_threshold = 3, .open_for = absl::Seconds(30)}};

  void Open(absl::Time at) {
    for (int i = 0; i < 3; ++i) {
      ASSERT_TRUE(breaker_.Allow(at));
      breaker_.RecordFailure(at);
    }
    ASSERT_EQ(breaker_.state(at), State::kOpen);
  }
};

TEST_F(BreakerTest, OpensOnlyAfterThresholdFailuresInARow) {
  EXPECT_EQ(breaker_.state(t0_), State::kClosed);
  breaker_.RecordFailure(t0_);
  breaker_.RecordFailure(t0_);
  breaker_.RecordSuccess();  // resets the run
  breaker_.RecordFailure(t0_);
  breaker_.RecordFailure(t0_);
  EXPECT_EQ(breaker_.state(t0_), State::kClosed);
  EXPECT_TRUE(breaker_.Allow(t0_));
  breaker_.RecordFailure(t0_);
  EXPECT_EQ(breaker_.state(t0_), State::kOpen);
  EXPECT_FALSE(breaker_.Allow(t0_ + absl::Seconds(29)));
  EXPECT_EQ(breaker_.times_opened(), 1);
}

TEST_F(BreakerTest, HalfOpenLetsExactlyOneTrialThroughAndSuccessCloses) {
  Open(t0_);
  const absl::Time later = t0_ + absl::Seconds(30);
  EXPECT_EQ(breaker_.state(later), State::kHalfOpen);
  EXPECT_TRUE(breaker_.Allow(later));
  EXPECT_FALSE(breaker_.Allow(later));
  EXPECT_FALSE(breaker_.Allow(later + absl::Seconds(1)));
  breaker_.RecordSuccess();
  EXPECT_EQ(breaker_.state(later), State::kClosed);
  EXPECT_TRUE(breaker_.Allow(later));
  EXPECT_TRUE(breaker_.Allow(later));
  EXPECT_EQ(breaker_.times_opened(), 1);
}

TEST_F(BreakerTest, FailedTrialReopensForAnotherFullPause) {
  Open(t0_);
  const absl::Time trial = t0_ + absl::Seconds(40);
  ASSERT_TRUE(breaker_.Allow(trial));
  breaker_.RecordFailure(trial);
  EXPECT_EQ(breaker_.state(trial), State::kOpen);
  EXPECT_FALSE(breaker_.Allow(trial + absl::Seconds(29)));
  EXPECT_EQ(breaker_.times_opened(), 2);
  EXPECT_TRUE(breaker_.Allow(trial + absl::Seconds(30)));
}

TEST_F(BreakerTest, LateFailuresWhileOpenDoNotExtendThePause) {
  Open(t0_);
  breaker_.RecordFailure(t0_ + absl::Seconds(20));  // a call let in earlier
  EXPECT_EQ(breaker_.times_opened(), 1);
  EXPECT_TRUE(breaker_.Allow(t0_ + absl::Seconds(30)));
}

TEST_F(BreakerTest, AnAbandonedTrialDoesNotHoldTheBreakerForever) {
  Open(t0_);
  const absl::Time trial = t0_ + absl::Seconds(30);
  ASSERT_TRUE(breaker_.Allow(trial));  // its outcome is never recorded
  EXPECT_FALSE(breaker_.Allow(trial + absl::Seconds(29)));
  EXPECT_TRUE(breaker_.Allow(trial + absl::Seconds(30)));
  EXPECT_FALSE(breaker_.Allow(trial + absl::Seconds(30)));
}

TEST_F(BreakerTest, ConcurrentCallersGetOneTrialBetweenThem) {
  Open(t0_);
  const absl::Time later = t0_ + absl::Minutes(1);
  std::atomic<int> allowed{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      for (int j = 0; j < 100; ++j) {
        if (breaker_.Allow(later)) allowed.fetch_add(1);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(allowed.load(), 1);
}

TEST(BreakerStateNameTest, NamesEveryState) {
  EXPECT_EQ(StateName(State::kClosed), "CLOSED");
  EXPECT_EQ(StateName(State::kOpen), "OPEN");
  EXPECT_EQ(StateName(State::kHalfOpen), "HALF_OPEN");
}

}  // namespace
}  // namespace signpost::http
