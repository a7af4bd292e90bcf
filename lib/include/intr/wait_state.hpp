// Interruptible waits and guest runs: the platform-independent core.
//
// Each thread that can be interrupted owns one WaitState<P>. Its state word
// (see intr/model/transitions.hpp for the bit layout and the transition
// table) is shared with every ThreadHandle<P> and Waker<P> made from it, in a
// block of one cache line that lives until the last of them is destroyed.
// Handles therefore stay safe to use after the thread has exited.
//
// Every change of the word is one compare-and-swap whose next value comes from
// the transition table, so the code cannot disagree with the model. When the
// table gives the same word back (for example an interrupt that is
// already pending), no write happens and the operation is a plain load.
//
// Memory ordering contract:
//  - A thread that returns `interrupted`, or that sees interrupt_pending(),
//    happens-after the interrupt() call that set the pending bit, so anything
//    written before interrupt() is visible to it.
//  - A condition or interrupt reason that a caller keeps in its own atomic and
//    signals with wake() or interrupt() must be stored with memory_order_seq_cst
//    and read with seq_cst by the ready or interrupt predicate. The waiter
//    stores `waiting` and then reads the condition; the caller stores the
//    condition and then reads the state. That is the store-buffering pattern,
//    and with a weaker store both may read the old values, so the waiter
//    sleeps through the request. The built-in pending bit lives in the state
//    word and needs no such care.
//
// Misuse (a wait inside a wait or inside guest code, finish without prepare,
// a second WaitState on one thread) is a contract violation: the platform
// prints a message naming the event and the state found, then aborts.
#pragma once

#include <intr/model/transitions.hpp>
#include <intr/native.hpp>
#include <intr/platform.hpp>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <new>
#include <optional>
#include <utility>

// Forces detail::apply() inline. Called out of line, GCC returns its small
// result struct through the stack, and the reload stalls on store-to-load
// forwarding right after the compare-and-swap. Inline, the event is also a
// constant, so the guessed word and its transition fold to immediates.
#if defined(__GNUC__) || defined(__clang__)
#define INTR_ALWAYS_INLINE [[gnu::always_inline]] inline
#elif defined(_MSC_VER)
#define INTR_ALWAYS_INLINE __forceinline
#else
#define INTR_ALWAYS_INLINE inline
#endif

