#include "search.hpp"

#include <algorithm>
#include <bit>

namespace intr::harness::runtime {

namespace {

std::uint32_t bit(std::uint32_t thread) { return 1u << thread; }

std::uint32_t lowest(std::uint32_t mask) { return static_cast<std::uint32_t>(std::countr_zero(mask)); }

// Every shard enumerates the first choices of the tree in full and owns
// every shard_count-th prefix of this length.
constexpr std::size_t shard_split_depth = 8;

}  // namespace

// --- TreeSearch -----------------------------------------------------------------

TreeSearch::TreeSearch(const Settings& settings) : settings_(settings) {
  trail_.reserve(4096);
  event_nodes_.reserve(4096);
  split_depth_ = settings.shard_count > 1 ? shard_split_depth : 0;
}

void TreeSearch::begin_execution() {
  position_ = 0;
  draining_ = false;
  foreign_ = false;
  next_sleep_ = 0;
  preemptions_ = 0;
  if (!settings_.dpor) return;
  event_nodes_.clear();
  thread_clocks_ = {};
  for (LocationRecord& record : locations_) {
    record.write_clock = {};
    record.read_clock = {};
    record.last_write.fill(-1);
    record.last_read.fill(-1);
  }
}

void TreeSearch::end_execution() {
  if (split_depth_ > 0 && !draining_ && trail_.size() < split_depth_) claim_prefix();
}

bool TreeSearch::preempts(const Node& node, std::uint32_t thread) const {
  return node.last_thread >= 0 && thread != static_cast<std::uint32_t>(node.last_thread) &&
         (node.enabled & bit(static_cast<std::uint32_t>(node.last_thread))) != 0;
}

int TreeSearch::next_candidate(const Node& node) const {
  std::uint32_t candidates = node.backtrack & node.enabled & ~node.done & ~node.sleep;
  if (settings_.preemption_bound) {
    std::uint32_t allowed = 0;
    for (std::uint32_t rest = candidates; rest != 0; rest &= rest - 1) {
      std::uint32_t thread = lowest(rest);
      if (node.preemptions + (preempts(node, thread) ? 1 : 0) <= *settings_.preemption_bound) allowed |= bit(thread);
    }
    candidates = allowed;
  }
  if (candidates == 0) return -1;
  if (node.last_thread >= 0 && (candidates & bit(static_cast<std::uint32_t>(node.last_thread))) != 0) {
    return node.last_thread;
  }
  return static_cast<int>(lowest(candidates));
}

std::uint32_t TreeSearch::drain(const SchedulePoint& point) {
  draining_ = true;
  if (point.last_thread >= 0 && (point.enabled & bit(static_cast<std::uint32_t>(point.last_thread))) != 0) {
    return static_cast<std::uint32_t>(point.last_thread);
  }
  return lowest(point.enabled);
}

bool TreeSearch::claim_prefix() {
  std::uint64_t prefix = prefixes_++;
  if (prefix % settings_.shard_count == settings_.shard_index) return true;
  foreign_ = true;
  draining_ = true;
  return false;
}

std::uint32_t TreeSearch::schedule(const SchedulePoint& point) {
  if (draining_) return drain(point);
  if (position_ < trail_.size()) {
    // Replaying the prefix that the previous execution left on the trail.
    std::size_t index = position_++;
    after_choice(index);
    return trail_[index].chosen;
  }
  if (split_depth_ > 0 && trail_.size() == split_depth_ && !claim_prefix()) return drain(point);

  bool full = trail_.size() < split_depth_ || !settings_.dpor || settings_.preemption_bound.has_value();
  Node node;
  node.schedule = true;
  node.last_thread = point.last_thread;
  node.enabled = point.enabled;
  node.preemptions = preemptions_;
  // Plain DFS runs without sleep sets; with a preemption bound they would
  // be unsound.
  node.sleep = settings_.dpor && !settings_.preemption_bound ? (next_sleep_ & point.enabled) : 0;
  if (full) {
    node.backtrack = point.enabled;
  } else {
    std::uint32_t awake = point.enabled & ~node.sleep;
    if (awake == 0) return drain(point);  // every enabled thread is asleep
    node.backtrack = awake;
    node.backtrack = bit(static_cast<std::uint32_t>(next_candidate(node)));
  }
  int chosen = next_candidate(node);
  if (chosen < 0) return drain(point);
  node.chosen = static_cast<std::uint8_t>(chosen);
  node.done = bit(static_cast<std::uint32_t>(chosen));
  trail_.push_back(node);
  if (settings_.dpor) {
    if (accesses_.size() < trail_.size()) accesses_.resize(trail_.size());
    accesses_[trail_.size() - 1] = point.access;
  }
  std::size_t index = position_++;
  after_choice(index);
  return static_cast<std::uint32_t>(chosen);
}

std::uint32_t TreeSearch::choose(std::uint32_t count) {
  if (draining_) return 0;
  if (position_ < trail_.size()) return trail_[position_++].chosen;
  if (split_depth_ > 0 && trail_.size() == split_depth_ && !claim_prefix()) return 0;
  Node node;
  node.count = static_cast<std::uint8_t>(std::min<std::uint32_t>(count, 255));
  trail_.push_back(node);
  ++position_;
  return 0;
}

void TreeSearch::after_choice(std::size_t index) {
  const Node& node = trail_[index];
  std::uint32_t thread = node.chosen;
  if (preempts(node, thread)) ++preemptions_;
  // The sleep set of the next node: threads asleep here or explored here
  // before `thread`, whose step does not depend on the step just taken.
  if (!settings_.dpor) return;
  const Accesses& access = accesses_[index];
  std::uint32_t sleepers = (node.sleep | node.done) & ~bit(thread);
  next_sleep_ = 0;
  for (std::uint32_t rest = sleepers; rest != 0; rest &= rest - 1) {
    std::uint32_t other = lowest(rest);
    if (!dependent(access[other], access[thread])) next_sleep_ |= bit(other);
  }
  if (!settings_.preemption_bound) detect_races(access[thread], thread);
  event_nodes_.push_back(static_cast<std::uint32_t>(index));
}

void TreeSearch::detect_races(const AccessSet& access, std::uint32_t thread) {
  auto event = static_cast<std::int16_t>(event_nodes_.size());
  Clock& own = thread_clocks_[thread];
  for (std::uint8_t a = 0; a < access.count; ++a) {
    const LocationRecord& record = locations_[access.items[a].location];
    for (std::uint32_t other = 0; other < max_threads; ++other) {
      if (other == thread) continue;
      std::int16_t earlier = record.last_write[other];
      if (access.items[a].write) earlier = std::max(earlier, record.last_read[other]);
      if (earlier < 0 || own[other] > earlier) continue;  // none, or ordered before this step
      // A race: `thread` could have run before step `earlier`.
      Node& target = trail_[event_nodes_[static_cast<std::size_t>(earlier)]];
      if ((target.enabled & bit(thread)) != 0) {
        target.backtrack |= bit(thread);
      } else {
        target.backtrack |= target.enabled;
      }
    }
  }
  Clock clock = own;
  for (std::uint8_t a = 0; a < access.count; ++a) {
    const LocationRecord& record = locations_[access.items[a].location];
    for (std::size_t q = 0; q < max_threads; ++q) {
      clock[q] = std::max(clock[q], record.write_clock[q]);
      if (access.items[a].write) clock[q] = std::max(clock[q], record.read_clock[q]);
    }
  }
  clock[thread] = static_cast<std::uint16_t>(event + 1);
  for (std::uint8_t a = 0; a < access.count; ++a) {
    LocationRecord& record = locations_[access.items[a].location];
    if (access.items[a].write) {
      record.write_clock = clock;
      record.read_clock = {};
      record.last_read.fill(-1);
      record.last_write[thread] = event;
    } else {
      for (std::size_t q = 0; q < max_threads; ++q) record.read_clock[q] = std::max(record.read_clock[q], clock[q]);
      record.last_read[thread] = event;
    }
  }
  own = clock;
}

bool TreeSearch::next_execution() {
  while (!trail_.empty()) {
    Node& node = trail_.back();
    if (!node.schedule) {
      if (node.chosen + 1 < node.count) {
        ++node.chosen;
        return true;
      }
      trail_.pop_back();
      continue;
    }
    int chosen = next_candidate(node);
    if (chosen >= 0) {
      node.chosen = static_cast<std::uint8_t>(chosen);
      node.done |= bit(static_cast<std::uint32_t>(chosen));
      return true;
    }
    pruned_ += static_cast<std::uint64_t>(std::popcount(node.enabled & ~node.done));
    trail_.pop_back();
  }
  return false;
}

// --- RandomSearch and PctSearch --------------------------------------------------

std::uint32_t RandomSearch::schedule(const SchedulePoint& point) {
  std::uint32_t count = static_cast<std::uint32_t>(std::popcount(point.enabled));
  std::uint32_t pick = static_cast<std::uint32_t>(random_() % count);
  std::uint32_t rest = point.enabled;
  for (std::uint32_t i = 0; i < pick; ++i) rest &= rest - 1;
  return lowest(rest);
}

std::uint32_t RandomSearch::choose(std::uint32_t count) { return static_cast<std::uint32_t>(random_() % count); }

void PctSearch::begin_execution(std::uint32_t expected_steps) {
  // Initial priorities depth .. depth + max_threads - 1 in random order; the
  // change points lower a thread to priorities below all of them.
  std::array<std::uint32_t, max_threads> order{};
  for (std::uint32_t i = 0; i < max_threads; ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), random_);
  for (std::uint32_t i = 0; i < max_threads; ++i) priorities_[order[i]] = depth_ + i;
  change_points_.clear();
  std::uint32_t span = std::max<std::uint32_t>(expected_steps, 1);
  for (std::uint32_t i = 1; i < depth_; ++i) change_points_.push_back(static_cast<std::uint32_t>(random_() % span));
}

