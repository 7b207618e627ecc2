#include "errors.hpp"

#include <new>

namespace turborle {

std::string byte_repr(unsigned char c) {
  static const char* hex = "0123456789abcdef";
  if (c >= 0x20 && c < 0x7f) return std::string("'") + char(c) + "'";
  return std::string("0x") + hex[c >> 4] + hex[c & 15];
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