namespace intr {

enum class WaitResult : std::uint8_t { ready, interrupted, timed_out };

enum class InterruptResult : std::uint8_t {
  recorded,         // the pending bit is set; the thread was in host code or already woken
  woke_waiter,      // the thread was waiting and its futex was woken
  interrupted_guest,// the thread was in guest code and a platform interrupt was sent
  thread_exited,    // the thread's WaitState is gone; nothing was done
};

enum class WakeResult : std::uint8_t {
  woken,          // the thread was waiting and now re-evaluates its condition
  not_waiting,    // the thread was not waiting; nothing was done
  thread_exited,  // the thread's WaitState is gone; nothing was done
};

enum class GuestEntry : std::uint8_t {
  entered,      // the thread is in guest state: run the guest, then finish_running_guest()
  interrupted,  // an interrupt is pending; the thread stays in host code
  not_ready,    // the readiness check returned false; the thread stays in host code
};

constexpr const char* to_string(WaitResult r) {
  switch (r) {
    case WaitResult::ready: return "ready";
    case WaitResult::interrupted: return "interrupted";
    case WaitResult::timed_out: return "timed_out";
  }
  return "invalid";
}

constexpr const char* to_string(InterruptResult r) {
  switch (r) {
    case InterruptResult::recorded: return "recorded";
    case InterruptResult::woke_waiter: return "woke_waiter";
    case InterruptResult::interrupted_guest: return "interrupted_guest";
    case InterruptResult::thread_exited: return "thread_exited";
  }
  return "invalid";
}

namespace detail {

// The state that a thread shares with its handles. One allocation per
// WaitState, freed when the last handle or the WaitState lets go of it.
template <Platform P>
struct alignas(64) SharedBlock {
  typename P::Word word{0};
  std::atomic<std::uint32_t> references{1};
  typename P::ThreadRecord thread{};
};

template <Platform P>
void retain(SharedBlock<P>* block) noexcept {
  // Relaxed: a new reference is made from an existing one, which keeps the
  // block alive; no other data is published by the count.
  block->references.fetch_add(1, std::memory_order_relaxed);
}

template <Platform P>
void release(SharedBlock<P>* block) noexcept {
  // Acq_rel: the release half orders this owner's last uses of the block
  // before the decrement. The acquire half makes all of them visible to the
  // last owner before it destroys the block.
  if (block->references.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    P::release_thread(block->thread);
    block->~SharedBlock<P>();
    ::operator delete(block, std::align_val_t{alignof(SharedBlock<P>)});
  }
}

constexpr std::memory_order failure_order(std::memory_order order) {
  if (order == std::memory_order_acq_rel) return std::memory_order_acquire;
  if (order == std::memory_order_release) return std::memory_order_relaxed;
  return order;
}

// Names the misuse for a contract violation message.
constexpr const char* misuse_hint(model::Event event, model::State state) {
  using model::Event;
  using model::State;
  switch (event) {
    case Event::start_wait:
      if (state == State::waiting || state == State::woken) return "a wait inside a wait";
      return "a wait inside guest code";
    case Event::prepare_guest:
      if (state == State::waiting || state == State::woken) return "guest code started inside a wait";
      return "prepare_to_run_guest inside guest code";
    case Event::finish_guest:
    case Event::guest_not_ready:
      return "finish_running_guest without prepare_to_run_guest";
    case Event::end_wait:
      // ~WaitState() reports guest states as end_wait; the wait loop cannot
      // reach them.
      if (state == State::running_in_guest || state == State::interrupted_guest)
        return "a WaitState destroyed inside guest code; call finish_running_guest() first";
      [[fallthrough]];
    case Event::rearm_wait:
      return "the wait loop found its state word changed by another owner";
    default:
      return "an event that this state does not accept";
  }
}

template <Platform P>
[[noreturn]] void violate(model::Event event, std::uint32_t word) {
  char message[256];
  std::snprintf(message, sizeof message, "intr: contract violation: %.*s in state %.*s (word 0x%x): %s",
                static_cast<int>(model::name(event).size()), model::name(event).data(),
                static_cast<int>(model::name(model::state_of(word)).size()),
                model::name(model::state_of(word)).data(), static_cast<unsigned>(word),
                misuse_hint(event, model::state_of(word)));
  P::contract_violation(message);
  std::abort();
}

// Checks, for every (state, event) pair of the table, the assumptions that
// the code below makes about it: which actions each caller handles, and that
// only take_interrupt clears the pending bit.
constexpr bool core_agrees_with_table() {
  using model::Action;
  using model::Event;
  using model::Pending;
  for (model::State state : model::all_states) {
    for (Event event : model::all_events) {
      model::Transition t = model::transition(state, event);
      bool owner_event = event == Event::start_wait || event == Event::rearm_wait || event == Event::end_wait ||
                         event == Event::prepare_guest || event == Event::guest_not_ready ||
                         event == Event::finish_guest || event == Event::take_interrupt;
      if (t.pending == Pending::clear && event != Event::take_interrupt) return false;
      if (event == Event::interrupt && t.pending != Pending::set) return false;
      if (event != Event::interrupt && t.pending == Pending::set) return false;
      if (t.action == Action::contract_violation && !owner_event) return false;
      if (owner_event && t.action != Action::none && t.action != Action::contract_violation) return false;
      if (t.action == Action::futex_wake &&
          !(state == model::State::waiting && (event == Event::wake || event == Event::interrupt)))
        return false;
      if (t.action == Action::platform_interrupt &&
          !(state == model::State::running_in_guest && event == Event::interrupt))
        return false;
      if (t.action == Action::return_to_host && event != Event::platform_interrupt_delivered) return false;
      if (event == Event::wake && t.next != state && t.action != Action::futex_wake) return false;
    }
  }
  return true;
}
static_assert(core_agrees_with_table(), "the transition table breaks an assumption of the core");

// The table the core follows: model::transition, unless the platform brings
// its own. Only the harness's model platform does, to run deliberately broken
// tables (mutants) through the real core; no other build contains them.
template <Platform P>
constexpr model::Transition transition_for(model::State state, model::Event event) {
  if constexpr (requires { P::transition(state, event); }) {
    return P::transition(state, event);
  } else {
    return model::transition(state, event);
  }
}

// Deliberate faults in the code of the core, each compiled in only for a
// platform that has a `mutated(Mutation)` function. Only the harness's model
// platform has one: it switches a fault on to show that the model checker
// catches it. For every other platform the checks below compile to nothing.
enum class Mutation : std::uint8_t {
  cas_replaced_by_store,     // apply() writes with a plain store instead of a compare-and-swap
  interrupt_order_relaxed,   // interrupt() reads and writes the word with relaxed order
  start_wait_order_release,  // the store of `waiting` is a release, not seq_cst
  wake_without_futex_wake,   // wake() moves the word to woken but never wakes the futex
  rearm_after_checks,        // the wait loop re-arms after its checks, just before blocking
  block_without_recheck,     // after a wake-up the wait loop blocks again without re-checking
  skip_pending_check,        // the wait loop never reads the pending bit before blocking
  take_reports_cleared_bit,  // take_interrupt() returns the bit after clearing it
};

template <class P>
inline constexpr bool has_mutations = requires(Mutation mutation) {
  { P::mutated(mutation) } -> std::same_as<bool>;
};

template <Platform P>
constexpr bool mutated(Mutation mutation) {
  if constexpr (has_mutations<P>) {
    return P::mutated(mutation);
  } else {
    (void)mutation;
    return false;
  }
}

// Returns `order`, or `weaker` while `mutation` is switched on.
template <Platform P>
constexpr std::memory_order order_unless(Mutation mutation, std::memory_order order, std::memory_order weaker) {
  if constexpr (has_mutations<P>) {
    if (P::mutated(mutation)) return weaker;
  }
  (void)mutation;
  (void)weaker;
  return order;
}

// Tells the platform that a guest run ended with the word `before`, once the
// thread is back in host state. A platform that delivers interrupts
// asynchronously uses it to absorb a signal still on its way, so that none
// lands in host code.
template <Platform P>
void guest_left(typename P::ThreadRecord& record, std::uint32_t before) {
  if constexpr (requires { P::guest_left(record, before); }) {
    P::guest_left(record, before);
  } else {
    (void)record;
    (void)before;
  }
}

// The word before an event and the transition that the table chose for it.
struct Applied {
  std::uint32_t before;
  model::Transition transition;
};

// The word that `event` finds in the common case: the state in which the
// owning thread left it, with no interrupt pending.
constexpr std::uint32_t likely_word(model::Event event) {
  using model::Event;
  using model::State;
  switch (event) {
    case Event::rearm_wait: return model::make_word(State::woken, false);
    case Event::end_wait:
    case Event::wake: return model::make_word(State::waiting, false);
    case Event::guest_not_ready:
    case Event::finish_guest: return model::make_word(State::running_in_guest, false);
    case Event::take_interrupt: return model::make_word(State::running_in_host, true);
    default: return model::make_word(State::running_in_host, false);
  }
}

// Applies `event` to the word with one compare-and-swap whose desired value
// comes from the transition table. `order` is the order of the read and of
// the write; each caller justifies its choice.
//
// The first compare-and-swap expects likely_word(event), so the common case
// runs no load and no table lookup that wait for the word. A wrong guess
// fails, and a failed compare-and-swap reads the word with the same order as
// the load it replaces, so the loop continues from the value it returned.
template <Platform P>
INTR_ALWAYS_INLINE Applied apply(typename P::Word& word, model::Event event, std::memory_order order) {
  std::uint32_t before = likely_word(event);
  model::Transition guessed = transition_for<P>(model::state_of(before), event);
  std::uint32_t guessed_after = model::apply_transition(before, guessed);
  if (guessed.action != model::Action::contract_violation && guessed_after != before &&
      !mutated<P>(Mutation::cas_replaced_by_store)) {
    if (word.compare_exchange_weak(before, guessed_after, order, failure_order(order))) return {before, guessed};
  } else {
    before = word.load(failure_order(order));
  }
  for (;;) {
    if (!model::is_valid_word(before)) violate<P>(event, before);
    model::Transition transition = transition_for<P>(model::state_of(before), event);
    if (transition.action == model::Action::contract_violation) violate<P>(event, before);
    std::uint32_t after = model::apply_transition(before, transition);
    if (after == before) return {before, transition};
    if constexpr (has_mutations<P>) {
      if (P::mutated(Mutation::cas_replaced_by_store)) {
        word.store(after, order == std::memory_order_acq_rel ? std::memory_order_release : order);
        return {before, transition};
      }
    }
    if (word.compare_exchange_weak(before, after, order, failure_order(order))) return {before, transition};
  }
}

// A predicate that never reports an interrupt.
struct NoCheck {
  constexpr bool operator()() const noexcept { return false; }
};

template <class A, class B>
struct EitherCheck {
  A first;
  B second;
  bool operator()() { return first() || second(); }
};

}  // namespace detail

template <Platform P = NativePlatform>
class WaitState;
template <Platform P = NativePlatform>
class ThreadHandle;
template <Platform P = NativePlatform>
class Waker;
template <Platform P = NativePlatform, class Check = detail::NoCheck>
class WaitContext;

// Interrupts one thread from any thread. Copyable; safe after the thread exits.
template <Platform P>
class ThreadHandle {
 public:
  ThreadHandle(const ThreadHandle& other) noexcept : block_(other.block_) { detail::retain(block_); }
  ThreadHandle& operator=(ThreadHandle other) noexcept {
    std::swap(block_, other.block_);
    return *this;
  }
  ~ThreadHandle() { detail::release(block_); }

