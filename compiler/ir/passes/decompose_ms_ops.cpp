// decompose-ms-ops: com.microsoft fused ops from onnxruntime's transformer optimizer -> standard ops
// that the other passes canonicalize (one pattern language for every exporter).
//   SkipLayerNormalization(x, skip, gamma, beta?, bias?) -> s = x + skip (+ bias); LayerNormalization(s)
//   SkipSimplifiedLayerNormalization -> same with tsc.RMSNorm;  SimplifiedLayerNormalization (either domain) -> tsc.RMSNorm
//   FastGelu(x, bias?) -> tsc.Gelu<approximate=tanh>;  BiasGelu(x, bias) / Gelu -> tsc.Gelu<none>
#include "compiler/ir/passes/pass.h"
#include "contract/error.h"

namespace tsc {
int pass_decompose_ms_ops(Graph& g, const PassContext&) {
  int rewrites = 0;
  std::vector<std::unique_ptr<Node>> out;
  for (auto& np : g.nodes) {
    Node& n = *np;
    const bool ms = n.domain == "com.microsoft";
    const bool skip_ln = ms && (n.op == "SkipLayerNormalization" || n.op == "SkipSimplifiedLayerNormalization");
    if (skip_ln) {
      if (n.inputs.size() < 3) throw Error(n.describe() + " has fewer than 3 inputs", "the graph is malformed; re-run the optimizer");
      const bool rms = n.op == "SkipSimplifiedLayerNormalization";
      // Output 3 (input + skip + bias) is the residual stream; keep its name when used.
      std::string sum = n.outputs.size() > 3 && !n.outputs[3].empty() ? n.outputs[3] : g.fresh_name(n.name + "_sum");
      // The bias belongs to the projection feeding `input` (fuse-linear folds it into that Linear),
      // so it is added to input before the residual add: s = (input + bias) + skip.
      std::string x = n.inputs[0];
      const std::string bias = rms ? n.input(3) : n.input(4);
      if (!bias.empty()) {
        x = g.fresh_name(n.name + "_biased");
        out.push_back(make_node("Add", "", {n.inputs[0], bias}, {x}, n.name + "/bias"));
      }
      out.push_back(make_node("Add", "", {x, n.inputs[1]}, {sum}, n.name + "/add"));
      std::vector<std::string> ln_in = {sum, n.inputs[2]};
      if (!rms && !n.input(3).empty()) ln_in.push_back(n.input(3));
      auto ln = make_node(rms ? "RMSNorm" : "LayerNorm", "tsc", ln_in, {n.outputs[0]}, n.name);
      ln->attrs["epsilon"] = float_attr(n.attr_f("epsilon", 1e-12f));
      out.push_back(std::move(ln));
      ++rewrites;
      continue;
    }
    // onnxruntime-genai's builder writes SimplifiedLayerNormalization in the ONNX domain (onnxruntime registers both).
    if ((ms || n.is("SimplifiedLayerNormalization")) && n.op == "SimplifiedLayerNormalization") {
      auto ln = make_node("RMSNorm", "tsc", {n.inputs[0], n.input(1)}, {n.outputs[0]}, n.name);
      ln->attrs["epsilon"] = float_attr(n.attr_f("epsilon", 1e-5f));
      out.push_back(std::move(ln));
      ++rewrites;
      continue;
    }
    if (ms && (n.op == "FastGelu" || n.op == "BiasGelu" || n.op == "Gelu")) {
      std::string x = n.inputs[0];
      if (n.inputs.size() > 1 && !n.inputs[1].empty()) {
        x = g.fresh_name(n.name + "_biased");
        out.push_back(make_node("Add", "", {n.inputs[0], n.inputs[1]}, {x}, n.name + "/bias"));
      }
      auto ge = make_node("Gelu", "tsc", {x}, {n.outputs[0]}, n.name);
      ge->attrs["approximate"] = string_attr(n.op == "FastGelu" ? "tanh" : "none");
      out.push_back(std::move(ge));
      ++rewrites;
      continue;
    }
    out.push_back(std::move(np));
  }
  g.nodes = std::move(out);
  return rewrites;
}

}  // namespace tsc
