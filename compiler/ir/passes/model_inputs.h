// Roles of a decoder graph's inputs (token ids, attention mask, position ids, past KV) and concrete
// example values for probing the graph's position-dependent subgraphs.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "compiler/ir/graph.h"

namespace tsc {

struct ModelInputs {
  std::string input_ids, attention_mask, position_ids;
  std::vector<std::string> past;  // float rank-4 inputs [batch, kv_heads, past_len, head_dim]
  std::vector<std::string> other;
};

// input_ids is found by structure (indices of a Gather into a 2-D float table); attention_mask and
// position_ids by HF's input names, the API contract of every exporter; past tensors by rank and type.
ModelInputs classify_inputs(const Graph& g);

// Concrete inputs for batch 1, `tokens` new tokens after `past_len` cached ones: ids 0, mask 1,
// positions past_len.., past tensors zero. Symbolic dims are bound consistently across inputs.
std::map<std::string, Tensor> probe_inputs(const Graph& g, const ModelInputs& mi, int64_t tokens, int64_t past_len);

}  // namespace tsc
