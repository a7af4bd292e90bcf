#include "memory.hpp"

namespace intr::harness::engine {

void Memory::reset() {
  count_ = 0;
  next_serial_ = 0;
  error_ = MemoryError::none;
  for (View& view : views_) view = View{};
  sc_view_ = View{};
}

int Memory::create(Value initial, Value mask) {
  if (count_ == max_locations) {
    error_ = MemoryError::too_many_locations;
    return -1;
  }
  Location& location = locations_[count_];
  location.count = 1;
  location.mask = mask;
  Message& init = location.messages[0];
  init = Message{};
  init.value = initial & mask;
  init.serial = next_serial_++;
  // Every thread's view already points at position 0 of a new location,
  // because views start at zero and a location is never reused within an
  // execution.
  return static_cast<int>(count_++);
}

void Memory::acquire_sc(std::size_t thread, std::memory_order order) {
  if (order == std::memory_order_seq_cst) views_[thread].join(sc_view_, count_);
}

void Memory::release_sc(std::size_t thread, std::memory_order order) {
  if (order == std::memory_order_seq_cst) sc_view_.join(views_[thread], count_);
}

Read Memory::load(std::size_t thread, std::uint32_t location, std::memory_order order, ValueChooser& chooser) {
  acquire_sc(thread, order);
  View& view = views_[thread];
  const Location& loc = locations_[location];
  std::uint16_t oldest = view.position[location];
  std::uint16_t newest = static_cast<std::uint16_t>(loc.count - 1);
  std::uint16_t position = newest;
  if (newest > oldest) {
    // Alternative 0 reads the newest message, so the first execution that
    // the explorer runs is the sequentially consistent one.
    position = static_cast<std::uint16_t>(newest - chooser.choose(static_cast<std::uint32_t>(newest - oldest + 1)));
  }
  const Message& message = loc.messages[position];
  view.position[location] = position;
  if (is_acquire(order) && message.has_view) view.join(message.view, count_);
  return {message.value, message.serial};
}

Read Memory::read_last(std::size_t thread, std::uint32_t location, std::memory_order order) {
  acquire_sc(thread, order);
  View& view = views_[thread];
  const Location& loc = locations_[location];
  std::uint16_t position = static_cast<std::uint16_t>(loc.count - 1);
  const Message& message = loc.messages[position];
  view.position[location] = position;
  if (is_acquire(order) && message.has_view) view.join(message.view, count_);
  return {message.value, message.serial};
}

void Memory::append_rmw(std::size_t thread, std::uint32_t location, Value value, std::memory_order order) {
  Location& loc = locations_[location];
  if (loc.count == max_messages) {
    error_ = MemoryError::too_many_messages;
    return;
  }
  Message& previous = loc.messages[loc.count - 1];
  View& view = views_[thread];
  std::uint16_t position = loc.count;
  view.position[location] = position;

  Message message;
  message.value = value;
  message.serial = next_serial_++;
  message.thread = static_cast<std::int8_t>(thread);
  message.rmw = true;
  // The RMW carries its own view when it releases, and in any case the view
  // of the message it read: it continues that message's release sequence.
  if (is_release(order)) {
    message.has_view = true;
    message.view = view;
  }
  if (previous.has_view) {
    if (!message.has_view) {
      message.has_view = true;
      message.view = View{};
      message.view.position[location] = position;
    }
    message.view.join(previous.view, count_);
  }
  previous.read_by_rmw = true;
  loc.messages[position] = message;
  loc.count = static_cast<std::uint16_t>(position + 1);
  release_sc(thread, order);
}

Read Memory::compare_exchange(std::size_t thread, std::uint32_t location, Value expected, Value desired,
                              std::memory_order success, std::memory_order failure, ValueChooser& chooser,
                              bool& exchanged) {
  const Location& loc = locations_[location];
  // The compare-and-swap may read the last message when that message equals
  // `expected` (then it writes), and every visible message that differs
  // (then it fails and is a load with the failure order).
  std::memory_order read_order = success == std::memory_order_seq_cst ? success : failure;
  acquire_sc(thread, read_order);
  View& view = views_[thread];
  std::uint16_t oldest = view.position[location];
  std::uint16_t newest = static_cast<std::uint16_t>(loc.count - 1);
  auto readable = [&](std::uint16_t position) {
    // An RMW reads only the last message, so an older equal one is not
    // readable: reading it would have to succeed.
    return position == newest || loc.messages[position].value != (expected & loc.mask);
  };
  std::uint32_t alternatives = 0;
  for (std::uint16_t position = oldest; position <= newest; ++position) alternatives += readable(position) ? 1 : 0;
  std::uint32_t pick = alternatives > 1 ? chooser.choose(alternatives) : 0;
  // Alternative 0 is the newest message, then older ones.
  std::uint16_t position = newest;
  for (;; --position) {
    if (!readable(position)) continue;
    if (pick == 0) break;
    --pick;
  }
  exchanged = loc.messages[position].value == (expected & loc.mask);
  if (exchanged) {
    Read read = read_last(thread, location, success);
    append_rmw(thread, location, desired & loc.mask, success);
    return read;
  }
  const Message& message = loc.messages[position];
  view.position[location] = position;
  if (is_acquire(failure) && message.has_view) view.join(message.view, count_);
  return {message.value, message.serial};
}

std::uint16_t Memory::choose_store_position(std::size_t thread, std::uint32_t location, std::memory_order order,
                                            ValueChooser& chooser) {
  const Location& loc = locations_[location];
  std::uint16_t end = loc.count;
  if (order == std::memory_order_seq_cst) return end;
  // Slots from the end backwards: a slot p means "before the message now at
  // p". The store must follow its thread's view of the location, and must
  // not split an RMW from the message it read.
  std::array<std::uint16_t, max_messages + 1> slots;
  std::uint32_t count = 0;
  slots[count++] = end;
  for (std::uint16_t position = static_cast<std::uint16_t>(end - 1); position > views_[thread].position[location];
       --position) {
    if (loc.messages[position].rmw) continue;
    slots[count++] = position;
  }
  if (count == 1) return end;
  return slots[chooser.choose(count)];
}

bool Memory::insert(std::uint32_t location, std::uint16_t position, const Message& message) {
  Location& loc = locations_[location];
  if (loc.count == max_messages) {
    error_ = MemoryError::too_many_messages;
    return false;
  }
  if (position < loc.count) {
    for (std::uint16_t i = loc.count; i > position; --i) loc.messages[i] = loc.messages[i - 1];
    // Every view that points at or after the slot moves with its message.
    for (View& view : views_) {
      if (view.position[location] >= position) ++view.position[location];
    }
    if (sc_view_.position[location] >= position) ++sc_view_.position[location];
    for (std::size_t l = 0; l < count_; ++l) {
      Location& other = locations_[l];
      for (std::uint16_t m = 0; m < other.count + (l == location ? 1 : 0); ++m) {
        Message& shifted = other.messages[m];
        if (shifted.has_view && shifted.view.position[location] >= position) ++shifted.view.position[location];
      }
    }
  }
  loc.messages[position] = message;
  ++loc.count;
  return true;
}

std::uint32_t Memory::store(std::size_t thread, std::uint32_t location, Value value, std::memory_order order,
                            ValueChooser& chooser) {
  // A seq_cst store publishes into the SC view but reads nothing from it:
  // C++ lets a later non-seq_cst load of the same thread read older values.
  std::uint16_t position = choose_store_position(thread, location, order, chooser);
  View& view = views_[thread];
  Message message;
  message.value = value & locations_[location].mask;
  message.serial = next_serial_++;
  message.thread = static_cast<std::int8_t>(thread);
  if (!insert(location, position, message)) return message.serial;
  view.position[location] = position;
  if (is_release(order)) {
    Message& stored = locations_[location].messages[position];
    stored.has_view = true;
    stored.view = view;
  }
  release_sc(thread, order);
  return message.serial;
}

void Memory::store_outside_threads(std::uint32_t location, Value value) {
  Location& loc = locations_[location];
  if (loc.count == max_messages) {
    error_ = MemoryError::too_many_messages;
    return;
  }
  Message message;
  message.value = value & loc.mask;
  message.serial = next_serial_++;
  loc.messages[loc.count++] = message;
  // Setup code happens before every logical thread, and final checks after
  // all of them, so no thread can read an older message.
  std::uint16_t position = static_cast<std::uint16_t>(loc.count - 1);
  for (View& view : views_) view.position[location] = position;
  sc_view_.position[location] = position;
}

}  // namespace intr::harness::engine
