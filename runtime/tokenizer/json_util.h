// Small helpers for reading tokenizer.json components with clear errors.
#pragma once
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "contract/error.h"

namespace tsc::tok {

class Regex;

// The "type" field of a component object; `what` names the component for the error.
std::string type_of(const nlohmann::json& spec, const char* what);

// Error for a component type this runtime does not implement.
Error unsupported(const char* what, const std::string& type, const char* supported);

// {"String": s} or {"Regex": r}, as Split and Replace use.
Regex make_pattern(const nlohmann::json& pattern);

}  // namespace tsc::tok
