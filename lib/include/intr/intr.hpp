// The public entry point: the core templates and the platform of the build
// target. Include this header and use intr::WaitState<>, intr::ThreadHandle<>,
// intr::Waker<> and intr::this_thread.
#pragma once

#include <intr/native.hpp>
#include <intr/platform.hpp>
#include <intr/wait_state.hpp>

#if defined(__linux__)
#include <intr/linux/platform.hpp>
#include <intr/linux/this_thread.hpp>
#endif

namespace intr {

static_assert(Platform<NativePlatform>);
static_assert(sizeof(detail::SharedBlock<NativePlatform>) == 64,
              "the state shared between a thread and its handles must fit one cache line");

}  // namespace intr
