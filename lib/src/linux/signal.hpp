// Internal interface between the signal handler and the thread records.
#pragma once

#include <atomic>
#include <cstdint>

namespace intr::linux_detail {

// A word that always reads `running_in_host`, for threads without a WaitState.
extern const std::atomic<std::uint32_t> host_word;

// Installs the interrupt signal on first use and returns its number.
int install_once();

// The installed signal, or 0.
int current_signal() noexcept;

}  // namespace intr::linux_detail
