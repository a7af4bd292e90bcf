// A thread that owns a WaitState and hands its handle, waker and thread id
// to the test that started it.
#pragma once

#include <intr/intr.hpp>

#include <future>
#include <optional>
#include <sys/types.h>
#include <thread>
#include <unistd.h>
#include <utility>

namespace intr_test {

class OwningThread {
 public:
  // Starts a thread that creates a WaitState with `delivery` and runs
  // `body(state)`. Returns once the WaitState exists.
  template <class Body>
  OwningThread(intr::GuestDelivery delivery, Body body) {
    std::promise<Published> published;
    std::future<Published> future = published.get_future();
    thread_ = std::thread([delivery, body = std::move(body), &published]() mutable {
      intr::WaitState<> state(delivery);
      published.set_value(Published{state.thread_handle(), state.waker(), gettid()});
      body(state);
    });
    published_.emplace(future.get());
  }

  template <class Body>
  explicit OwningThread(Body body) : OwningThread(intr::GuestDelivery::signal, std::move(body)) {}

  ~OwningThread() { join(); }
  OwningThread(const OwningThread&) = delete;
  OwningThread& operator=(const OwningThread&) = delete;

  void join() {
    if (thread_.joinable()) thread_.join();
  }

  const intr::ThreadHandle<>& handle() const { return published_->handle; }
  const intr::Waker<>& waker() const { return published_->waker; }
  pid_t tid() const { return published_->tid; }

 private:
  struct Published {
    intr::ThreadHandle<> handle;
    intr::Waker<> waker;
    pid_t tid;
  };
  std::optional<Published> published_;
  std::thread thread_;
};

}  // namespace intr_test
