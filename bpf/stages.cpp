// The names and descriptions of the stages, as the reports print them.
#include "tracer.hpp"

#include <linux/types.h>

#include "intr_trace.h"

namespace intr::trace {

static_assert(log2_bucket_count == INTR_TRACE_SLOTS);
static_assert(stage_count == INTR_STAGE_COUNT);
static_assert(static_cast<int>(Stage::wait_total) == INTR_STAGE_WAIT_TOTAL);
static_assert(static_cast<int>(Stage::wake_to_wakeup) == INTR_STAGE_WAKE_TO_WAKEUP);

namespace {

constexpr std::array<StageInfo, stage_count> stage_table{{
    {Stage::request_to_generate, "request_to_generate", "interrupt() called to signal generated", true},
    {Stage::generate_to_deliver, "generate_to_deliver", "signal generated to delivered in the target", true},
    {Stage::deliver_to_handler, "deliver_to_handler", "signal delivered to intr's handler entered", true},
    {Stage::handler_to_host, "handler_to_host", "handler entered to guest back in host code", true},
    {Stage::guest_total, "guest_total", "interrupt() called to guest back in host code", true},
    {Stage::wake_to_wakeup, "wake_to_wakeup", "interrupt() or wake() called to scheduler wake-up", false},
    {Stage::wakeup_to_running, "wakeup_to_running", "scheduler wake-up to waiter running", false},
    {Stage::running_to_return, "running_to_return", "waiter running to wait returned", false},
    {Stage::wait_total, "wait_total", "interrupt() or wake() called to wait returned", false},
}};

}  // namespace

const std::array<StageInfo, stage_count>& all_stages() { return stage_table; }

const StageInfo& stage_info(Stage stage) { return stage_table[static_cast<std::size_t>(stage)]; }

std::optional<Stage> parse_stage(std::string_view name) {
  for (const StageInfo& info : stage_table) {
    if (info.name == name) return info.stage;
  }
  return std::nullopt;
}

}  // namespace intr::trace