  // Requests an interrupt. The pending bit is set in every state; a waiting
  // thread is woken; a thread in guest code gets a platform interrupt. Never
  // blocks and never allocates.
  InterruptResult interrupt() const {
    if (P::has_exited(block_->thread)) return InterruptResult::thread_exited;
    P::trace(TracePoint::interrupt_requested, block_->thread, 0);
    // Seq_cst: this read of the state is the second half of the store-
    // buffering pattern described at the top of this file, and the write
    // releases what the caller stored before interrupt().
    detail::Applied applied = detail::apply<P>(
        block_->word, model::Event::interrupt,
        detail::order_unless<P>(detail::Mutation::interrupt_order_relaxed, std::memory_order_seq_cst,
                                std::memory_order_relaxed));
    switch (applied.transition.action) {
      case model::Action::futex_wake:
        P::trace(TracePoint::wait_woken, block_->thread, 1);
        P::wake_one(block_->word);
        return InterruptResult::woke_waiter;
      case model::Action::platform_interrupt:
        if (!P::interrupt_thread(block_->thread)) return InterruptResult::thread_exited;
        return InterruptResult::interrupted_guest;
      default:
        return InterruptResult::recorded;
    }
  }

  // True once the thread's WaitState has been destroyed.
  bool exited() const { return P::has_exited(block_->thread); }

