// Schedule strings: the version 1 encoding described in format.hpp.
#include <intr/harness/format.hpp>

#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

namespace intr::harness {
namespace {

constexpr std::string_view base36_digits = "0123456789abcdefghijklmnopqrstuvwxyz";
constexpr std::uint32_t single_character_limit = 36;
constexpr char long_choice_delimiter = '.';
constexpr std::uint32_t max_repeat_per_letter = 26;
constexpr std::size_t checksum_length = 8;

bool is_scenario_character(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
         c == '/' || c == '-';
}

// Returns the base-36 value of `c`, or -1 when it is not a lowercase base-36 digit.
int base36_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'z') return c - 'a' + 10;
  return -1;
}

std::string quoted(std::string_view text) {
  constexpr std::size_t shown = 80;
  if (text.size() <= shown) return "'" + std::string(text) + "'";
  return "'" + std::string(text.substr(0, shown)) + "...' (" + std::to_string(text.size()) + " characters)";
}

// Describes a character for an error message, printable or not.
std::string describe_character(char c) {
  auto byte = static_cast<unsigned char>(c);
  if (byte >= 0x20 && byte < 0x7f) return std::string("'") + c + "'";
  constexpr std::string_view hex = "0123456789abcdef";
  return std::string("byte 0x") + hex[byte >> 4] + hex[byte & 0xf];
}

std::string checksum_of(std::string_view text) {
  uLong crc = crc32(0L, Z_NULL, 0);
  // zlib takes the length as uInt; schedule strings are far below 4 GiB, but
  // feed it in pieces so that no length is ever truncated.
  const auto* bytes = reinterpret_cast<const Bytef*>(text.data());
  std::size_t left = text.size();
  while (left > 0) {
    uInt piece = left > std::numeric_limits<uInt>::max() ? std::numeric_limits<uInt>::max() : static_cast<uInt>(left);
    crc = crc32(crc, bytes, piece);
    bytes += piece;
    left -= piece;
  }
  constexpr std::string_view hex = "0123456789abcdef";
  std::string digits(checksum_length, '0');
  for (std::size_t i = 0; i < checksum_length; ++i) {
    digits[checksum_length - 1 - i] = hex[(crc >> (4 * i)) & 0xf];
  }
  return digits;
}

void check_scenario_name(std::string_view name, std::string_view source) {
  if (name.empty()) {
    throw FormatError(std::string(source) + ": the scenario name is empty; give the name of the scenario that the schedule replays");
  }
  if (name.size() > max_scenario_name_length) {
    throw FormatError(std::string(source) + ": the scenario name " + quoted(name) + " is longer than " +
                      std::to_string(max_scenario_name_length) + " characters; use a shorter name");
  }
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (!is_scenario_character(name[i])) {
      throw FormatError(std::string(source) + ": the scenario name " + quoted(name) + " contains the invalid character " +
                        describe_character(name[i]) + " at position " + std::to_string(i) +
                        "; use only letters, digits, '_', '.', '/' and '-'");
    }
  }
}

void append_base36(std::string& out, std::uint32_t value) {
  char digits[8];
  std::size_t count = 0;
  do {
    digits[count++] = base36_digits[value % 36];
    value /= 36;
  } while (value > 0);
  while (count > 0) out.push_back(digits[--count]);
}

void append_choice(std::string& out, std::uint32_t value) {
  if (value < single_character_limit) {
    out.push_back(base36_digits[value]);
    return;
  }
  out.push_back(long_choice_delimiter);
  append_base36(out, value);
  out.push_back(long_choice_delimiter);
}

// Appends repeat letters for `extra` further copies of the previous choice.
void append_repeats(std::string& out, std::size_t extra) {
  while (extra > 0) {
    std::size_t step = extra < max_repeat_per_letter ? extra : max_repeat_per_letter;
    out.push_back(static_cast<char>('A' + step - 1));
    extra -= step;
  }
}

std::string encode_choices(const std::vector<std::uint32_t>& choices) {
  std::string out;
  std::size_t i = 0;
  while (i < choices.size()) {
    std::size_t run = 1;
    while (i + run < choices.size() && choices[i + run] == choices[i]) ++run;
    append_choice(out, choices[i]);
    append_repeats(out, run - 1);
    i += run;
  }
  return out;
}

// Parses the choices field; `offset` is its position in the whole string,
// for error messages.
class ChoiceParser {
 public:
  ChoiceParser(std::string_view text, std::size_t offset) : text_(text), offset_(offset) {}

  std::vector<std::uint32_t> parse() {
    std::vector<std::uint32_t> choices;
    while (position_ < text_.size()) {
      char c = text_[position_];
      if (c >= 'A' && c <= 'Z') {
        repeat(choices, c);
      } else if (c == long_choice_delimiter) {
        choices.push_back(long_choice());
      } else if (base36_value(c) >= 0) {
        choices.push_back(static_cast<std::uint32_t>(base36_value(c)));
        ++position_;
      } else {
        fail("invalid character " + describe_character(c) + " in the choices",
             "choices use only [0-9a-z], '.' and [A-Z]; copy the schedule again");
      }
    }
    return choices;
  }

