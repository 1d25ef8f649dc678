// The op families: each compiler/ir/ops/<family>.cpp defines one of these and registers its ops in it.
#pragma once
#include "compiler/ir/ops/op_registry.h"

namespace tsc::ops {

void add_elementwise_ops(OpTable& t);    // unary math, activations, casts, Not/IsNaN/IsInf, Identity, Dropout
void add_binary_ops(OpTable& t);         // broadcast arithmetic and comparison, Where, variadic Max/Min/Sum
void add_shape_ops(OpTable& t);          // Shape, Size, Reshape, Flatten, (Un)Squeeze, Transpose, Expand, Tile, ConstantOfShape, Range
void add_indexing_ops(OpTable& t);       // Gather*, Scatter*, Slice, Concat, Split, Pad, Trilu
void add_reduction_ops(OpTable& t);      // Reduce*, CumSum, Softmax, ArgMax/ArgMin, TopK
void add_matmul_ops(OpTable& t);         // MatMul, MatMulInteger, Gemm, Einsum
void add_normalization_ops(OpTable& t);  // LayerNormalization, RMSNormalization and the com.microsoft (Skip)LayerNorms
void add_quantization_ops(OpTable& t);   // MatMulNBits, DynamicQuantizeLinear, DequantizeLinear (attributes checked, never folded)
void add_microsoft_ops(OpTable& t);      // com.microsoft activations (FastGelu, BiasGelu, Gelu, QuickGelu)
void add_ms_attention_ops(OpTable& t);  // com.microsoft GroupQueryAttention, RotaryEmbedding (onnxruntime-genai)
void add_tsc_ops(OpTable& t);            // tsc's canonical ops, written by the simplify passes

}  // namespace tsc::ops