  const typename P::ThreadRecord& record() const noexcept { return block_->thread; }

 private:
  friend class WaitState<P>;
  explicit ThreadHandle(detail::SharedBlock<P>* block) noexcept : block_(block) { detail::retain(block_); }
  detail::SharedBlock<P>* block_;
};

// Makes a waiting thread re-evaluate its condition. Never interrupts guest
// code and never sets the pending bit. Copyable; safe after the thread exits.
template <Platform P>
class Waker {
 public:
  Waker(const Waker& other) noexcept : block_(other.block_) { detail::retain(block_); }
  Waker& operator=(Waker other) noexcept {
    std::swap(block_, other.block_);
    return *this;
  }
  ~Waker() { detail::release(block_); }

  WakeResult wake() const {
    if (P::has_exited(block_->thread)) return WakeResult::thread_exited;
    // Seq_cst: as in ThreadHandle::interrupt(), the read of the state pairs
    // with the waiter's seq_cst store of `waiting`.
    detail::Applied applied = detail::apply<P>(block_->word, model::Event::wake, std::memory_order_seq_cst);
    if (applied.transition.action != model::Action::futex_wake) return WakeResult::not_waiting;
    P::trace(TracePoint::wait_woken, block_->thread, 0);
    if (detail::mutated<P>(detail::Mutation::wake_without_futex_wake)) return WakeResult::woken;
    P::wake_one(block_->word);
    return WakeResult::woken;
  }

