// A consumer of intr: a thread waits without a timeout until the main thread
// interrupts it. Prints the wait's result and exits 0 when it was
// `interrupted`.
#include <intr/intr.hpp>

#include <cstdio>
#include <future>
#include <thread>

int main() {
  std::promise<intr::ThreadHandle<>> published;
  std::future<intr::ThreadHandle<>> handle = published.get_future();
  intr::WaitResult result = intr::WaitResult::ready;
  std::thread waiter([&] {
    intr::WaitState<> state;
    published.set_value(state.thread_handle());
    result = state.context().sleep();
  });
  handle.get().interrupt();
  waiter.join();
  std::printf("wait result: %s\n", intr::to_string(result));
  return result == intr::WaitResult::interrupted ? 0 : 1;
}
