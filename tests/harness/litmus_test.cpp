// Litmus tests of the harness's memory model: for each classic shape and
// each memory order, the outcomes that the C++ memory model allows must be
// produced and the ones it forbids must never be.
#include <intr/harness/explorer.hpp>

#include <catch2/catch.hpp>

#include <array>
#include <memory>
#include <set>

namespace {

namespace h = intr::harness;
using Outcome = std::array<int, 4>;
constexpr auto relaxed = std::memory_order_relaxed;
constexpr auto acquire = std::memory_order_acquire;
constexpr auto release = std::memory_order_release;
constexpr auto seq_cst = std::memory_order_seq_cst;

// Loaded values land in plain memory of the execution; the final check
// copies them into the set of outcomes.
struct Registers {
  Outcome values{};
};

// Explores `build` exhaustively and returns every outcome it produced.
template <class Build>
std::set<Outcome> outcomes(Build build) {
  auto seen = std::make_shared<std::set<Outcome>>();
  h::Scenario scenario{"litmus", "litmus", [seen, build](h::Setup& setup) {
                         auto& registers = setup.make<Registers>();
                         build(setup, registers.values);
                         setup.finally([seen, &registers] { seen->insert(registers.values); });
                       }};
  h::Options options;
  options.strategy = h::Strategy::dfs;
  h::Result result = h::explore(scenario, options);
  REQUIRE_FALSE(result.failure);
  REQUIRE(result.complete);
  return *seen;
}

std::set<Outcome> store_buffering(std::memory_order store, std::memory_order load) {
  return outcomes([=](h::Setup& setup, Outcome& r) {
    auto& x = setup.make<h::Atomic<int>>(0);
    auto& y = setup.make<h::Atomic<int>>(0);
    setup.thread("a", [&, store, load] {
      x.store(1, store);
      r[0] = y.load(load);
    });
    setup.thread("b", [&, store, load] {
      y.store(1, store);
      r[1] = x.load(load);
    });
  });
}

std::set<Outcome> message_passing(std::memory_order store, std::memory_order load) {
  return outcomes([=](h::Setup& setup, Outcome& r) {
    auto& data = setup.make<h::Atomic<int>>(0);
    auto& flag = setup.make<h::Atomic<int>>(0);
    setup.thread("writer", [&, store] {
      data.store(1, relaxed);
      flag.store(1, store);
    });
    setup.thread("reader", [&, load] {
      r[0] = flag.load(load);
      r[1] = data.load(relaxed);
    });
  });
}

std::set<Outcome> load_buffering(std::memory_order load, std::memory_order store) {
  return outcomes([=](h::Setup& setup, Outcome& r) {
    auto& x = setup.make<h::Atomic<int>>(0);
    auto& y = setup.make<h::Atomic<int>>(0);
    setup.thread("a", [&, load, store] {
      r[0] = x.load(load);
      y.store(1, store);
    });
    setup.thread("b", [&, load, store] {
      r[1] = y.load(load);
      x.store(1, store);
    });
  });
}

std::set<Outcome> coherence_of_reads(std::memory_order order) {
  return outcomes([=](h::Setup& setup, Outcome& r) {
    auto& x = setup.make<h::Atomic<int>>(0);
    setup.thread("writer", [&, order] {
      x.store(1, order == acquire ? relaxed : order);
      x.store(2, order == acquire ? relaxed : order);
    });
    setup.thread("reader", [&, order] {
      r[0] = x.load(order == release ? relaxed : order);
      r[1] = x.load(order == release ? relaxed : order);
    });
  });
}

std::set<Outcome> independent_reads(std::memory_order store, std::memory_order load) {
  return outcomes([=](h::Setup& setup, Outcome& r) {
    auto& x = setup.make<h::Atomic<int>>(0);
    auto& y = setup.make<h::Atomic<int>>(0);
    setup.thread("x_writer", [&, store] { x.store(1, store); });
    setup.thread("y_writer", [&, store] { y.store(1, store); });
    setup.thread("x_then_y", [&, load] {
      r[0] = x.load(load);
      r[1] = y.load(load);
    });
    setup.thread("y_then_x", [&, load] {
      r[2] = y.load(load);
      r[3] = x.load(load);
    });
  });
}

// 2+2W: the outcome is the final value of each location.
std::set<Outcome> two_plus_two_writes(std::memory_order order) {
  return outcomes([=](h::Setup& setup, Outcome& r) {
    auto& x = setup.make<h::Atomic<int>>(0);
    auto& y = setup.make<h::Atomic<int>>(0);
    setup.thread("a", [&, order] {
      x.store(1, order);
      y.store(2, order);
    });
    setup.thread("b", [&, order] {
      y.store(1, order);
      x.store(2, order);
    });
    setup.finally([&] {
      r[0] = x.load();
      r[1] = y.load();
    });
  });
}

}  // namespace

