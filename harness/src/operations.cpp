// The operations that logical threads perform: model atomics, the futex, the
// clock and platform interrupts. Each one first yields to the scheduler (the
// scheduling point), then runs in the memory model when the thread is
// picked.
#include "engine.hpp"
#include "mutation_state.hpp"

#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <tuple>

namespace intr::harness::runtime {

void Engine::check_memory() {
  if (memory_.error() == engine::MemoryError::none) return;
  // No std::string lives in this frame: an abandoned thread never frees it.
  const char* message = memory_.error() == engine::MemoryError::too_many_locations
                            ? "the scenario created more than 32 model atomics in one execution"
                            : "an atomic received more than 128 stores in one execution; lower the step bound or "
                              "shorten the scenario";
  static_assert(engine::max_locations == 32 && engine::max_messages == 128, "update the messages above");
  if (in_thread()) fail_thread(FailureKind::capacity, message);
  throw std::runtime_error(std::string("intr harness: ") + message);
}

std::uint32_t Engine::create_location(Value initial, Value mask) {
  int location = memory_.create(initial, mask);
  check_memory();
  return static_cast<std::uint32_t>(location);
}

Value Engine::op_load(std::uint32_t location, std::memory_order order) {
  if (!in_thread()) return memory_.latest(location);
  yield_for({OpKind::load, order, location, 0});
  ThreadSlot& slot = threads_[static_cast<std::size_t>(current_)];
  engine::Read read = memory_.load(static_cast<std::size_t>(current_), location, order, *this);
  note_request_access(slot, location, read.serial, false);
  record_step(OpKind::load, order, static_cast<std::int32_t>(location), read.value, read.value);
  return read.value;
}

void Engine::op_store(std::uint32_t location, Value value, std::memory_order order) {
  if (!in_thread()) {
    memory_.store_outside_threads(location, value);
    check_memory();
    return;
  }
  yield_for({OpKind::store, order, location, 0});
  ThreadSlot& slot = threads_[static_cast<std::size_t>(current_)];
  Value before = memory_.latest(location);
  std::uint32_t serial = memory_.store(static_cast<std::size_t>(current_), location, value, order, *this);
  check_memory();
  note_request_access(slot, location, serial, true);
  record_step(OpKind::store, order, static_cast<std::int32_t>(location), before, value);
}

bool Engine::op_compare_exchange(std::uint32_t location, Value& expected, Value desired, std::memory_order success,
                                 std::memory_order failure) {
  if (!in_thread()) {
    Value seen = memory_.latest(location);
    if (seen != expected) {
      expected = seen;
      return false;
    }
    memory_.store_outside_threads(location, desired);
    check_memory();
    return true;
  }
  yield_for({OpKind::compare_exchange, success, location, 0});
  ThreadSlot& slot = threads_[static_cast<std::size_t>(current_)];
  bool exchanged = false;
  engine::Read read = memory_.compare_exchange(static_cast<std::size_t>(current_), location, expected, desired,
                                               success, failure, *this, exchanged);
  check_memory();
  const engine::Location& loc = memory_.location(location);
  if (exchanged) {
    note_request_access(slot, location, loc.messages[loc.count - 1].serial, true);
    record_step(OpKind::compare_exchange, success, static_cast<std::int32_t>(location), read.value, desired, 1);
  } else {
    note_request_access(slot, location, read.serial, false);
    record_step(OpKind::compare_exchange, failure, static_cast<std::int32_t>(location), read.value, read.value, 0);
    expected = read.value;
  }
  return exchanged;
}

Value Engine::op_modify(std::uint32_t location, Modify modify, Value operand, std::memory_order order) {
  auto apply = [modify, operand](Value old) -> Value {
    switch (modify) {
      case Modify::exchange: return operand;
      case Modify::add: return old + operand;
      case Modify::sub: return old - operand;
      case Modify::bit_or: return old | operand;
      case Modify::bit_and: return old & operand;
      case Modify::bit_xor: return old ^ operand;
    }
    return old;
  };
  if (!in_thread()) {
    Value old = memory_.latest(location);
    memory_.store_outside_threads(location, apply(old));
    check_memory();
    return old;
  }
  yield_for({OpKind::modify, order, location, 0});
  ThreadSlot& slot = threads_[static_cast<std::size_t>(current_)];
  engine::Read read = memory_.modify(static_cast<std::size_t>(current_), location, order, apply);
  check_memory();
  Value after = memory_.latest(location);
  note_request_access(slot, location, memory_.location(location).messages[memory_.location(location).count - 1].serial,
                      true);
  record_step(OpKind::modify, order, static_cast<std::int32_t>(location), read.value, after);
  return read.value;
}

BlockResult Engine::futex_wait(std::uint32_t location, std::uint32_t expected, bool timed, std::int64_t deadline) {
  if (!in_thread()) throw std::logic_error("intr harness: a futex wait outside a logical thread");
  yield_for({OpKind::futex_wait, std::memory_order_seq_cst, location, 0});
  ThreadSlot& slot = threads_[static_cast<std::size_t>(current_)];
  finalize_request(slot);
  // The kernel compares the word with `expected` atomically with queueing
  // the waiter, so it reads the newest value.
  Value value = memory_.read_latest_relaxed(static_cast<std::size_t>(current_), location);
  if (value != expected) {
    record_step(OpKind::futex_wait, std::memory_order_seq_cst, static_cast<std::int32_t>(location), value, value, 0);
    return BlockResult::woken;
  }
  record_step(OpKind::futex_wait, std::memory_order_seq_cst, static_cast<std::int32_t>(location), value, value,
              timed ? 2 : 1);
  slot.status = ThreadStatus::blocked;
  slot.block_location = location;
  slot.timed = timed;
  slot.deadline = deadline;
  slot.block_order = block_counter_++;
  suspend_current();
  slot.timed = false;
  return slot.wake_result;
}

void Engine::futex_wake(std::uint32_t location) {
  if (!in_thread()) return;
  yield_for({OpKind::futex_wake, std::memory_order_seq_cst, location, 0});
  finalize_request(threads_[static_cast<std::size_t>(current_)]);
  ThreadSlot* woken = nullptr;
  for (std::size_t i = 0; i < thread_count_; ++i) {
    ThreadSlot& slot = threads_[i];
    if (slot.status != ThreadStatus::blocked || slot.block_location != location) continue;
    if (woken == nullptr || slot.block_order < woken->block_order) woken = &slot;
  }
  record_step(OpKind::futex_wake, std::memory_order_seq_cst, static_cast<std::int32_t>(location), 0, 0,
              woken != nullptr ? 1 : 0);
  if (woken == nullptr) return;
  woken->status = ThreadStatus::runnable;
  woken->op = {OpKind::futex_return, std::memory_order_seq_cst, location, 0};
  woken->wake_result = BlockResult::woken;
  woken->timed = false;
}

std::int64_t Engine::now() {
  if (!in_thread()) return clock_;
  yield_for({OpKind::clock, std::memory_order_seq_cst, 0, 0});
  finalize_request(threads_[static_cast<std::size_t>(current_)]);
  record_step(OpKind::clock, std::memory_order_seq_cst, -1, static_cast<Value>(clock_), static_cast<Value>(clock_));
  return clock_;
}

void Engine::attach(ModelPlatform::ThreadRecord& record, ModelPlatform::Word& word) {
  if (!in_thread()) {
    throw std::logic_error("intr harness: a WaitState was created outside a logical thread; create it in a thread "
                           "body, because it belongs to the thread that creates it");
  }
  if (record_count_ == records_.size()) {
    static_assert(std::tuple_size_v<decltype(records_)> == 16, "update the message below");
    fail_thread(FailureKind::capacity, "the scenario created more than 16 WaitStates");
  }
  std::size_t index = record_count_++;
  RecordInfo& info = records_[index];
  info = RecordInfo{};
  info.owner = current_;
  info.word = word.location();
  info.exited = record.exited.location();
  info.block = &word;
  record.index = static_cast<std::int32_t>(index);
  threads_[static_cast<std::size_t>(current_)].record = static_cast<int>(index);
}

void Engine::detach(ModelPlatform::ThreadRecord& record) {
  // Release: pairs with the acquire in has_exited(), as on Linux.
  record.exited.store(1, std::memory_order_release);
  RecordInfo& info = records_[static_cast<std::size_t>(record.index)];
  info.detached = true;
  if (info.owner >= 0 && threads_[static_cast<std::size_t>(info.owner)].record == record.index) {
    threads_[static_cast<std::size_t>(info.owner)].record = -1;
  }
}

void Engine::release(ModelPlatform::ThreadRecord& record) {
  if (record.index >= 0) records_[static_cast<std::size_t>(record.index)].released = true;
}

bool Engine::send_signal(ModelPlatform::ThreadRecord& record) {
  RecordInfo& info = records_[static_cast<std::size_t>(record.index)];
  if (!in_thread()) return false;
  yield_for({OpKind::signal, std::memory_order_seq_cst, static_cast<std::uint32_t>(info.owner), info.exited});
  finalize_request(threads_[static_cast<std::size_t>(current_)]);
  // Like the Linux platform's guard, the check and the queueing are atomic
  // with respect to the target's detach.
  bool sent = !info.detached;
  if (sent) {
    ThreadSlot& target = threads_[static_cast<std::size_t>(info.owner)];
    ++target.signals_queued;
    target.signal_view.join(memory_.view(static_cast<std::size_t>(current_)), engine::max_locations);
  }
  record_step(OpKind::signal, std::memory_order_seq_cst, static_cast<std::int32_t>(info.owner), 0, 0, sent ? 0 : 3);
  return sent;
}

void Engine::trace(TracePoint point, const ModelPlatform::ThreadRecord& record, std::uint32_t value) {
  if (!in_thread()) return;
  ThreadSlot& slot = threads_[static_cast<std::size_t>(current_)];
  if (point == TracePoint::interrupt_requested) {
    finalize_request(slot);
    slot.requesting = record.index;
    slot.request_serial = -1;
  }
  if (settings_.record) {
    raw_steps_.push_back({static_cast<std::int8_t>(current_), static_cast<std::uint8_t>(100 + static_cast<int>(point)),
                          std::memory_order_relaxed, -1, value, value, 0});
  }
}

void Engine::fail_thread(FailureKind kind, std::string_view prefix, std::string_view message) {
  if (!in_thread()) {
    fail_outside_thread(kind, std::string(prefix) + std::string(message));
    throw FinalCheckFailed{};
  }
  if (!failed_) {
    failed_ = true;
    failure_.kind = kind;
    failure_.message.assign(prefix);
    failure_.message.append(message);
    failure_.thread = threads_[static_cast<std::size_t>(current_)].name;
  }
  abandon_current();
}

void Engine::fail_outside_thread(FailureKind kind, std::string message) {
  if (failed_) return;
  failed_ = true;
  failure_.kind = kind;
  failure_.message = std::move(message);
}

bool Engine::guest_poll() {
  if (!in_thread()) return false;
  int record = threads_[static_cast<std::size_t>(current_)].record;
  if (record < 0) return false;
  Value word = op_load(records_[static_cast<std::size_t>(record)].word, std::memory_order_relaxed);
  return model::state_of(static_cast<std::uint32_t>(word)) == model::State::interrupted_guest;
}

void Engine::spin_until_signal() {
  if (!in_thread()) throw std::logic_error("intr harness: guest code outside a logical thread");
  ThreadSlot& slot = threads_[static_cast<std::size_t>(current_)];
  finalize_request(slot);
  std::uint32_t accepted = slot.signals.accepted;
  while (slot.signals.accepted == accepted) {
    slot.status = ThreadStatus::blocked;
    slot.spinning = true;
    suspend_current();
    slot.spinning = false;
  }
}

SignalCounts Engine::signal_counts() const {
  if (!in_thread()) return {};
  return threads_[static_cast<std::size_t>(current_)].signals;
}

void* Engine::allocate(std::size_t size, std::size_t alignment) {
  std::size_t start = (arena_used_ + alignment - 1) / alignment * alignment;
  if (start + size > arena_.size()) {
    throw std::length_error("intr harness: the objects of one execution exceed " + std::to_string(arena_.size()) +
                            " bytes; keep large data out of Setup::make");
  }
  arena_used_ = start + size;
  return arena_.data() + start;
}

void Engine::on_destroy(void* object, void (*destroy)(void*)) { destructors_.push_back({object, destroy}); }

void Engine::add_thread(std::string_view name, void (*entry)(void*), void* body) {
  if (thread_count_ == max_threads) {
    throw std::length_error("intr harness: a scenario may start at most " + std::to_string(max_threads) +
                            " threads");
  }
  auto* stored = static_cast<char*>(allocate(name.size() + 1, 1));
  name.copy(stored, name.size());
  stored[name.size()] = '\0';
  ThreadSlot& slot = threads_[thread_count_++];
  slot.name = stored;
  slot.run = entry;
  slot.body = body;
  slot.status = ThreadStatus::runnable;
  slot.signals_queued = 0;
  slot.signal_view = {};
  slot.signals = {};
  slot.record = -1;
  slot.requesting = -1;
  slot.request_serial = -1;
  slot.timed = false;
}

void Engine::add_final(void (*entry)(void*), void* body) { finals_.push_back({entry, body}); }

// --- Names for reports ---------------------------------------------------------

std::string Engine::thread_name(int thread) const {
  if (thread < 0 || static_cast<std::size_t>(thread) >= thread_count_) return "setup";
  return threads_[static_cast<std::size_t>(thread)].name;
}

bool Engine::is_state_word(std::int32_t location) const {
  for (std::size_t r = 0; r < record_count_; ++r) {
    if (static_cast<std::int32_t>(records_[r].word) == location) return true;
  }
  return false;
}

std::string Engine::location_name(std::int32_t location) const {
  for (std::size_t r = 0; r < record_count_; ++r) {
    if (static_cast<std::int32_t>(records_[r].word) == location) return "word(" + thread_name(records_[r].owner) + ")";
    if (static_cast<std::int32_t>(records_[r].exited) == location) {
      return "exited(" + thread_name(records_[r].owner) + ")";
    }
  }
  return "atomic#" + std::to_string(location);
}

std::string Engine::describe_value(std::int32_t location, Value value) const {
  if (!is_state_word(location)) return std::to_string(value);
  auto word = static_cast<std::uint32_t>(value);
  if (!model::is_valid_word(word)) {
    char text[32];
    std::snprintf(text, sizeof text, "invalid 0x%x", static_cast<unsigned>(word));
    return text;
  }
  std::string text(model::name(model::state_of(word)));
  if (model::is_pending(word)) text += "+pending";
  return text;
}

}  // namespace intr::harness::runtime