 private:
  friend class WaitState<P>;
  explicit Waker(detail::SharedBlock<P>* block) noexcept : block_(block) { detail::retain(block_); }
  detail::SharedBlock<P>* block_;
};

// Settings of one wait: a deadline and an extra interrupt predicate. Cheap
// to copy; made by WaitState::context() and used on the owning thread only.
template <Platform P, class Check>
class WaitContext {
 public:
  using Instant = typename P::Instant;
  using Duration = typename P::Duration;

  // Sets the deadline to now() + timeout unless an earlier one is set. A
  // timeout too large to represent means no deadline; a negative one is
  // already past.
  WaitContext with_timeout(Duration timeout) const {
    Instant now = P::now();
    if (timeout < Duration::zero()) return with_deadline(now);
    if (timeout > Instant::max() - now) return *this;
    return with_deadline(now + timeout);
  }

  // Sets the deadline unless an earlier one is set.
  WaitContext with_deadline(Instant deadline) const {
    WaitContext copy = *this;
    if (!copy.deadline_ || deadline < *copy.deadline_) copy.deadline_ = deadline;
    return copy;
  }

  // Adds a predicate that counts as an interrupt when it returns true. It is
  // evaluated before every block, after the pending bit. A caller that sets
  // its state and then calls wake() or interrupt() must store it with seq_cst,
  // and the predicate must load it with seq_cst (see the top of this file).
  template <class F>
  auto with_check_for_interrupt(F check) const {
    using Combined = detail::EitherCheck<Check, F>;
    return WaitContext<P, Combined>(*state_, deadline_, Combined{check_, std::move(check)});
  }

  // Blocks until ready() returns true (ready), the deadline passes
  // (timed_out) or an interrupt is requested (interrupted), checked in that
  // order each time the thread wakes. A deadline that has passed reports
  // timed_out even with an interrupt pending. ready() runs on this thread:
  // once in host state, where a true result returns at once, then with the
  // state `waiting` each time the thread wakes. It must not wait or run guest
  // code.
  template <class Ready>
  WaitResult wait_until(Ready&& ready) {
    return state_->wait(deadline_, check_, ready);
  }

  // Blocks until the deadline passes or an interrupt is requested.
  WaitResult sleep() {
    return wait_until([] { return false; });
  }

  // Time left until the deadline; nullopt when there is none.
  std::optional<Duration> remaining() const {
    if (!deadline_) return std::nullopt;
    Instant now = P::now();
    if (*deadline_ <= now) return Duration::zero();
    return std::chrono::duration_cast<Duration>(*deadline_ - now);
  }

  std::optional<Instant> deadline() const { return deadline_; }

 private:
  friend class WaitState<P>;
  template <Platform, class>
  friend class WaitContext;

  WaitContext(WaitState<P>& state, std::optional<Instant> deadline, Check check)
      : state_(&state), deadline_(deadline), check_(std::move(check)) {}

  WaitState<P>* state_;
  std::optional<Instant> deadline_;
  Check check_;
};

// The per-thread wait state. Created on its thread, used only by it, neither
// copyable nor movable, and destroyed on it. Interrupts reach it through
// ThreadHandle and wake-ups through Waker.
template <Platform P>
class WaitState {
 public:
  using Instant = typename P::Instant;

  // Allocates the shared block and attaches the platform to this thread (on
  // Linux: the interrupt signal and an alternate signal stack). May throw
  // what the platform throws when it cannot attach.
  explicit WaitState(GuestDelivery delivery = GuestDelivery::signal) {
    void* memory = ::operator new(sizeof(detail::SharedBlock<P>), std::align_val_t{alignof(detail::SharedBlock<P>)});
    block_ = new (memory) detail::SharedBlock<P>();
    try {
      P::attach_thread(block_->thread, block_->word, delivery);
    } catch (...) {
      detail::release(block_);
      throw;
    }
  }

