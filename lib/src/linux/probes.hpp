// USDT probes of the provider `intr`. They cost one nop each while no tracer
// is attached, and compile away when <sys/sdt.h> is missing.
//
//   intr:interrupt_requested(target_tid)
//   intr:signal_sent(target_tid, signal_number)
//   intr:handler_entered(signal_number, state_word)
//   intr:guest_returned(state_word_before)
//   intr:wait_started(tid)
//   intr:wait_woken(target_tid, by_interrupt)
//   intr:wait_ended(result)   result: 0 ready, 1 interrupted, 2 timed_out
#pragma once

#if __has_include(<sys/sdt.h>) && !defined(INTR_NO_USDT)
#include <sys/sdt.h>
#define INTR_PROBE1(name, a) DTRACE_PROBE1(intr, name, a)
#define INTR_PROBE2(name, a, b) DTRACE_PROBE2(intr, name, a, b)
#define INTR_HAVE_USDT 1
#else
#define INTR_PROBE1(name, a) ((void)(a))
#define INTR_PROBE2(name, a, b) ((void)(a), (void)(b))
#define INTR_HAVE_USDT 0
#endif
