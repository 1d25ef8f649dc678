// Chat-template evaluator: runs a parsed template over a dict of variables and returns the rendered text.
#pragma once
#include <string>

#include "runtime/chat/ast.h"
#include "runtime/chat/lexer.h"

namespace tsc::chat {

// Renders `body` (parsed from `src`) with `variables` as the template's context. Errors throw tsc::Error:
// raise_exception(msg) with msg itself, everything else with the line and column of the failing expression.
std::string render(const SourceText& src, const Body& body, const Dict& variables);

}  // namespace tsc::chat
