// Errors the HTTP API answers with: a status and OpenAI's error object (message, type, param, code),
// plus tsc's hint of what to do.
#pragma once
#include <nlohmann/json.hpp>

#include <string>

namespace tsc {

struct ApiError {
  int status = 400;
  std::string message;
  std::string param;  // the request field at fault, empty if none
  std::string hint;
  std::string code;   // OpenAI's machine-readable code, e.g. "context_length_exceeded"; empty = null
};

inline ApiError bad_request(std::string message, std::string param, std::string hint, std::string code = {}) {
  return ApiError{400, std::move(message), std::move(param), std::move(hint), std::move(code)};
}

// {"error": {"message", "type", "param", "code", "hint"}}; type as OpenAI's: invalid_request_error for 4xx.
inline nlohmann::json error_body(const ApiError& e) {
  const char* type = e.status >= 500 ? "server_error" : "invalid_request_error";
  nlohmann::json err = {{"message", e.message}, {"type", type}, {"param", nullptr}, {"code", nullptr}};
  if (!e.param.empty()) err["param"] = e.param;
  if (!e.code.empty()) err["code"] = e.code;
  if (!e.hint.empty()) err["hint"] = e.hint;
  return {{"error", err}};
}

}  // namespace tsc
