#include "errors.hpp"

#include <new>
#include <string>

namespace turborle {

std::string byte_repr(unsigned char c) {
  static const char* hex = "0123456789abcdef";
  if (c >= 0x20 && c < 0x7f) return std::string("'") + char(c) + "'";
  return std::string("0x") + hex[c >> 4] + hex[c & 15];
}

void fail_truncated(size_t start) {
  throw InputError("counts string ends inside a value (at byte " + std::to_string(start) + ")",
                   start);
}

void fail_alphabet(unsigned char c, size_t at) {
  throw InputError("byte " + byte_repr(c) + " at offset " + std::to_string(at) +
                       " is outside the COCO alphabet '0'..'o'",
                   at);
}

void fail_value(const char* why, size_t m, size_t start, uint64_t total) {
  throw InputError(std::string(why) + " (count " + std::to_string(m) + " at byte " +
                       std::to_string(start) + ", h*w = " + std::to_string(total) + ")",
                   start);
}

void fail_sum(uint64_t sum, uint64_t h, uint64_t w) {
  throw InputError("counts sum to " + std::to_string(sum) + ", not h*w = " +
                   std::to_string(h * w) + " for size " + std::to_string(h) + "x" +
                   std::to_string(w));
}

void fail_too_long(size_t start) {
  throw InputError("value at byte " + std::to_string(start) + " is longer than 64 bits", start);
}


ErrorInfo describe_current_exception() {
  ErrorInfo info;
  try {
    throw;
  } catch (const InputError& e) {
    info.type = ErrorInfo::Type::kInput;
    info.message = e.what();
    info.reason = e.reason();
    info.item = e.item();
    info.index = e.index();
    info.offset = e.offset();
    info.too_large = e.kind() == InputError::Kind::kTooLarge;
  } catch (const std::invalid_argument& e) {
    info.type = ErrorInfo::Type::kInvalid;
    info.message = e.what();
  } catch (const std::bad_alloc&) {
    info.type = ErrorInfo::Type::kMemory;
    info.message = "out of memory";
  } catch (const std::length_error&) {  // a vector asked for more than it can hold
    info.type = ErrorInfo::Type::kMemory;
    info.message = "out of memory";
  } catch (const std::exception& e) {
    info.message = e.what();
  } catch (...) {
    info.message = "unknown C++ exception";
  }
  return info;
}

}  // namespace turborle
