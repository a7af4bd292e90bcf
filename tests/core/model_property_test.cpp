// A rapidcheck model-based test: random sequences of waits, wakes,
// interrupts, takes and guest runs on a real WaitState, checked after every
// command against a reference model built from nothing but the transition
// table in model/.
//
// All commands run on the test's thread, which owns the WaitState, so the
// states `waiting` and `woken` occur only inside a wait. A Wait command
// therefore carries a list of inner steps (wake, interrupt, take) that its
// ready predicate runs on the first call, while the thread is `waiting`.
// RC_PARAMS (set by ctest) chooses how many sequences run.
#include <intr/intr.hpp>

#include <rapidcheck.h>
#include <rapidcheck/catch.h>
#include <rapidcheck/state.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <csignal>
#include <sys/syscall.h>
#include <unistd.h>
#include <vector>

namespace {

using intr::model::Action;
using intr::model::Event;
using intr::model::State;

// The reference model: the state word as the table predicts it.
struct Model {
  std::uint32_t word = 0;
  intr::GuestDelivery delivery = intr::GuestDelivery::signal;

  State state() const { return intr::model::state_of(word); }
  bool pending() const { return intr::model::is_pending(word); }
  // Applies `event` and returns the action that the table names for it.
  Action apply(Event event) {
    Action action = intr::model::transition(state(), event).action;
    word = intr::model::next_word(word, event);
    return action;
  }
};

// The system under test: a WaitState on this thread.
struct Sut {
  explicit Sut(intr::GuestDelivery delivery) : state(delivery) {}
  ~Sut() {
    State current = intr::model::state_of(state.word());
    if (current == State::running_in_guest || current == State::interrupted_guest) state.finish_running_guest();
  }
  intr::WaitState<> state;
  intr::ThreadHandle<> handle = state.thread_handle();
  intr::Waker<> waker = state.waker();
};

using Command = rc::state::Command<Model, Sut>;

intr::InterruptResult interrupt_result_for(Action action) {
  switch (action) {
    case Action::futex_wake: return intr::InterruptResult::woke_waiter;
    case Action::platform_interrupt: return intr::InterruptResult::interrupted_guest;
    default: return intr::InterruptResult::recorded;
  }
}

intr::WakeResult wake_result_for(Action action) {
  return action == Action::futex_wake ? intr::WakeResult::woken : intr::WakeResult::not_waiting;
}

// Checks the parts of the thread's state that the model predicts, after
// every command.
void check_matches(const Model& model, const Sut& sut) {
  RC_ASSERT(sut.state.word() == model.word);
  RC_ASSERT(sut.state.interrupt_pending() == model.pending());
  RC_ASSERT(intr::this_thread::interrupt_requested() == (model.state() == State::interrupted_guest));
}

// Counts the interrupt signals that reached this thread during a command.
struct SignalCounter {
  std::uint64_t received = intr::this_thread::interrupt_signals_received();
  std::uint64_t accepted = intr::linux_signal::handler_counts().accepted;

  std::uint64_t received_since() const { return intr::this_thread::interrupt_signals_received() - received; }
  std::uint64_t accepted_since() const { return intr::linux_signal::handler_counts().accepted - accepted; }
};

enum class Inner { wake, interrupt, take };
enum class Timeout { zero, tiny, long_one };
constexpr auto tiny_timeout = std::chrono::microseconds(200);
constexpr auto long_timeout = std::chrono::seconds(60);

// A wait from host code: ready or never-ready predicate, a timeout, and
// inner steps run while `waiting`. A never-ready wait with the long timeout
// is generated only when an interrupt will be pending, so it never blocks.
struct Wait : Command {
  bool ready;
  Timeout timeout;
  std::vector<Inner> inner;

  explicit Wait(const Model& model)
      : ready(*rc::gen::arbitrary<bool>()),
        timeout(*rc::gen::element(Timeout::zero, Timeout::tiny, Timeout::long_one)),
        inner(*rc::gen::container<std::vector<Inner>>(
            *rc::gen::inRange(0, 4), rc::gen::element(Inner::wake, Inner::interrupt, Inner::take))) {
    checkPreconditions(model);
  }

