/* Latency of interrupt delivery in the intr library, stage by stage.
 *
 * Two chains of events are followed per target thread:
 *
 *   guest interrupt: USDT interrupt_requested and signal_sent (interrupter)
 *     -> signal_generate (for the target) -> signal_deliver (in the target)
 *     -> USDT handler_entered -> USDT guest_returned (target)
 *   woken wait: USDT interrupt_requested or wait_woken (waker)
 *     -> sched_wakeup (target) -> sched_switch to the target
 *     -> USDT wait_ended (target)
 *
 * A chain lives in a map keyed by the target's thread id and advances only
 * when the next event arrives in order, so events of other threads, other
 * signals and stale chains never mix in. When the last event arrives, the
 * stage deltas go into log2 histograms and, when the loader requests
 * percentiles, into one ring-buffer record per chain.
 *
 * Kernel tracepoints come in two versions, tp_btf and raw_tp; the loader
 * enables one set before load, depending on what the kernel supports.
 */
#include "vmlinux.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>

#include "intr_trace.h"

#define MAX_THREADS 16384
#define MAX_SIGNAL 64

/* Low three bits of the state word; 4 is interrupted_guest. */
#define STATE_MASK 7u
#define STATE_INTERRUPTED_GUEST 4u

/* The kernel's enum trace_signal_result. */
#define SIGNAL_RESULT_DELIVERED 0
#define SIGNAL_RESULT_IGNORED 1
#define SIGNAL_RESULT_OVERFLOW_FAIL 3
#define SIGNAL_RESULT_LOSE_INFO 4

/* Filters, set by the loader before load. 0 means any. */
const volatile __u32 target_tgid = 0;
const volatile __u32 target_tid = 0;
const volatile __s32 target_signal = 0;
const volatile bool per_thread = false;
const volatile bool emit_events = false;
/* Chain records wake the reader only once this many bytes wait, so that a
 * busy target does not wake the tracer for every chain. The reader also
 * drains the ring buffer on a timer. 0 wakes it for every record. */
const volatile __u64 wakeup_bytes = 0;

/* Time of the last interrupt_requested, by interrupter thread. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MAX_THREADS);
	__type(key, __u32);
	__type(value, __u64);
} requests SEC(".maps");

/* time[i] is the time of the chain's i-th event, and phase counts the
 * events seen so far. */
struct guest_chain {
	__u64 time[5];
	__u32 phase;
	__s32 signal;
};

struct wait_chain {
	__u64 time[4];
	__u32 phase;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MAX_THREADS);
	__type(key, __u32);
	__type(value, struct guest_chain);
} guest_chains SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MAX_THREADS);
	__type(key, __u32);
	__type(value, struct wait_chain);
} wait_chains SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_THREADS);
	__type(key, struct intr_hist_key);
	__type(value, struct intr_hist);
} hists SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, INTR_COUNTER_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

/* The loader sets the size before load. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

static const struct intr_hist empty_hist;

static __always_inline void count(__u32 counter)
{
	__u64 *value = bpf_map_lookup_elem(&counters, &counter);

	/* Per-CPU slot: no other CPU writes it, so no atomic is needed. */
	if (value)
		*value += 1;
}

static __always_inline __u32 log2_u64(__u64 value)
{
	__u32 result = 0;

	if (value >> 32) { value >>= 32; result += 32; }
	if (value >> 16) { value >>= 16; result += 16; }
	if (value >> 8) { value >>= 8; result += 8; }
	if (value >> 4) { value >>= 4; result += 4; }
	if (value >> 2) { value >>= 2; result += 2; }
	if (value >> 1) { result += 1; }
	return result;
}

