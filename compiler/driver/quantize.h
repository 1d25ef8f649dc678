// Compile-time weight quantization (tsc --weight-dtype int4|int8): a float file's projections written into the
// payload's quantized formats (contract/linear_weight.h) by the rules of onnxruntime's own quantizers, so that the
// executable computes what onnxruntime computes on the file its quantizer writes from the same float file.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "compiler/ir/graph.h"
#include "compiler/lift/bindings.h"
#include "contract/payload.h"

namespace tsc {

// int4, as MatMulNBitsQuantizer(bits=4, is_symmetric=True) (onnxruntime's MlasQuantizeBlockwise): w [rows, K] f32 ->
//   codes [rows, n_blocks, block / 2] u8 (two codes a byte, lower k in the low nibble), scales [rows, n_blocks] f32,
// n_blocks = ceil(K / block). Per block: m = the block's max if |max| > |min| else its min, scale = m / -8,
// code = clamp(roundf(w * (1 / scale) + 8), 0, 15) (scale 0: every code 8); W = (code - 8) * scale. A K that is
// not a multiple of the block gets a shorter last block, padded with code 8 (0.0), as MatMulNBits pads it.
void quantize_int4_rows(const float* w, int64_t rows, int64_t K, int64_t block, uint8_t* codes, float* scales);

// int8 per output channel, as quantize_dynamic(per_channel=True, weight_type=QInt8) (symmetric, zero point 0):
// w [rows, K] f32 -> codes [rows, K] i8, scales [rows] f32. Per row: a = max(|min(0, w)|, |max(0, w)|),
// scale = float(2a / 254) computed in double (1.0 when that is below FLT_MIN), code = clamp(rint(w / scale), -128, 127)
// with rint rounding half to even (numpy's round).
void quantize_int8_rows(const float* w, int64_t rows, int64_t K, int8_t* codes, float* scales);

// What --weight-dtype and --weight-group ask for: the spec's quantization entry (quantized_by "tsc"), recorded
// before the weights are written. bits 4 or 8; group: int4's block (a power of two of at least 16). Counts the
// projections it quantizes: every layer's, and an untied LM head (a tied one is the embedding table, which stays in
// the weight dtype, as onnxruntime's quantizers leave it). Throws tsc::Error for a file whose projections are
// already quantized, or a group that is no MatMulNBits block size.
void request_quantization(LiftResult& r, int64_t bits, int64_t group);

// What --head-dtype int4 asks for: the tied embedding / LM head matrix quantized by the int4 rule in the
// projections' block and scale type (Quantization::tied_head). Throws tsc::Error unless the projections are 4-bit
// (a MatMulNBits file or --weight-dtype int4) and the head is tied, unscaled apart from the table.
void request_tied_head_int4(LiftResult& r);

// One projection's weight under `name` in the spec's compile-time format: its parts (rows concatenated, as
// add_linear_weight fuses them) materialized in f32 and quantized by the rules above.
void add_quantized_linear(PayloadWriter& pw, const Graph& g, const std::string& name, const std::vector<const WeightBinding*>& parts,
                          const Quantization& q);

}  // namespace tsc