// --- The public functions that the model platform and scenarios call ------------

namespace intr::harness {

namespace runtime {

std::uint32_t create_location(Value initial, Value mask) { return Engine::active().create_location(initial, mask); }
Value load(std::uint32_t location, std::memory_order order) { return Engine::active().op_load(location, order); }
void store(std::uint32_t location, Value value, std::memory_order order) {
  Engine::active().op_store(location, value, order);
}
bool compare_exchange(std::uint32_t location, Value& expected, Value desired, std::memory_order success,
                      std::memory_order failure) {
  return Engine::active().op_compare_exchange(location, expected, desired, success, failure);
}
Value fetch_modify(std::uint32_t location, Modify modify, Value operand, std::memory_order order) {
  return Engine::active().op_modify(location, modify, operand, order);
}

}  // namespace runtime

using runtime::Engine;

ModelClock::time_point ModelClock::now() {
  return time_point(duration(Engine::active().now()));
}

void ModelPlatform::block(Word& word, std::uint32_t expected) {
  Engine::active().futex_wait(word.location(), expected, false, 0);
}

BlockResult ModelPlatform::block_until(Word& word, std::uint32_t expected, Instant deadline) {
  return Engine::active().futex_wait(word.location(), expected, true, deadline.time_since_epoch().count());
}

void ModelPlatform::wake_one(Word& word) { Engine::active().futex_wake(word.location()); }

void ModelPlatform::attach_thread(ThreadRecord& record, Word& word, GuestDelivery) {
  Engine::active().attach(record, word);
}

void ModelPlatform::detach_thread(ThreadRecord& record) { Engine::active().detach(record); }

void ModelPlatform::release_thread(ThreadRecord& record) {
  if (Engine* engine = Engine::active_or_null()) engine->release(record);
}

bool ModelPlatform::interrupt_thread(ThreadRecord& record) { return Engine::active().send_signal(record); }

bool ModelPlatform::has_exited(const ThreadRecord& record) {
  // Acquire: pairs with the release store in detach_thread().
  return record.exited.load(std::memory_order_acquire) != 0;
}

void ModelPlatform::trace(TracePoint point, const ThreadRecord& record, std::uint32_t value) {
  Engine::active().trace(point, record, value);
}

void ModelPlatform::contract_violation(const char* message) {
  Engine* engine = Engine::active_or_null();
  if (engine == nullptr || !engine->in_thread()) {
    // Outside a logical thread (a WaitState destroyed by teardown) nothing
    // can be abandoned, so this behaves as the real platforms do.
    std::fprintf(stderr, "%s\n", message);
    std::abort();
  }
  engine->fail_thread(FailureKind::contract_violation, message);
}

model::Transition ModelPlatform::transition(model::State state, model::Event event) {
  const model::Table* table = runtime::mutation_state.table;
  return table != nullptr ? model::transition(*table, state, event) : model::transition(state, event);
}

bool ModelPlatform::mutated(detail::Mutation mutation) {
  return runtime::mutation_state.mutation == static_cast<int>(mutation);
}

void check(bool condition, std::string_view message) {
  if (!condition) fail(message);
}

void fail(std::string_view message) {
  Engine::active().fail_thread(FailureKind::assertion, "check failed: ", message);
}

bool interrupt_requested() { return Engine::active().guest_poll(); }

void run_guest_until_interrupted() { Engine::active().spin_until_signal(); }

SignalCounts signals_received() { return Engine::active().signal_counts(); }

void* Setup::allocate(std::size_t size, std::size_t alignment) { return engine_->allocate(size, alignment); }
void Setup::on_destroy(void* object, void (*destroy)(void*)) { engine_->on_destroy(object, destroy); }
void Setup::add_thread(std::string_view name, void (*run)(void*), void* body) {
  engine_->add_thread(name, run, body);
}
void Setup::add_final(void (*run)(void*), void* body) { engine_->add_final(run, body); }

const char* to_string(FailureKind kind) {
  switch (kind) {
    case FailureKind::assertion: return "assertion";
    case FailureKind::contract_violation: return "contract violation";
    case FailureKind::deadlock: return "deadlock";
    case FailureKind::step_bound: return "step bound";
    case FailureKind::liveness: return "liveness";
    case FailureKind::capacity: return "capacity";
  }
  return "unknown";
}

}  // namespace intr::harness
