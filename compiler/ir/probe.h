// Numeric probing: evaluate the cone of one value for concrete graph inputs (angles of rotary tables,
// position ids, activation functions) so that the compiler learns constants from what the graph computes.
#pragma once
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "compiler/ir/graph.h"

namespace tsc {

// Evaluates `value` given concrete tensors for some values (graph inputs or any intermediate).
// Returns nullopt if the cone reaches an op eval_node cannot run, an unbound input, or more than
// max_elems elements in any intermediate. Shape and Size of a value whose inferred shape the bound tensors
// determine (bound_symbols) are taken from that shape, without evaluating the value (hidden states behind
// tsc.Linear, embedding lookups in big tables).
std::optional<Tensor> probe_value(const Graph& g, const std::string& value, const std::map<std::string, Tensor>& bound,
                                  int64_t max_elems = 1 << 22);

// Symbolic dims fixed by bound tensors: where a bound value's type has a bare symbol ("seq"), its size there.
std::map<std::string, int64_t> bound_symbols(const Graph& g, const std::map<std::string, Tensor>& bound);

// v's inferred shape for those symbols; nullopt when unknown or not determined by them.
std::optional<std::vector<int64_t>> concrete_shape(const Graph& g, const std::string& v, const std::map<std::string, int64_t>& symbols);

}  // namespace tsc
