// Binding glue (the one C++ file that knows Python): turns the C++ exception being handled
// into a Python exception. Cython calls raise_core_error() inside its catch (...) block, with
// the GIL held, for every core function declared `except +raise_core_error` in _cpp.pxd.
#pragma once

#include <Python.h>

#include "errors.hpp"

namespace turborle {

// The Python callable that builds the exception for bad input (turborle._core._input_error),
// set once when _core is imported.
inline PyObject*& input_error_factory() {
  static PyObject* factory = nullptr;
  return factory;
}

inline void set_input_error_factory(PyObject* factory) {
  Py_XINCREF(factory);
  Py_XSETREF(input_error_factory(), factory);
}

inline int raise_core_error() {
  const ErrorInfo e = describe_current_exception();
  if (e.type == ErrorInfo::Type::kMemory) {
    PyErr_NoMemory();
    return -1;
  }
  if (e.type != ErrorInfo::Type::kInput || input_error_factory() == nullptr) {
    PyErr_SetString(e.type == ErrorInfo::Type::kOther ? PyExc_RuntimeError : PyExc_ValueError,
                    e.message.c_str());
    return -1;
  }
  const Py_ssize_t none = -1;
  const Py_ssize_t index = e.index == InputError::kNone ? none : static_cast<Py_ssize_t>(e.index);
  const Py_ssize_t offset = e.offset == InputError::kNone ? none : static_cast<Py_ssize_t>(e.offset);
  PyObject* exc = PyObject_CallFunction(
      input_error_factory(), "y#y#y#nnO", e.message.data(), static_cast<Py_ssize_t>(e.message.size()),
      e.reason.data(), static_cast<Py_ssize_t>(e.reason.size()), e.item.data(),
      static_cast<Py_ssize_t>(e.item.size()), index, offset, e.too_large ? Py_True : Py_False);
  if (exc == nullptr) return -1;  // the factory raised: that exception stands
  PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(exc)), exc);
  Py_DECREF(exc);
  return -1;
}

}  // namespace turborle
