// Chat-template parser: tokens -> statement tree, following jinja2/parser.py's grammar and precedence.
#pragma once
#include "runtime/chat/ast.h"
#include "runtime/chat/lexer.h"

namespace tsc::chat {

// Parses the whole template. Syntax errors, and tags outside tsc's subset (extends, block, include, import,
// from, call, autoescape, recursive loops), throw tsc::Error naming the construct and its line and column.
Body parse(const SourceText& src);

// Rejects filters and tests outside the subset (and unknown ones) wherever Jinja would reject an unknown
// name at compile time; inside if statements and conditional expressions they fail only when rendered.
void check_names(const SourceText& src, const Body& body);

}  // namespace tsc::chat
