// Errors of the core. Bad input is an InputError (a std::invalid_argument): its message names
// the problem, and the facts a caller may need travel as fields, never only as text: which
// item of the call it concerns (mask, polygon, box) and the byte offset inside that item's
// text. The bindings turn it into turborle.RLEError (a ValueError) with those attributes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace turborle {

class InputError : public std::invalid_argument {
 public:
  static constexpr size_t kNone = SIZE_MAX;
  enum class Kind { kInvalid, kTooLarge };  // kTooLarge: over the per-mask pixel limit

  explicit InputError(const std::string& reason, size_t offset = kNone, Kind kind = Kind::kInvalid)
      : std::invalid_argument(reason), reason_(reason), offset_(offset), kind_(kind) {}

  // The same error about item `index` of the call: the message gets a "<item> <index>: "
  // prefix.
  InputError about(const char* item, size_t index) const {
    return InputError(std::string(item) + " " + std::to_string(index) + ": " + reason_, reason_,
                      item, index, offset_, kind_);
  }

  const std::string& reason() const { return reason_; }  // the message without the prefix
  const char* item() const { return item_; }             // "mask", "polygon", "box" or ""
  size_t index() const { return index_; }                // kNone when not about one item
  size_t offset() const { return offset_; }              // kNone when not about one byte
  Kind kind() const { return kind_; }

 private:
  InputError(const std::string& message, const std::string& reason, const char* item, size_t index,
             size_t offset, Kind kind)
      : std::invalid_argument(message), reason_(reason), item_(item), index_(index),
        offset_(offset), kind_(kind) {}

  std::string reason_;
  const char* item_ = "";
  size_t index_ = kNone;
  size_t offset_ = kNone;
  Kind kind_;
};

// Runs fn() and turns any invalid_argument it throws into an InputError about item `index`
// ("mask", "polygon", "box"), so an error in a batch says which item it is about.
template <class Fn>
auto naming(const char* item, size_t index, Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const InputError& e) {
    throw e.about(item, index);
  } catch (const std::invalid_argument& e) {
    throw InputError(e.what()).about(item, index);
  }
}

// A byte for an error message: 'c' when printable, else 0xNN.
std::string byte_repr(unsigned char c);

// The errors of a COCO counts string (every parser of them, CPU or GPU, words them so).
// Out of line, so that a parse loop keeps its state in registers.
[[noreturn]] void fail_truncated(size_t start);             // ends inside the value at `start`
[[noreturn]] void fail_alphabet(unsigned char c, size_t at);  // byte c at offset `at`
[[noreturn]] void fail_too_long(size_t start);              // more than 13 groups
// Count number m (at byte start) is out of range / negative / makes the sum exceed h*w.
[[noreturn]] void fail_value(const char* why, size_t m, size_t start, uint64_t total);
[[noreturn]] void fail_sum(uint64_t sum, uint64_t h, uint64_t w);  // the counts sum to `sum`

// What the bindings need to raise the right Python exception for the exception being
// handled (call only inside a catch block).
struct ErrorInfo {
  // kInput: an InputError; kInvalid: another std::invalid_argument (a bad setting, say).
  enum class Type { kInput, kInvalid, kMemory, kOther } type = Type::kOther;
  std::string message, reason, item;
  size_t index = InputError::kNone, offset = InputError::kNone;
  bool too_large = false;
};
ErrorInfo describe_current_exception();

}  // namespace turborle
