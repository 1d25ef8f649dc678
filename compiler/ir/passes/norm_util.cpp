// Matching helpers for fuse-layernorm and fuse-rmsnorm.
#include "compiler/ir/passes/norm_util.h"

namespace tsc {

bool reduces_last_axis(const Graph& g, const Node& n) {
  if (!n.is("ReduceMean") || n.attr_i("keepdims", 1) != 1) return false;
  auto rank = g.rank(n.inputs[0]);
  if (!rank) return false;
  std::vector<int64_t> axes;
  if (n.inputs.size() > 1 && !n.inputs[1].empty()) {
    const Tensor* c = g.constant(n.inputs[1]);
    if (!c) return false;
    axes = c->to_i64();
  } else {
    axes = n.attr_ints("axes");
  }
  if (axes.size() != 1) return false;
  int64_t ax = axes[0] < 0 ? axes[0] + static_cast<int64_t>(*rank) : axes[0];
  return ax == static_cast<int64_t>(*rank) - 1;
}

std::string skip_casts_forward(const Pat& p, std::string v) {
  for (int i = 0; i < 4; ++i) {
    auto& c = p.ud.consumers(v);
    if (c.size() != 1 || !(c[0]->is("Cast") || c[0]->is("Identity")) || p.ud.is_graph_output(v)) return v;
    v = c[0]->outputs[0];
  }
  return v;
}

namespace {
Node* affine_consumer(const Pat& p, const std::string& v, int64_t channels, std::string* param, const char* op) {
  auto& c = p.ud.consumers(v);
  if (c.size() != 1 || p.ud.is_graph_output(v) || !c[0]->is(op)) return nullptr;
  std::string other = p.other_input(*c[0], v);
  if (other.empty()) return nullptr;
  const std::string src = p.skip_casts(other);
  const Tensor* t = p.g.constant(src);
  if (!t || t->numel() != channels) return nullptr;
  *param = src;
  return c[0];
}
}  // namespace

Node* scale_consumer(const Pat& p, const std::string& v, int64_t channels, std::string* param) {
  return affine_consumer(p, v, channels, param, "Mul");
}
Node* shift_consumer(const Pat& p, const std::string& v, int64_t channels, std::string* param) {
  return affine_consumer(p, v, channels, param, "Add");
}

std::optional<std::pair<std::string, double>> sqrt_mean_square(const Pat& p, const std::string& s) {
  Node* sq = p.def(s, "Sqrt");
  if (!sq) return std::nullopt;
  Node* add = p.def(sq->inputs[0], "Add");
  if (!add) return std::nullopt;
  for (int side = 0; side < 2; ++side) {
    auto eps = p.scalar(add->inputs[1 - side]);
    Node* mean = p.def(add->inputs[side], "ReduceMean");
    if (!eps || !mean || !reduces_last_axis(p.g, *mean)) continue;
    Node* pw = p.def(mean->inputs[0]);
    if (!pw) continue;
    if (pw->is("Pow") && p.scalar(pw->inputs[1]) == 2.0) return std::make_pair(pw->inputs[0], *eps);
    if (pw->is("Mul") && pw->inputs[0] == pw->inputs[1]) return std::make_pair(pw->inputs[0], *eps);
  }
  return std::nullopt;
}

}  // namespace tsc
