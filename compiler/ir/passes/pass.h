// Simplification passes: pattern + predicate + rewrite over the graph IR, each in its own file.
#pragma once
#include <functional>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "compiler/ir/graph.h"

namespace tsc {

struct PassContext {
  bool verbose = false;
  std::ostream* log = nullptr;
  // Why a pattern did not match, under -v: "fuse-rmsnorm: node 'x' (Mul): eps is not a constant".
  void note(const std::string& pass, const std::string& msg) const;
};

struct Pass {
  const char* name;     // "fuse-linear"
  const char* summary;  // one line for --help / -v
  std::function<int(Graph&, const PassContext&)> run;  // returns the number of rewrites
};

// The simplification pipeline, in order (tsc --print-after-all dumps the graph after each).
const std::vector<Pass>& simplify_passes();

// Individual passes (exposed for tests).
int pass_fold(Graph& g, const PassContext& ctx);
int pass_decompose_ms_ops(Graph& g, const PassContext& ctx);
int pass_lower_gqa(Graph& g, const PassContext& ctx);
int pass_fold_io_casts(Graph& g, const PassContext& ctx);
int pass_fuse_linear(Graph& g, const PassContext& ctx);
int pass_dequantize_tables(Graph& g, const PassContext& ctx);
int pass_fuse_quantized_linear(Graph& g, const PassContext& ctx);
int pass_unflatten_linear(Graph& g, const PassContext& ctx);
int pass_div_to_reciprocal(Graph& g, const PassContext& ctx);
int pass_fuse_layernorm(Graph& g, const PassContext& ctx);
int pass_fuse_rmsnorm(Graph& g, const PassContext& ctx);
int pass_fuse_activation(Graph& g, const PassContext& ctx);
int pass_fuse_head_norm(Graph& g, const PassContext& ctx);
int pass_fuse_rope(Graph& g, const PassContext& ctx);
int pass_fuse_attention(Graph& g, const PassContext& ctx);
int pass_drop_identity(Graph& g, const PassContext& ctx);
int pass_dead_code(Graph& g, const PassContext& ctx);

// Helpers shared by the passes.
Attribute int_attr(int64_t v);
Attribute float_attr(float v);
Attribute string_attr(const std::string& v);
// A new node op (domain) from inputs to outputs, named name: what a pass splices in where it rewrites.
std::unique_ptr<Node> make_node(const std::string& op, const std::string& domain, std::vector<std::string> inputs,
                                std::vector<std::string> outputs, const std::string& name);
class Pat {
 public:
  explicit Pat(Graph& g) : g(g), ud(g) {}
  void refresh() { ud = UseDef(g); }
  Node* def(const std::string& v) const { return v.empty() ? nullptr : ud.producer(v); }
  Node* def(const std::string& v, const char* op) const {
    Node* n = def(v);
    return n && n->is(op) ? n : nullptr;
  }
  // Constant with exactly one element, as double.
  std::optional<double> scalar(const std::string& v) const;
  // Follows Cast and Identity producers back to their source.
  std::string skip_casts(std::string v) const;
  // For binary node n, if input `a` is v (after skip_casts), return the other input; else "".
  std::string other_input(const Node& n, const std::string& v) const;
  // Resolves a weight operand through Transpose/Cast/Identity to an initializer. Returns the
  // initializer name and whether an odd number of transposes was crossed.
  std::optional<std::pair<std::string, bool>> weight(const std::string& v) const;
  size_t uses(const std::string& v) const { return ud.use_count(v); }
  // Consumers that read v's data (Shape/Size only read its shape and die once shapes are folded).
  std::vector<Node*> data_consumers(const std::string& v) const;

  Graph& g;
  UseDef ud;
};

}  // namespace tsc
