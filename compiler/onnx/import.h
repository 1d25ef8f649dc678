// ONNX import: ModelProto (ONNX's own schema via protobuf) -> Graph, with external data memory-mapped.
#pragma once
#include <string>

#include "compiler/ir/graph.h"

namespace tsc {

// Reads path (and any external-data files beside it). Throws tsc::Error with a one-line message and hint
// for truncated or corrupt protobuf, missing or short external data, unsupported element types.
Graph import_onnx(const std::string& path);

}  // namespace tsc