  WaitState(const WaitState&) = delete;
  WaitState& operator=(const WaitState&) = delete;

  ~WaitState() {
    // Acquire: pairs with nothing in particular; the owner wrote the word
    // last unless an interrupt arrived, which only sets the pending bit.
    std::uint32_t word = block_->word.load(std::memory_order_acquire);
    if (model::state_of(word) != model::State::running_in_host) {
      detail::violate<P>(model::Event::end_wait, word);
    }
    P::detach_thread(block_->thread);
    detail::release(block_);
  }

  WaitContext<P> context() { return WaitContext<P>(*this, std::nullopt, detail::NoCheck{}); }
  ThreadHandle<P> thread_handle() const { return ThreadHandle<P>(block_); }
  Waker<P> waker() const { return Waker<P>(block_); }

  // True when an interrupt has been requested and not yet taken.
  bool interrupt_pending() const {
    // Acquire: seeing the bit makes what the interrupter wrote before
    // interrupt() visible to this thread.
    return model::is_pending(block_->word.load(std::memory_order_acquire));
  }

  // Clears the pending bit and returns whether it was set.
  bool take_interrupt() {
    // Acq_rel: acquire for the same reason as interrupt_pending(); release
    // so that a later interrupt() that reads the cleared bit also sees what
    // this thread did before taking.
    detail::Applied applied = detail::apply<P>(block_->word, model::Event::take_interrupt, std::memory_order_acq_rel);
    if (detail::mutated<P>(detail::Mutation::take_reports_cleared_bit)) {
      return model::is_pending(model::apply_transition(applied.before, applied.transition));
    }
    return model::is_pending(applied.before);
  }

  // Moves the thread into guest state, then runs check(). Returns entered
  // when no interrupt was pending and check() returned true; otherwise the
  // thread is back in host state. An interrupt that arrives after this
  // returns entered is delivered to the guest.
  template <class Check>
  GuestEntry prepare_to_run_guest(Check&& check) {
    // Seq_cst: the write of `running_in_guest` and check()'s reads form the
    // store-buffering pattern with an interrupter that publishes and then
    // reads the state, exactly as a waiter does.
    reject_inside_precheck(model::Event::prepare_guest);
    detail::Applied applied = detail::apply<P>(block_->word, model::Event::prepare_guest, std::memory_order_seq_cst);
    GuestEntry entry = GuestEntry::entered;
    if (model::is_pending(applied.before)) {
      entry = GuestEntry::interrupted;
    } else if (!check()) {
      entry = GuestEntry::not_ready;
    }
    if (entry != GuestEntry::entered) {
      // Acq_rel: the thread reads interrupter data only after this point.
      detail::Applied left = detail::apply<P>(block_->word, model::Event::guest_not_ready, std::memory_order_acq_rel);
      detail::guest_left<P>(block_->thread, left.before);
    }
    return entry;
  }

  GuestEntry prepare_to_run_guest() {
    return prepare_to_run_guest([] { return true; });
  }

  // Returns the thread to host state after a guest run. Returns true when the
  // run was interrupted.
  bool finish_running_guest() {
    // Acq_rel: acquire so that host code after the guest sees what the
    // interrupter wrote; release is harmless and keeps the RMW symmetric.
    detail::Applied applied = detail::apply<P>(block_->word, model::Event::finish_guest, std::memory_order_acq_rel);
    detail::guest_left<P>(block_->thread, applied.before);
    P::trace(TracePoint::guest_returned, block_->thread, applied.before);
    return model::state_of(applied.before) == model::State::interrupted_guest;
  }

  // The state word, for diagnostics and tests.
  std::uint32_t word() const { return block_->word.load(std::memory_order_relaxed); }
  const typename P::ThreadRecord& record() const noexcept { return block_->thread; }

 private:
  template <Platform, class>
  friend class WaitContext;