static __always_inline void record(__u32 tid, __u32 stage, __u64 delta)
{
	struct intr_hist_key key = { .tid = per_thread ? tid : 0, .stage = stage };
	struct intr_hist *hist;
	__u32 slot;

	hist = bpf_map_lookup_elem(&hists, &key);
	if (!hist) {
		bpf_map_update_elem(&hists, &key, &empty_hist, BPF_NOEXIST);
		hist = bpf_map_lookup_elem(&hists, &key);
		if (!hist) {
			count(INTR_COUNTER_HISTOGRAM_MAP_FULL);
			return;
		}
	}
	slot = log2_u64(delta);
	if (slot >= INTR_TRACE_SLOTS)
		slot = INTR_TRACE_SLOTS - 1;
	__sync_fetch_and_add(&hist->slots[slot], 1);
}

/* Records a finished chain of `stamps` timestamps whose first stage is
 * `first_stage`; the stage after the last delta is the chain's total. */
static __always_inline void finish_chain(__u32 tid, __u32 kind, const __u64 *time, __u32 stamps,
					 __u32 first_stage)
{
	struct intr_chain_event *event;
	__u64 total;
	__u32 i;

	for (i = 0; i + 1 < stamps && i < 4; i++) {
		if (time[i + 1] < time[i]) {
			count(INTR_COUNTER_NEGATIVE_DELTA);
			return;
		}
	}
	total = time[stamps - 1] - time[0];
	for (i = 0; i + 1 < stamps && i < 4; i++)
		record(tid, first_stage + i, time[i + 1] - time[i]);
	record(tid, first_stage + stamps - 1, total);

	if (!emit_events)
		return;
	event = bpf_ringbuf_reserve(&events, sizeof(*event), 0);
	if (!event) {
		count(INTR_COUNTER_RING_BUFFER_DROPS);
		return;
	}
	event->tid = tid;
	event->kind = kind;
	for (i = 0; i < 4; i++)
		event->stage_ns[i] = i + 1 < stamps ? time[i + 1] - time[i] : 0;
	event->total_ns = total;
	if (wakeup_bytes == 0 || bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= wakeup_bytes)
		bpf_ringbuf_submit(event, BPF_RB_FORCE_WAKEUP);
	else
		bpf_ringbuf_submit(event, BPF_RB_NO_WAKEUP);
}

static __always_inline bool thread_selected(long tid)
{
	return tid > 0 && (target_tid == 0 || tid == target_tid);
}

static __always_inline bool signal_selected(int signal)
{
	return signal > 0 && signal <= MAX_SIGNAL && (target_signal == 0 || signal == target_signal);
}

static __always_inline __u32 current_tid(void)
{
	return (__u32)bpf_get_current_pid_tgid();
}

/* True when the task belongs to the traced process; the idle task never does. */
static __always_inline bool task_selected(struct task_struct *task, __u32 *tid)
{
	*tid = BPF_CORE_READ(task, pid);
	if (*tid == 0)
		return false;
	return target_tgid == 0 || BPF_CORE_READ(task, tgid) == target_tgid;
}

/* Stores `chain` for `tid`, counting the chain it replaces, if any. */
static __always_inline void start_chain(void *map, __u32 tid, const void *chain)
{
	if (bpf_map_update_elem(map, &tid, chain, BPF_NOEXIST) != 0) {
		count(INTR_COUNTER_CHAIN_REPLACED);
		bpf_map_update_elem(map, &tid, chain, BPF_ANY);
	}
}

SEC("usdt")
int BPF_USDT(intr_requested, long target)
{
	__u32 tid = current_tid();
	__u64 now = bpf_ktime_get_ns();

	if (!thread_selected(target))
		return 0;
	bpf_map_update_elem(&requests, &tid, &now, BPF_ANY);
	return 0;
}

/* Starts a guest chain at the interrupt() call that sent this signal. */
SEC("usdt")
int BPF_USDT(intr_sent, long target, long signal)
{
	struct guest_chain chain = {};
	__u32 interrupter = current_tid();
	__u64 *requested;

	if (!thread_selected(target) || !signal_selected(signal))
		return 0;
	requested = bpf_map_lookup_elem(&requests, &interrupter);
	if (!requested)
		return 0; /* attached between the two probes of one call */
	chain.time[0] = *requested;
	chain.phase = 1;
	chain.signal = signal;
	start_chain(&guest_chains, target, &chain);
	return 0;
}