std::uint32_t PctSearch::schedule(const SchedulePoint& point) {
  auto highest = [&] {
    std::uint32_t best = lowest(point.enabled);
    for (std::uint32_t rest = point.enabled; rest != 0; rest &= rest - 1) {
      std::uint32_t thread = lowest(rest);
      if (priorities_[thread] > priorities_[best]) best = thread;
    }
    return best;
  };
  std::uint32_t thread = highest();
  for (std::size_t i = 0; i < change_points_.size(); ++i) {
    if (change_points_[i] == point.step) {
      priorities_[thread] = static_cast<std::uint32_t>(i);
      thread = highest();
    }
  }
  return thread;
}

std::uint32_t PctSearch::choose(std::uint32_t count) { return static_cast<std::uint32_t>(random_() % count); }

// --- ReplaySearch -------------------------------------------------------------------

std::uint32_t ReplaySearch::schedule(const SchedulePoint& point) {
  std::size_t index = position_++;
  if (!error_.empty()) return lowest(point.enabled);
  if (index >= choices_.size()) {
    error_ = "the schedule ends after " + std::to_string(choices_.size()) +
             " choices, but the execution needs more (a thread choice at choice " + std::to_string(index) + ")";
    return lowest(point.enabled);
  }
  std::uint32_t thread = choices_[index];
  if (thread >= max_threads || (point.enabled & bit(thread)) == 0) {
    std::string enabled;
    for (std::uint32_t rest = point.enabled; rest != 0; rest &= rest - 1) {
      if (!enabled.empty()) enabled += ", ";
      enabled += std::to_string(lowest(rest));
    }
    error_ = "choice " + std::to_string(index) + " picks thread " + std::to_string(thread) +
             ", which cannot run there; the threads that can are " + enabled;
    return lowest(point.enabled);
  }
  return thread;
}

std::uint32_t ReplaySearch::choose(std::uint32_t count) {
  std::size_t index = position_++;
  if (!error_.empty()) return 0;
  if (index >= choices_.size()) {
    error_ = "the schedule ends after " + std::to_string(choices_.size()) +
             " choices, but the execution needs more (a value choice at choice " + std::to_string(index) + ")";
    return 0;
  }
  if (choices_[index] >= count) {
    error_ = "choice " + std::to_string(index) + " is " + std::to_string(choices_[index]) + ", but only " +
             std::to_string(count) + " alternatives exist there";
    return 0;
  }
  return choices_[index];
}

std::string ReplaySearch::error() const {
  if (!error_.empty()) return error_;
  if (position_ < choices_.size()) {
    return "the execution ended after " + std::to_string(position_) + " of the schedule's " +
           std::to_string(choices_.size()) + " choices";
  }
  return {};
}

}  // namespace intr::harness::runtime
