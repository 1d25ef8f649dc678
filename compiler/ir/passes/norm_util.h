// Shared matching for the normalization passes: reductions over the last axis and per-channel affine params.
#pragma once
#include "compiler/ir/passes/pass.h"

namespace tsc {

// True when n reduces exactly the last axis of its input with keepdims.
bool reduces_last_axis(const Graph& g, const Node& n);

// Follows single-use Cast nodes forward from v; returns the value after the last cast.
std::string skip_casts_forward(const Pat& p, std::string v);

// If v's only consumer is Mul(v, c) with c a constant of `channels` elements, returns that Mul.
Node* scale_consumer(const Pat& p, const std::string& v, int64_t channels, std::string* param);
// If v's only consumer is Add(v, c) with c a constant of `channels` elements, returns that Add.
Node* shift_consumer(const Pat& p, const std::string& v, int64_t channels, std::string* param);

// s = Sqrt(Add(ReduceMean(Pow(d, 2) | Mul(d, d)), eps)) over the last axis, eps on either side of the Add;
// returns (d, eps). Both normalizations take their statistic this way (RMSNorm of x, LayerNorm of x - mean).
std::optional<std::pair<std::string, double>> sqrt_mean_square(const Pat& p, const std::string& s);

}  // namespace tsc
