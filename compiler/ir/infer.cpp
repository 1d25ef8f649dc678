// Type/shape inference and constant folding over the graph: a driver over the op registry's infer and eval
// functions (compiler/ir/ops/*.cpp), plus topological sort and dead-code removal.
#include "compiler/ir/infer.h"

#include <algorithm>
#include <functional>
#include <unordered_map>
#include <unordered_set>

#include "compiler/ir/eval.h"
#include "compiler/ir/ops/infer_ctx.h"
#include "compiler/ir/ops/op_registry.h"
#include "contract/error.h"

namespace tsc {
namespace {

class Inferer {
 public:
  Inferer(Graph& g, const InferOptions& o) : g_(g), opt_(o), ctx_(g) {}

  InferStats run() {
    for (auto& [name, t] : g_.constants) remember_const(name, t);
    std::vector<std::unique_ptr<Node>> kept;
    for (auto& np : g_.nodes) {
      Node& n = *np;
      try {
        if (try_fold(n)) { ++stats_.folded; continue; }
        infer_node(n);
      } catch (const SymOverflow& e) {
        InferCtx::fail(n, e.what());  // shape arithmetic past int64: name the node it came from
      }
      // Outputs fully known symbolically become constants (e.g. Shape of a static tensor).
      bool all_const = !n.outputs.empty();
      for (auto& o : n.outputs) {
        auto it = g_.sym_values.find(o);
        if (o.empty() || it == g_.sym_values.end()) { all_const = false; break; }
        for (auto& e : it->second) if (!e.is_const()) { all_const = false; break; }
      }
      if (all_const && n.domain.empty()) {
        for (auto& o : n.outputs) materialize(o);
        ++stats_.folded;
        continue;
      }
      for (auto& o : n.outputs) {
        if (o.empty()) continue;
        auto* t = g_.type(o);
        if (!t || !t->shape) ++stats_.unknown;
        if (g_.sym_values.count(o)) ++stats_.symbolic;
      }
      kept.push_back(std::move(np));
    }
    g_.nodes = std::move(kept);
    return stats_;
  }

 private:
  Graph& g_;
  InferOptions opt_;
  InferStats stats_;
  std::unordered_set<std::string> weights_;  // large initializers
  InferCtx ctx_;

  void remember_const(const std::string& name, const Tensor& t) {
    if (t.numel() > opt_.weight_threshold) weights_.insert(name);
    if (!dtype_is_float(t.dtype) && t.shape.size() <= 1 && static_cast<size_t>(t.numel()) <= kMaxSymElems) {
      SymVec v;
      for (int64_t i = 0; i < t.numel(); ++i) v.push_back(SymExpr(t.i64(i)));
      g_.sym_values[name] = v;
    }
  }

  void materialize(const std::string& o) {
    auto& sv = g_.sym_values[o];
    const ValueType* t = g_.type(o);
    std::vector<int64_t> shape;
    if (t && t->shape && t->shape->size() <= 1) {
      for (auto& d : *t->shape) shape.push_back(d.as_const().value_or(static_cast<int64_t>(sv.size())));
    } else {
      shape = {static_cast<int64_t>(sv.size())};
    }
    std::vector<int64_t> vals;
    for (auto& e : sv) vals.push_back(*e.as_const());
    Tensor c = Tensor::from_i64(vals, shape);
    DType dt = t && t->dtype != DType::kUndefined ? t->dtype : DType::kI64;
    if (dt != DType::kI64) {
      Tensor d = Tensor::alloc(dt, shape);
      for (size_t i = 0; i < vals.size(); ++i) d.set_f64(static_cast<int64_t>(i), static_cast<double>(vals[i]));
      c = d;
    }
    g_.constants[o] = c;
  }