  template <class Check, class Ready>
  WaitResult wait(const std::optional<Instant>& deadline, Check& check, Ready& ready) {
    reject_inside_precheck(model::Event::start_wait);
    // A condition that already holds needs no wait, as in
    // std::condition_variable::wait(lock, pred). A true result needs no
    // ordering with the state word, because nothing blocks on it. Relaxed:
    // only this thread moves the word out of running_in_host, so the load
    // distinguishes a legal call from a wait inside a wait or inside guest code,
    // which apply() below rejects.
    if (model::state_of(block_->word.load(std::memory_order_relaxed)) == model::State::running_in_host) {
      PrecheckScope scope(in_precheck_);
      if (ready()) return WaitResult::ready;
    }
    // Seq_cst: the store of `waiting` must precede, in the single total
    // order, the reads of the caller's condition in ready() and check().
    detail::apply<P>(block_->word, model::Event::start_wait,
                     detail::order_unless<P>(detail::Mutation::start_wait_order_release, std::memory_order_seq_cst,
                                             std::memory_order_release));
    P::trace(TracePoint::wait_started, block_->thread, 0);
    WaitResult result = wait_loop(deadline, check, ready);
    // Acq_rel: the acquire half makes data published before a wake-up or
    // interrupt visible to the code after the wait.
    detail::apply<P>(block_->word, model::Event::end_wait, std::memory_order_acq_rel);
    P::trace(TracePoint::wait_ended, block_->thread, static_cast<std::uint32_t>(result));
    return result;
  }

  template <class Check, class Ready>
  WaitResult wait_loop(const std::optional<Instant>& deadline, Check& check, Ready& ready) {
    constexpr std::uint32_t waiting = model::make_word(model::State::waiting, false);
    for (;;) {
      if (ready()) return WaitResult::ready;
      if (deadline && P::now() >= *deadline) return WaitResult::timed_out;
      // Acquire: seeing the pending bit makes the interrupter's data visible.
      if (!detail::mutated<P>(detail::Mutation::skip_pending_check) &&
          model::is_pending(block_->word.load(std::memory_order_acquire))) {
        return WaitResult::interrupted;
      }
      if (check()) return WaitResult::interrupted;
      if (detail::mutated<P>(detail::Mutation::rearm_after_checks)) {
        detail::apply<P>(block_->word, model::Event::rearm_wait, std::memory_order_seq_cst);
      }
      // The futex blocks only while the word is exactly `waiting`: a wake or
      // an interrupt that lands between the checks above and the block moves
      // it to `woken`, so the block returns at once and nothing is lost.
      if (deadline) {
        P::block_until(block_->word, waiting, *deadline);
      } else {
        P::block(block_->word, waiting);
      }
      // Seq_cst: as for start_wait, the store of `waiting` precedes the next
      // reads of the caller's condition.
      if (!detail::mutated<P>(detail::Mutation::rearm_after_checks)) {
        detail::apply<P>(block_->word, model::Event::rearm_wait, std::memory_order_seq_cst);
      }
      while (detail::mutated<P>(detail::Mutation::block_without_recheck)) {
        P::block(block_->word, waiting);
        detail::apply<P>(block_->word, model::Event::rearm_wait, std::memory_order_seq_cst);
      }
    }
  }

  // Marks the first call of ready(), made in host state before the wait
  // starts, so that a wait or guest run started inside it is still caught.
  struct PrecheckScope {
    explicit PrecheckScope(bool& flag) : flag_(flag) { flag_ = true; }
    ~PrecheckScope() { flag_ = false; }
    PrecheckScope(const PrecheckScope&) = delete;
    PrecheckScope& operator=(const PrecheckScope&) = delete;
    bool& flag_;
  };

  void reject_inside_precheck(model::Event event) {
    if (!in_precheck_) return;
    char message[200];
    std::snprintf(message, sizeof message,
                  "intr: contract violation: %.*s inside a ready() predicate: %s",
                  static_cast<int>(model::name(event).size()), model::name(event).data(),
                  event == model::Event::start_wait ? "a wait inside a wait" : "guest code started inside a wait");
    P::contract_violation(message);
    std::abort();
  }

  detail::SharedBlock<P>* block_;
  // Owner-only: true while ready() runs before the wait has started.
  bool in_precheck_ = false;
};

}  // namespace intr
