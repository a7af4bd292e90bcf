// The strategies that drive the engine: exhaustive tree search (plain DFS or
// DPOR, optionally bounded and sharded), random, PCT, and replay.
#pragma once

#include "engine.hpp"

#include <random>
#include <string>
#include <vector>

namespace intr::harness::runtime {

// Depth-first search over the tree of choices, re-running the scenario from
// the start for every execution (stateless model checking).
//
// With DPOR (Flanagan and Godefroid's dynamic partial-order reduction, with
// sleep sets) a node first explores one thread. A race is a step that
// depends on an earlier step of another thread without being ordered after
// it by happens-before. Each race adds the later thread to the earlier
// node's backtrack set. Sleep sets skip threads whose step was already
// explored from an earlier sibling and is independent of what ran since.
class TreeSearch final : public Strategy {
 public:
  struct Settings {
    bool dpor = true;
    std::optional<std::uint32_t> preemption_bound;
    std::uint32_t shard_index = 0;
    std::uint32_t shard_count = 1;
  };

  explicit TreeSearch(const Settings& settings);

  void begin_execution();
  // Claims an execution that ended within the shard split depth, which no
  // prefix claimed while it ran.
  void end_execution();
  // Moves to the next execution; false when the tree is exhausted.
  bool next_execution();

  bool needs_access() const override { return settings_.dpor; }
  std::uint32_t schedule(const SchedulePoint& point) override;
  std::uint32_t choose(std::uint32_t count) override;

  // The last execution was cut short by sleep sets (it repeats one already
  // explored) or belongs to another shard; it counts as neither.
  bool redundant() const { return draining_ && !foreign_; }
  bool foreign() const { return foreign_; }
  std::uint64_t pruned() const { return pruned_; }

 private:
  struct Node {
    bool schedule = false;
    std::uint8_t count = 0;  // value node: alternatives
    std::uint8_t chosen = 0;
    int last_thread = -1;
    std::uint32_t enabled = 0;
    std::uint32_t backtrack = 0;
    std::uint32_t done = 0;
    std::uint32_t sleep = 0;
    std::uint32_t preemptions = 0;  // before this node
  };
  using Accesses = std::array<AccessSet, max_threads>;

  int next_candidate(const Node& node) const;
  bool preempts(const Node& node, std::uint32_t thread) const;
  std::uint32_t drain(const SchedulePoint& point);
  bool claim_prefix();
  void after_choice(std::size_t index);
  void detect_races(const AccessSet& access, std::uint32_t thread);

  Settings settings_;
  std::vector<Node> trail_;
  std::vector<Accesses> accesses_;  // DPOR only: per node, each thread's next step
  std::size_t position_ = 0;
  bool draining_ = false;
  bool foreign_ = false;
  std::uint32_t next_sleep_ = 0;
  std::uint32_t preemptions_ = 0;
  std::uint64_t pruned_ = 0;
  std::uint64_t prefixes_ = 0;
  std::size_t split_depth_ = 0;

  // Happens-before among the steps of the current execution, by vector
  // clocks: entry q is one more than the index of q's latest step known.
  using Clock = std::array<std::uint16_t, max_threads>;
  struct LocationRecord {
    Clock write_clock{};
    Clock read_clock{};
    std::array<std::int16_t, max_threads> last_write{};
    std::array<std::int16_t, max_threads> last_read{};
  };
  std::array<Clock, max_threads> thread_clocks_{};
  std::array<LocationRecord, dependency_locations> locations_{};
  std::vector<std::uint32_t> event_nodes_;
};

// Uniformly random choices from a seeded generator.
class RandomSearch final : public Strategy {
 public:
  explicit RandomSearch(std::uint64_t seed) : random_(seed) {}
  std::uint32_t schedule(const SchedulePoint& point) override;
  std::uint32_t choose(std::uint32_t count) override;

 private:
  std::mt19937_64 random_;
};

// Probabilistic concurrency testing (Burckhardt et al., ASPLOS 2010): each
// execution gives the threads random priorities, always runs the enabled
// thread of highest priority, and lowers the running thread's priority at
// depth - 1 random steps.
class PctSearch final : public Strategy {
 public:
  PctSearch(std::uint64_t seed, std::uint32_t depth) : random_(seed), depth_(depth) {}
  void begin_execution(std::uint32_t expected_steps);
  std::uint32_t schedule(const SchedulePoint& point) override;
  std::uint32_t choose(std::uint32_t count) override;

 private:
  std::mt19937_64 random_;
  std::uint32_t depth_;
  std::array<std::uint32_t, max_threads> priorities_{};
  std::vector<std::uint32_t> change_points_;
};

// Follows a recorded list of choices and reports the first that does not fit.
class ReplaySearch final : public Strategy {
 public:
  explicit ReplaySearch(const std::vector<std::uint32_t>& choices) : choices_(choices) {}
  std::uint32_t schedule(const SchedulePoint& point) override;
  std::uint32_t choose(std::uint32_t count) override;
  // Empty when every choice fitted and none was left over.
  std::string error() const;

 private:
  const std::vector<std::uint32_t>& choices_;
  std::size_t position_ = 0;
  std::string error_;
};

}  // namespace intr::harness::runtime