  // The model after start_wait and the inner steps, with the action of
  // each inner step.
  Model inside(const Model& model, std::vector<Action>* actions) const {
    Model copy = model;
    copy.apply(Event::start_wait);
    for (Inner step : inner) {
      Event event = step == Inner::wake ? Event::wake : step == Inner::interrupt ? Event::interrupt
                                                                                 : Event::take_interrupt;
      Action action = copy.apply(event);
      if (actions) actions->push_back(action);
    }
    return copy;
  }

  void checkPreconditions(const Model& model) const override {
    RC_PRE(model.state() == State::running_in_host);
    if (!ready && timeout == Timeout::long_one) RC_PRE(inside(model, nullptr).pending());
  }

  void apply(Model& model) const override {
    model = inside(model, nullptr);
    model.apply(Event::end_wait);
  }

  void run(const Model& model, Sut& sut) const override {
    std::vector<Action> expected_actions;
    Model during = inside(model, &expected_actions);

    auto context = sut.state.context();
    if (timeout == Timeout::zero) context = context.with_timeout(std::chrono::nanoseconds::zero());
    if (timeout == Timeout::tiny) context = context.with_timeout(tiny_timeout);
    if (timeout == Timeout::long_one) context = context.with_timeout(long_timeout);

    // The core may call the predicate once in host code before it starts
    // waiting. The inner steps run on the first call inside the wait, and
    // the predicate reports ready only after them.
    bool inner_done = false;
    std::uint32_t word_inside = 0;
    std::vector<bool> results_match;
    intr::WaitResult result = context.wait_until([&] {
      if (intr::model::state_of(sut.state.word()) == State::running_in_host) return false;
      if (!inner_done) {
        inner_done = true;
        for (std::size_t i = 0; i < inner.size(); ++i) {
          Action expected = expected_actions[i];
          switch (inner[i]) {
            case Inner::wake: results_match.push_back(sut.waker.wake() == wake_result_for(expected)); break;
            case Inner::interrupt:
              results_match.push_back(sut.handle.interrupt() == interrupt_result_for(expected));
              break;
            case Inner::take: results_match.push_back(true); sut.state.take_interrupt(); break;
          }
        }
        word_inside = sut.state.word();
      }
      return ready;
    });

    RC_ASSERT(word_inside == during.word);
    for (bool match : results_match) RC_ASSERT(match);
    if (ready) {
      RC_ASSERT(result == intr::WaitResult::ready);
    } else if (timeout == Timeout::zero) {
      // A deadline that has passed wins over a pending interrupt.
      RC_ASSERT(result == intr::WaitResult::timed_out);
    } else if (timeout == Timeout::long_one) {
      RC_ASSERT(result == intr::WaitResult::interrupted);
    } else if (during.pending()) {
      // The tiny deadline may pass before the first check, or not.
      RC_ASSERT(result != intr::WaitResult::ready);
    } else {
      RC_ASSERT(result == intr::WaitResult::timed_out);
    }
    check_matches(nextState(model), sut);
  }

  void show(std::ostream& os) const override {
    static const char* const inner_names[] = {"wake", "interrupt", "take"};
    static const char* const timeout_names[] = {"zero", "tiny", "long"};
    os << "Wait(" << (ready ? "ready" : "never-ready") << ", timeout " << timeout_names[static_cast<int>(timeout)]
       << ", inner:";
    for (Inner step : inner) os << ' ' << inner_names[static_cast<int>(step)];
    os << ')';
  }
};

// A wake from this thread, which is never waiting at the top level.
struct Wake : Command {
  void apply(Model& model) const override { model.apply(Event::wake); }
  void run(const Model& model, Sut& sut) const override {
    Model copy = model;
    Action action = copy.apply(Event::wake);
    RC_ASSERT(sut.waker.wake() == wake_result_for(action));
    check_matches(copy, sut);
  }
  void show(std::ostream& os) const override { os << "Wake"; }
};

// An interrupt of this thread; in guest code it sends the interrupt signal
// (GuestDelivery::signal), which the handler accepts at once.
struct Interrupt : Command {
  void apply(Model& model) const override { model.apply(Event::interrupt); }
  void run(const Model& model, Sut& sut) const override {
    Model copy = model;
    Action action = copy.apply(Event::interrupt);
    SignalCounter counter;
    RC_ASSERT(sut.handle.interrupt() == interrupt_result_for(action));
    std::uint64_t signals = action == Action::platform_interrupt && model.delivery == intr::GuestDelivery::signal;
    RC_ASSERT(counter.received_since() == signals);
    RC_ASSERT(counter.accepted_since() == signals);
    check_matches(copy, sut);
  }
  void show(std::ostream& os) const override { os << "Interrupt"; }
};

struct Take : Command {
  void apply(Model& model) const override { model.apply(Event::take_interrupt); }
  void run(const Model& model, Sut& sut) const override {
    RC_ASSERT(sut.state.take_interrupt() == model.pending());
    check_matches(nextState(model), sut);
  }
  void show(std::ostream& os) const override { os << "Take"; }
};

// prepare_to_run_guest() with a readiness check that returns `check_result`.
struct PrepareGuest : Command {
  bool check_result = *rc::gen::arbitrary<bool>();

