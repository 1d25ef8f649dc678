// Errors of operations on chat-template values, before the interpreter adds the template position.
#pragma once
#include <stdexcept>

namespace tsc::chat {

// A failed operation on values (Python's TypeError, ZeroDivisionError, Jinja's UndefinedError). It has no
// template position: the interpreter adds the position of the expression that raised it.
class OpError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
// A filter, test, method or function that Jinja has and tsc's subset does not.
class Unsupported : public OpError {
 public:
  using OpError::OpError;
};

}  // namespace tsc::chat