 private:
  [[noreturn]] void fail(const std::string& what, std::string_view fix) const {
    throw FormatError("schedule: " + what + " at position " + std::to_string(offset_ + position_) + "; " +
                      std::string(fix));
  }

  void repeat(std::vector<std::uint32_t>& choices, char letter) {
    if (choices.empty()) {
      fail(std::string("repeat letter '") + letter + "' has no choice before it",
           "a repeat letter must follow a choice; copy the schedule again");
    }
    std::uint32_t value = choices.back();
    choices.insert(choices.end(), static_cast<std::size_t>(letter - 'A') + 1, value);
    ++position_;
  }

  std::uint32_t long_choice() {
    std::size_t start = position_;
    ++position_;
    std::uint64_t value = 0;
    std::size_t digits = 0;
    while (position_ < text_.size() && text_[position_] != long_choice_delimiter) {
      int digit = base36_value(text_[position_]);
      if (digit < 0) {
        fail("invalid character " + describe_character(text_[position_]) + " in a long choice",
             "a long choice is base-36 digits [0-9a-z] between two dots");
      }
      if (digits == 0 && digit == 0) fail("a long choice with a leading zero", "write choices below 36 as one character");
      value = value * 36 + static_cast<std::uint64_t>(digit);
      ++digits;
      if (value > std::numeric_limits<std::uint32_t>::max()) {
        position_ = start;
        fail("a choice above 4294967295", "choices are 32-bit; copy the schedule again");
      }
      ++position_;
    }
    if (position_ >= text_.size()) {
      position_ = start;
      fail("an unterminated long choice", "a long choice ends with a second '.'; copy the whole schedule");
    }
    if (digits == 0) fail("an empty long choice '..'", "put base-36 digits between the dots");
    if (value < single_character_limit) {
      position_ = start;
      fail("a long choice below 36", "write choices below 36 as one character");
    }
    ++position_;
    return static_cast<std::uint32_t>(value);
  }

  std::string_view text_;
  std::size_t offset_;
  std::size_t position_ = 0;
};

std::string_view trim(std::string_view text) {
  constexpr std::string_view spaces = " \t\r\n";
  std::size_t first = text.find_first_not_of(spaces);
  if (first == std::string_view::npos) return {};
  std::size_t last = text.find_last_not_of(spaces);
  return text.substr(first, last - first + 1);
}

void check_version(std::string_view text) {
  constexpr std::string_view fix = "pass the whole schedule string that `intr check` printed";
  if (text.substr(0, 4) != "intr") {
    throw FormatError("schedule " + quoted(text) + " does not start with '" + std::string(schedule_prefix) + "'; " +
                      std::string(fix));
  }
  std::size_t colon = text.find(':');
  if (colon == std::string_view::npos) {
    throw FormatError("schedule " + quoted(text) + " has no ':' after its version; " + std::string(fix));
  }
  std::string_view version = text.substr(4, colon - 4);
  if (version != "1") {
    throw FormatError("schedule version " + quoted(version) +
                      " is not supported; this build reads version '1' only, so replay it with the intr "
                      "version that printed it");
  }
}

}  // namespace

std::string encode_schedule(const Schedule& schedule) {
  check_scenario_name(schedule.scenario, "encode_schedule");
  std::string text(schedule_prefix);
  text += schedule.scenario;
  text += ':';
  text += encode_choices(schedule.choices);
  std::string checksum = checksum_of(text);
  text += ':';
  text += checksum;
  return text;
}

Schedule decode_schedule(std::string_view input) {
  std::string_view text = trim(input);
  if (text.empty()) {
    throw FormatError("schedule is empty; pass the whole schedule string that `intr check` printed");
  }
  check_version(text);

  std::size_t scenario_start = schedule_prefix.size();
  std::size_t scenario_end = text.find(':', scenario_start);
  std::size_t checksum_colon = text.rfind(':');
  if (scenario_end == std::string_view::npos || scenario_end == checksum_colon) {
    throw FormatError("schedule " + quoted(text) +
                      " has too few fields; it must read intr1:<scenario>:<choices>:<checksum>, so copy all of it");
  }
  std::string_view checksum = text.substr(checksum_colon + 1);
  std::string_view body = text.substr(0, checksum_colon);
  std::string expected = checksum_of(body);
  if (checksum != expected) {
    throw FormatError("schedule checksum " + quoted(checksum) + " does not match the text before it (expected '" +
                      expected + "'); the string was mistyped or cut short, so copy it again");
  }

  Schedule schedule;
  schedule.scenario = std::string(text.substr(scenario_start, scenario_end - scenario_start));
  check_scenario_name(schedule.scenario, "schedule");
  std::size_t choices_start = scenario_end + 1;
  std::string_view choices = text.substr(choices_start, checksum_colon - choices_start);
  if (choices.find(':') != std::string_view::npos) {
    throw FormatError("schedule " + quoted(text) +
                      " has too many ':' separators; it must read intr1:<scenario>:<choices>:<checksum>");
  }
  schedule.choices = ChoiceParser(choices, choices_start).parse();
  return schedule;
}

}  // namespace intr::harness
