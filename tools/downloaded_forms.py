#!/usr/bin/env python3
# transformers.js's variants of an optimum-onnx export, made by onnxruntime's own tools (fp16, q4, int8), and the virtual environment optimum-onnx runs in; used by tools/smollm2_forms.py and test/gen/make_downloaded_forms.py.
"""Usage (as a tool): python3 tools/downloaded_forms.py SRC.onnx FORM DST.onnx    FORM: one of FORMS below.

Setup: tools/install_deps.sh (onnx, onnxruntime); q4 needs PyPI `onnx_ir` (in the optimum venv's pins).
"""
import os
import subprocess
import sys
from pathlib import Path

import onnx

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / "models/cache/optimum-venv"
PINS = ["optimum-onnx==0.1.0", "transformers==4.57.6", "onnx_ir==1.1.0"]


def ensure_venv(script: str, venv: Path = VENV, pins: list = PINS) -> None:
    """Re-executes `script` (with this process's arguments) inside `venv`, created on first use with
    --system-site-packages for torch/onnxruntime plus `pins` (optimum-onnx 0.1.0 pins transformers < 4.58), unless
    already there."""
    if Path(sys.prefix).resolve() == venv.resolve():
        return
    py = venv / "bin/python"
    if not py.exists():
        print(f"==> creating {venv} ({' '.join(pins)})", flush=True)
        subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check", *pins], check=True)
    os.execv(str(py), [str(py), script, *sys.argv[1:]])


def train_tokenizer(vocab: int, seed: int):
    """Byte-level BPE (GPT-2 style: ByteLevel pre-tokenizer and decoder) with `vocab` entries, the last
    being <|endoftext|>, trained on seeded pseudo-words so that it always reaches the full size."""
    import numpy as np
    import transformers
    from tokenizers import ByteLevelBPETokenizer
    rs = np.random.RandomState(seed)
    letters = np.array(list("etaoinshrdlucmfwypvbgkjqxz"))
    p = np.linspace(2.0, 0.2, len(letters))
    p /= p.sum()
    words = ["".join(rs.choice(letters, size=rs.randint(2, 9), p=p)) for _ in range(4000)]
    corpus = [" ".join(words[i:i + 12]) for i in range(0, len(words), 12)]
    tok = ByteLevelBPETokenizer()
    tok.train_from_iterator(corpus, vocab_size=vocab - 1, min_frequency=1, show_progress=False,
                            special_tokens=[])
    tok.add_special_tokens(["<|endoftext|>"])
    assert tok.get_vocab_size() == vocab, tok.get_vocab_size()
    fast = transformers.PreTrainedTokenizerFast(tokenizer_object=tok._tokenizer, bos_token="<|endoftext|>",
                                                eos_token="<|endoftext|>", unk_token="<|endoftext|>")
    return fast



def form_fp16(src: Path, dst: Path) -> str:
    from onnxruntime.transformers.float16 import convert_float_to_float16
    m = convert_float_to_float16(onnx.load(str(src)), keep_io_types=True)
    onnx.save_model(m, str(dst))
    return "onnxruntime.transformers.float16.convert_float_to_float16(keep_io_types=True)"


def form_q4(block: int, symmetric: bool):
    def make(src: Path, dst: Path) -> str:
        from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer
        q = MatMulNBitsQuantizer(onnx.load(str(src)), bits=4, block_size=block, is_symmetric=symmetric)
        q.process()
        q.model.save_model_to_file(str(dst), False)
        return f"MatMulNBitsQuantizer(bits=4, block_size={block}, is_symmetric={symmetric})"
    return make


def form_dynamic(weight_type: str):
    def make(src: Path, dst: Path) -> str:
        from onnxruntime.quantization import QuantType, quantize_dynamic
        # As transformers.js's quantize script: constant-B MatMuls only (attention's activation x activation
        # MatMuls stay float); Gather (the embedding table) is quantized too, by the default op list.
        quantize_dynamic(str(src), str(dst), weight_type=getattr(QuantType, weight_type),
                         extra_options={"MatMulConstBOnly": True})
        return f"quantize_dynamic(weight_type=QuantType.{weight_type}, extra_options={{'MatMulConstBOnly': True}})"
    return make


FORMS = {
    "model_fp16": form_fp16,
    "model_q4": form_q4(32, True),
    "model_q4_b128": form_q4(128, False),
    "model_int8": form_dynamic("QInt8"),
    "model_uint8": form_dynamic("QUInt8"),
}


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[2] not in FORMS:
        sys.exit(__doc__ + "FORMS: " + ", ".join(FORMS))
    ensure_venv(__file__)
    print(FORMS[sys.argv[2]](Path(sys.argv[1]), Path(sys.argv[3])))