static __always_inline int on_signal_generate(int signal, struct task_struct *task, int result)
{
	struct guest_chain *chain;
	__u32 tid;

	if (!signal_selected(signal) || !task_selected(task, &tid))
		return 0;
	chain = bpf_map_lookup_elem(&guest_chains, &tid);
	if (!chain || chain->phase != 1 || chain->signal != signal)
		return 0;
	if (result >= SIGNAL_RESULT_DELIVERED && result <= SIGNAL_RESULT_LOSE_INFO)
		count(INTR_COUNTER_GENERATE_DELIVERED + result);
	if (result == SIGNAL_RESULT_IGNORED || result == SIGNAL_RESULT_OVERFLOW_FAIL) {
		/* Nothing will be delivered for this request. */
		bpf_map_delete_elem(&guest_chains, &tid);
		return 0;
	}
	chain->time[1] = bpf_ktime_get_ns();
	chain->phase = 2;
	return 0;
}

SEC("tp_btf/signal_generate")
int BPF_PROG(intr_generate, int signal, struct kernel_siginfo *info, struct task_struct *task, int group,
	     int result)
{
	return on_signal_generate(signal, task, result);
}

SEC("raw_tp/signal_generate")
int BPF_PROG(intr_generate_r, int signal, struct kernel_siginfo *info, struct task_struct *task, int group,
	     int result)
{
	return on_signal_generate(signal, task, result);
}

/* signal_deliver runs in the target thread, just before its handler. */
static __always_inline int on_signal_deliver(int signal)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	struct guest_chain *chain;

	if (!signal_selected(signal) || tid == 0)
		return 0;
	if (target_tgid != 0 && (id >> 32) != target_tgid)
		return 0;
	chain = bpf_map_lookup_elem(&guest_chains, &tid);
	if (!chain || chain->phase != 2 || chain->signal != signal)
		return 0;
	chain->time[2] = bpf_ktime_get_ns();
	chain->phase = 3;
	return 0;
}

SEC("tp_btf/signal_deliver")
int BPF_PROG(intr_deliver, int signal, struct kernel_siginfo *info, struct k_sigaction *action)
{
	return on_signal_deliver(signal);
}

SEC("raw_tp/signal_deliver")
int BPF_PROG(intr_deliver_r, int signal, struct kernel_siginfo *info, struct k_sigaction *action)
{
	return on_signal_deliver(signal);
}

/* The handler acts only when the state word is interrupted_guest. Any
 * other state means the guest is back in host code already: it saw the
 * state word change before the signal arrived, maybe even before the
 * interrupter's signal_sent probe fired, so guest_returned found no chain. */
SEC("usdt")
int BPF_USDT(intr_handler, long signal, long word)
{
	__u32 tid = current_tid();
	struct guest_chain *chain;

	chain = bpf_map_lookup_elem(&guest_chains, &tid);
	if (!chain || chain->phase != 3 || chain->signal != signal)
		return 0;
	if ((word & STATE_MASK) != STATE_INTERRUPTED_GUEST) {
		count(INTR_COUNTER_GUEST_RETURNED_BEFORE_HANDLER);
		bpf_map_delete_elem(&guest_chains, &tid);
		return 0;
	}
	chain->time[3] = bpf_ktime_get_ns();
	chain->phase = 4;
	return 0;
}

/* Ends the guest chain when an interrupted guest run returns to the host. */
SEC("usdt")
int BPF_USDT(intr_guest_ret, long word_before)
{
	__u32 tid = current_tid();
	struct guest_chain *chain;

	if ((word_before & STATE_MASK) != STATE_INTERRUPTED_GUEST)
		return 0;
	chain = bpf_map_lookup_elem(&guest_chains, &tid);
	if (!chain)
		return 0;
	if (chain->phase == 4) {
		chain->time[4] = bpf_ktime_get_ns();
		finish_chain(tid, INTR_CHAIN_GUEST, chain->time, 5, INTR_STAGE_REQUEST_TO_GENERATE);
	} else {
		count(INTR_COUNTER_GUEST_RETURNED_BEFORE_HANDLER);
	}
	bpf_map_delete_elem(&guest_chains, &tid);
	return 0;
}