TEST_CASE("store buffering: both loads read 0 unless all is seq_cst") {
  Outcome both_zero{0, 0, 0, 0};
  CHECK(store_buffering(relaxed, relaxed).count(both_zero) == 1);
  CHECK(store_buffering(release, acquire).count(both_zero) == 1);
  CHECK(store_buffering(seq_cst, acquire).count(both_zero) == 1);
  CHECK(store_buffering(release, seq_cst).count(both_zero) == 1);
  CHECK(store_buffering(seq_cst, seq_cst).count(both_zero) == 0);
  CHECK(store_buffering(seq_cst, seq_cst).size() == 3);
}

TEST_CASE("message passing: release and acquire forbid a stale payload") {
  Outcome stale{1, 0, 0, 0};
  CHECK(message_passing(release, acquire).count(stale) == 0);
  CHECK(message_passing(seq_cst, seq_cst).count(stale) == 0);
  CHECK(message_passing(relaxed, acquire).count(stale) == 1);
  CHECK(message_passing(release, relaxed).count(stale) == 1);
  CHECK(message_passing(release, acquire).count({1, 1, 0, 0}) == 1);
}

// C++ allows r0 = r1 = 1 for relaxed load buffering; the model cannot
// produce it because a load never reads a store that is later in its own
// thread's program order (no promises). The ordered orders forbid it.
TEST_CASE("load buffering: 1,1 never appears, a documented limit for relaxed") {
  Outcome both_one{1, 1, 0, 0};
  CHECK(load_buffering(relaxed, relaxed).count(both_one) == 0);
  CHECK(load_buffering(acquire, release).count(both_one) == 0);
  CHECK(load_buffering(seq_cst, seq_cst).count(both_one) == 0);
  CHECK(load_buffering(relaxed, relaxed).count({0, 1, 0, 0}) == 1);
  CHECK(load_buffering(relaxed, relaxed).count({0, 0, 0, 0}) == 1);
}

TEST_CASE("coherence of reads: a later read never goes back in modification order") {
  for (std::memory_order order : {relaxed, acquire, release, seq_cst}) {
    std::set<Outcome> seen = coherence_of_reads(order);
    CHECK(seen.count({2, 1, 0, 0}) == 0);
    CHECK(seen.count({1, 0, 0, 0}) == 0);
    CHECK(seen.count({2, 0, 0, 0}) == 0);
    CHECK(seen.count({0, 2, 0, 0}) == 1);
    CHECK(seen.count({1, 2, 0, 0}) == 1);
  }
}

TEST_CASE("IRIW: readers disagree on the order of writes unless all is seq_cst") {
  Outcome disagree{1, 0, 1, 0};
  CHECK(independent_reads(release, acquire).count(disagree) == 1);
  CHECK(independent_reads(relaxed, relaxed).count(disagree) == 1);
  CHECK(independent_reads(seq_cst, seq_cst).count(disagree) == 0);
}

TEST_CASE("2+2W: both first stores last in modification order unless seq_cst") {
  Outcome crossed{1, 1, 0, 0};
  CHECK(two_plus_two_writes(relaxed).count(crossed) == 1);
  CHECK(two_plus_two_writes(release).count(crossed) == 1);
  CHECK(two_plus_two_writes(seq_cst).count(crossed) == 0);
  CHECK(two_plus_two_writes(seq_cst).count({2, 1, 0, 0}) == 1);
}