  void checkPreconditions(const Model& model) const override {
    RC_PRE(model.state() == State::running_in_host);
  }
  void apply(Model& model) const override {
    bool pending = model.pending();
    model.apply(Event::prepare_guest);
    if (pending || !check_result) model.apply(Event::guest_not_ready);
  }
  void run(const Model& model, Sut& sut) const override {
    bool check_called = false;
    intr::GuestEntry entry = sut.state.prepare_to_run_guest([&] {
      check_called = true;
      return check_result;
    });
    intr::GuestEntry expected = model.pending() ? intr::GuestEntry::interrupted
                                : check_result  ? intr::GuestEntry::entered
                                                : intr::GuestEntry::not_ready;
    RC_ASSERT(entry == expected);
    RC_ASSERT(check_called == !model.pending());
    check_matches(nextState(model), sut);
  }
  void show(std::ostream& os) const override { os << "PrepareGuest(check " << check_result << ')'; }
};

struct FinishGuest : Command {
  void checkPreconditions(const Model& model) const override {
    RC_PRE(model.state() == State::running_in_guest || model.state() == State::interrupted_guest);
  }
  void apply(Model& model) const override { model.apply(Event::finish_guest); }
  void run(const Model& model, Sut& sut) const override {
    RC_ASSERT(sut.state.finish_running_guest() == (model.state() == State::interrupted_guest));
    check_matches(nextState(model), sut);
  }
  void show(std::ostream& os) const override { os << "FinishGuest"; }
};

// The interrupt signal arriving from this process in the current state, as
// a timely or a late delivery would. Needs the handler installed.
struct DeliverSignal : Command {
  void checkPreconditions(const Model& model) const override {
    RC_PRE(model.delivery == intr::GuestDelivery::signal);
  }
  void run(const Model& model, Sut& sut) const override {
    Model copy = model;
    Action action = copy.apply(Event::platform_interrupt_delivered);
    SignalCounter counter;
    syscall(SYS_tgkill, getpid(), gettid(), intr::linux_signal::interrupt_signal());
    RC_ASSERT(counter.received_since() == 1u);
    RC_ASSERT(counter.accepted_since() == (action == Action::return_to_host ? 1u : 0u));
    check_matches(copy, sut);
  }
  void show(std::ostream& os) const override { os << "DeliverSignal"; }
};

}  // namespace

// Random command sequences leave the WaitState exactly where the table
// predicts, with the results, signals and wait outcomes the table implies.
TEST_CASE("wait state matches the reference model", "[model]") {
  intr::linux_signal::ensure_installed();
  rc::prop("random command sequences", [] {
    Model initial;
    initial.delivery = *rc::gen::element(intr::GuestDelivery::signal, intr::GuestDelivery::polling);
    RC_LOG() << "guest delivery: " << (initial.delivery == intr::GuestDelivery::signal ? "signal" : "polling")
             << std::endl;
    Sut sut(initial.delivery);
    rc::state::check(initial, sut,
                     rc::state::gen::execOneOfWithArgs<Wait, Wake, Interrupt, Take, PrepareGuest, FinishGuest,
                                                       DeliverSignal>());
  });
}