/* Starts a wait chain: at the interrupt() call when an interrupt woke the
 * waiter, else at the wake() call, which fires this probe itself. */
SEC("usdt")
int BPF_USDT(intr_woken, long target, long by_interrupt)
{
	struct wait_chain chain = {};
	__u32 waker = current_tid();
	__u64 *requested;

	if (!thread_selected(target))
		return 0;
	if (by_interrupt) {
		requested = bpf_map_lookup_elem(&requests, &waker);
		if (!requested)
			return 0;
		chain.time[0] = *requested;
	} else {
		chain.time[0] = bpf_ktime_get_ns();
	}
	chain.phase = 1;
	start_chain(&wait_chains, target, &chain);
	return 0;
}

/* A chain that is still open when its thread starts a new wait belongs to
 * an earlier wait: the waiter returned before the waker's wait_woken probe
 * fired. Dropped, so that it cannot end at this wait. A wake-up of the new
 * wait whose probe fires before this one is dropped with it. */
SEC("usdt")
int BPF_USDT(intr_wait_start, long tid)
{
	__u32 waiter = current_tid();

	if (bpf_map_delete_elem(&wait_chains, &waiter) == 0)
		count(INTR_COUNTER_WAIT_CHAIN_STALE);
	return 0;
}

static __always_inline int on_sched_wakeup(struct task_struct *task)
{
	struct wait_chain *chain;
	__u32 tid;

	if (!task_selected(task, &tid))
		return 0;
	chain = bpf_map_lookup_elem(&wait_chains, &tid);
	if (!chain || chain->phase != 1)
		return 0;
	chain->time[1] = bpf_ktime_get_ns();
	chain->phase = 2;
	return 0;
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(intr_wakeup, struct task_struct *task)
{
	return on_sched_wakeup(task);
}

SEC("raw_tp/sched_wakeup")
int BPF_PROG(intr_wakeup_r, struct task_struct *task)
{
	return on_sched_wakeup(task);
}

static __always_inline int on_sched_switch(struct task_struct *next)
{
	struct wait_chain *chain;
	__u32 tid;

	if (!task_selected(next, &tid))
		return 0;
	chain = bpf_map_lookup_elem(&wait_chains, &tid);
	if (!chain || chain->phase != 2)
		return 0;
	chain->time[2] = bpf_ktime_get_ns();
	chain->phase = 3;
	return 0;
}

/* Only the first three arguments are named: prev_state came later (5.18). */
SEC("tp_btf/sched_switch")
int BPF_PROG(intr_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	return on_sched_switch(next);
}

SEC("raw_tp/sched_switch")
int BPF_PROG(intr_switch_r, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	return on_sched_switch(next);
}

SEC("usdt")
int BPF_USDT(intr_wait_ended, long result)
{
	__u32 tid = current_tid();
	struct wait_chain *chain;

	chain = bpf_map_lookup_elem(&wait_chains, &tid);
	if (!chain)
		return 0;
	if (chain->phase == 3) {
		chain->time[3] = bpf_ktime_get_ns();
		finish_chain(tid, INTR_CHAIN_WAIT, chain->time, 4, INTR_STAGE_WAKE_TO_WAKEUP);
	} else {
		count(INTR_COUNTER_WAIT_ENDED_BEFORE_RUNNING);
	}
	bpf_map_delete_elem(&wait_chains, &tid);
	return 0;
}

/* The kernel lets only GPL-compatible programs call bpf_probe_read_kernel(),
 * which BPF_CORE_READ uses. */
char LICENSE[] SEC("license") = "Dual BSD/GPL";