  bool try_fold(Node& n) {
    if (!is_evaluable(n)) return false;
    std::vector<const Tensor*> in;
    for (auto& i : n.inputs) {
      if (i.empty()) { in.push_back(nullptr); continue; }
      const Tensor* c = g_.constant(i);
      // Shape/Size only need the input's shape.
      if (!c && (n.op == "Shape" || n.op == "Size")) return false;
      if (!c) return false;
      if (weights_.count(i) && n.op != "Shape" && n.op != "Size") return false;
      // A matrix initializer seen through a Transpose/Cast/Identity stays that node's operand whatever its size:
      // fuse-linear binds through them (Pat::weight), and bindings must name the file's initializer, not a
      // folded copy (a tied LM head Transpose(wte) of a small table became a constant no file holds).
      if (g_.initializers.count(i) && c->shape.size() == 2 && dtype_is_float(c->dtype) &&
          (n.is("Transpose") || n.is("Cast") || n.is("Identity")))
        return false;
      if (c->numel() > opt_.fold_limit) return false;
      in.push_back(c);
    }
    // Range, ConstantOfShape, Expand, Tile, MatMul and broadcasts make big outputs from small inputs: the
    // output size is checked from the inputs' shapes and size values before anything is evaluated.
    if (auto e = eval_output_elems(n, in); e && *e > opt_.fold_limit) return false;
    auto out = eval_node(n, in);
    if (!out) return false;
    for (auto& t : *out)
      if (t.numel() > opt_.fold_limit) return false;
    for (size_t k = 0; k < n.outputs.size() && k < out->size(); ++k) {
      if (n.outputs[k].empty()) continue;
      g_.constants[n.outputs[k]] = (*out)[k];
      g_.types[n.outputs[k]] = ValueType{(*out)[k].dtype, SymShape((*out)[k].shape.begin(), (*out)[k].shape.end())};
      remember_const(n.outputs[k], (*out)[k]);
    }
    return true;
  }

  // The registry's inference for n (compiler/ir/ops/*.cpp); ops it cannot type keep unknown shapes, and the
  // lifter reports them if they matter.
  void infer_node(Node& n) {
    if (const OpDef* d = find_infer_op(n)) d->infer(ctx_, n);
    else ctx_.set_unknown(n);
  }

};

}  // namespace

InferStats infer_and_fold(Graph& g, const InferOptions& opt) { return Inferer(g, opt).run(); }

void topo_sort(Graph& g) {
  std::unordered_map<std::string, size_t> producer;
  for (size_t i = 0; i < g.nodes.size(); ++i)
    for (auto& o : g.nodes[i]->outputs)
      if (!o.empty()) {
        if (producer.count(o)) throw Error("value '" + o + "' is produced by two nodes (" + g.nodes[producer[o]]->describe() + " and " + g.nodes[i]->describe() + ")", "the graph is not valid ONNX (SSA); re-export it");
        producer[o] = i;
      }
  std::unordered_set<std::string> available(g.inputs.begin(), g.inputs.end());
  for (auto& [n, t] : g.constants) available.insert(n);
  std::vector<int> state(g.nodes.size(), 0);  // 0 new, 1 visiting, 2 done
  std::vector<std::unique_ptr<Node>> order;
  std::function<void(size_t)> visit = [&](size_t i) {
    if (state[i] == 2) return;
    if (state[i] == 1) throw Error(g.nodes[i]->describe() + " is part of a cycle", "ONNX graphs must be acyclic; re-export the model");
    state[i] = 1;
    for (auto& in : g.nodes[i]->inputs) {
      if (in.empty() || available.count(in)) continue;
      auto it = producer.find(in);
      if (it == producer.end())
        throw Error(g.nodes[i]->describe() + " reads '" + in + "', which no node, input or initializer defines", "the graph is incomplete; re-export the model");
      visit(it->second);
    }
    state[i] = 2;
    order.push_back(std::move(g.nodes[i]));
  };
  // Iterative deepening would avoid recursion depth; exported graphs are a few thousand nodes deep at most.
  for (size_t i = 0; i < g.nodes.size(); ++i) if (g.nodes[i]) visit(i);
  g.nodes = std::move(order);
}

int remove_dead(Graph& g) {
  std::unordered_set<std::string> live(g.outputs.begin(), g.outputs.end());
  std::vector<bool> keep(g.nodes.size(), false);
  for (size_t i = g.nodes.size(); i-- > 0;) {
    auto& n = *g.nodes[i];
    bool used = false;
    for (auto& o : n.outputs) if (!o.empty() && live.count(o)) used = true;
    if (!used) continue;
    keep[i] = true;
    for (auto& in : n.inputs) if (!in.empty()) live.insert(in);
  }
  int removed = 0;
  std::vector<std::unique_ptr<Node>> kept;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    if (keep[i]) kept.push_back(std::move(g.nodes[i]));
    else ++removed;
  }
  g.nodes = std::move(kept);
  for (auto it = g.constants.begin(); it != g.constants.end();) it = live.count(it->first) ? std::next(it) : g.constants.erase(it);
  for (auto it = g.sym_values.begin(); it != g.sym_values.end();) it = live.count(it->first) ? std::next(it) : g.sym_values.erase(it);
  return removed;
}

}  // namespace tsc
