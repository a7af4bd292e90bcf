// How to model-check your own use of intr from your own Catch2 test.
//
// The code under test is a reply slot: a worker waits until a reply arrives
// or it is interrupted, and a responder stores the reply and wakes it. It is
// written once as a template over the platform and the atomic type, so the
// product instantiates it with intr::NativePlatform and std::atomic, and the
// test with the harness's ModelPlatform and harness::Atomic. The explorer
// then runs the real code under every interleaving and memory-model outcome.
#include <intr/harness/explorer.hpp>
#include <intr/harness/report.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <optional>

namespace {

namespace h = intr::harness;

template <class Platform, class Flag>
class ReplySlot {
 public:
  explicit ReplySlot(std::memory_order publish) : publish_(publish) {}

  // Worker side: waits for the reply; returns ready or interrupted.
  intr::WaitResult await(intr::WaitState<Platform>& state) {
    return state.context().wait_until([this] { return reply_.load(std::memory_order_seq_cst) != 0; });
  }

  // Responder side. intr requires a seq_cst store here; a weaker one can
  // lose the wake-up (the store-buffering pattern).
  void respond(const intr::Waker<Platform>& worker) {
    reply_.store(1, publish_);
    worker.wake();
  }

 private:
  std::memory_order publish_;
  Flag reply_{0};
};

using ModelSlot = ReplySlot<h::ModelPlatform, h::Atomic<int>>;

// The scenario: one worker, one responder and one canceller race.
h::Scenario reply_scenario(std::memory_order publish) {
  return {"reply_slot", "a worker waits for a reply while a responder and a canceller race",
          [publish](h::Setup& setup) {
            auto& slot = setup.make<ModelSlot>(publish);
            auto& worker = setup.make<std::optional<h::Waker>>();
            auto& cancel = setup.make<std::optional<h::Handle>>();
            setup.thread("worker", [&] {
              h::WaitState state;
              worker.emplace(state.waker());
              cancel.emplace(state.thread_handle());
              intr::WaitResult result = slot.await(state);
              h::check(result == intr::WaitResult::ready || result == intr::WaitResult::interrupted,
                       "the worker ends with the reply or cancelled");
              state.take_interrupt();
            });
            setup.thread("responder", [&] { slot.respond(*worker); });
            setup.thread("canceller", [&] { cancel->interrupt(); });
          }};
}

}  // namespace

TEST_CASE("reply slot never loses a reply or a cancellation") {
  h::Scenario scenario = reply_scenario(std::memory_order_seq_cst);
  h::Result result = h::explore(scenario);
  if (result.failure) FAIL(h::failure_report(scenario, *result.failure));
  CHECK(result.complete);
}

// The same code with a release store and no canceller: the explorer finds
// the interleaving in which the worker sleeps through the reply.
TEST_CASE("reply slot with a release store loses the wake-up") {
  h::Scenario scenario{"reply_slot_release", "a worker and a responder that publishes with release",
                       [](h::Setup& setup) {
                         auto& slot = setup.make<ModelSlot>(std::memory_order_release);
                         auto& worker = setup.make<std::optional<h::Waker>>();
                         setup.thread("worker", [&] {
                           h::WaitState state;
                           worker.emplace(state.waker());
                           h::check(slot.await(state) == intr::WaitResult::ready, "the worker sees the reply");
                         });
                         setup.thread("responder", [&] { slot.respond(*worker); });
                       }};
  h::Result result = h::explore(scenario);
  REQUIRE(result.failure);
  CHECK(result.failure->kind == h::FailureKind::deadlock);
}
