/* Constants and structs shared by intr_trace.bpf.c and its loader. The BPF
 * side gets __u32 and __u64 from vmlinux.h, user space from <linux/types.h>.
 */
#ifndef INTR_TRACE_H
#define INTR_TRACE_H

/* Log2 buckets of nanoseconds: slot 0 counts 0 and 1 ns, slot i > 0 counts
 * [2^i, 2^(i+1)) ns, and the last slot also counts everything longer. */
#define INTR_TRACE_SLOTS 40

/* The stages of the two chains. A guest interrupt goes request, generate,
 * deliver, handler, host; a woken wait goes request, wake-up, running,
 * return. Each chain's total is a stage of its own. */
enum intr_stage {
	INTR_STAGE_REQUEST_TO_GENERATE,
	INTR_STAGE_GENERATE_TO_DELIVER,
	INTR_STAGE_DELIVER_TO_HANDLER,
	INTR_STAGE_HANDLER_TO_HOST,
	INTR_STAGE_GUEST_TOTAL,
	INTR_STAGE_WAKE_TO_WAKEUP,
	INTR_STAGE_WAKEUP_TO_RUNNING,
	INTR_STAGE_RUNNING_TO_RETURN,
	INTR_STAGE_WAIT_TOTAL,
	INTR_STAGE_COUNT,
};

/* Event counters, one per-CPU array slot each. The five signal_generate
 * results follow the kernel's enum trace_signal_result in order. */
enum intr_counter {
	INTR_COUNTER_RING_BUFFER_DROPS,
	INTR_COUNTER_GENERATE_DELIVERED,
	INTR_COUNTER_GENERATE_IGNORED,
	INTR_COUNTER_GENERATE_ALREADY_PENDING,
	INTR_COUNTER_GENERATE_OVERFLOW_FAIL,
	INTR_COUNTER_GENERATE_LOSE_INFO,
	/* The guest was back in host code before the handler ran, because it
	 * polled the state word before the signal arrived: guest_returned came
	 * first, or the handler found the state word no longer
	 * interrupted_guest. */
	INTR_COUNTER_GUEST_RETURNED_BEFORE_HANDLER,
	/* The wait ended before the scheduler woke the waiter or switched it
	 * in: the waiter had not gone to sleep yet. */
	INTR_COUNTER_WAIT_ENDED_BEFORE_RUNNING,
	/* A wait chain was still open when its thread started the next wait. */
	INTR_COUNTER_WAIT_CHAIN_STALE,
	/* A new chain began on a thread whose previous chain had not ended. */
	INTR_COUNTER_CHAIN_REPLACED,
	/* A chain with a timestamp earlier than the one before it. */
	INTR_COUNTER_NEGATIVE_DELTA,
	/* A stage sample lost because the histogram map had no room for one
	 * more (stage, thread) key. */
	INTR_COUNTER_HISTOGRAM_MAP_FULL,
	INTR_COUNTER_COUNT,
};

enum intr_chain_kind {
	INTR_CHAIN_GUEST,
	INTR_CHAIN_WAIT,
};

/* Key of the histogram map: tid is 0 unless histograms are per thread. */
struct intr_hist_key {
	__u32 tid;
	__u32 stage;
};

struct intr_hist {
	__u64 slots[INTR_TRACE_SLOTS];
};

/* One finished chain, sent through the ring buffer for percentiles.
 * stage_ns[i] is the i-th stage of the chain's kind, so a wait chain uses
 * three of the four entries; total_ns is their sum. */
struct intr_chain_event {
	__u32 tid;
	__u32 kind;
	__u64 stage_ns[4];
	__u64 total_ns;
};

#endif /* INTR_TRACE_H */
