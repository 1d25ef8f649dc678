// The op table, built once from an explicit list of families (no static registration a linker could drop).
#include "compiler/ir/ops/op_registry.h"

#include <stdexcept>

#include "compiler/ir/ops/families.h"

namespace tsc {

void OpTable::add(OpDef def) {
  auto key = std::make_pair(def.domain, def.op);
  if (!ops_.emplace(key, std::move(def)).second)
    throw std::logic_error("op registered twice: '" + key.first + "' " + key.second);
}

const OpDef* OpTable::find(const std::string& domain, const std::string& op) const {
  auto it = ops_.find({domain, op});
  return it == ops_.end() ? nullptr : &it->second;
}

const OpTable& op_table() {
  static const OpTable t = [] {
    OpTable t;
    // A new family file adds its function here (and to compiler/CMakeLists.txt).
    ops::add_elementwise_ops(t);
    ops::add_binary_ops(t);
    ops::add_shape_ops(t);
    ops::add_indexing_ops(t);
    ops::add_reduction_ops(t);
    ops::add_matmul_ops(t);
    ops::add_normalization_ops(t);
    ops::add_quantization_ops(t);
    ops::add_microsoft_ops(t);
    ops::add_ms_attention_ops(t);
    ops::add_tsc_ops(t);
    return t;
  }();
  return t;
}

const OpDef* find_op(const Node& n) { return op_table().find(n.domain, n.op); }

const OpDef* find_infer_op(const Node& n) {
  if (const OpDef* d = find_op(n); d && d->infer) return d;
  if (n.domain == "tsc") return nullptr;
  for (const char* domain : {"", "com.microsoft"})
    if (const OpDef* d = op_table().find(domain, n.op); d && d->infer) return d;
  return nullptr;
}

}  // namespace tsc
