#!/usr/bin/env python3
"""Builds the executables the server tests drive (ctest fixture setup): the GPT-2 tokenizer fixture with
small pages and a small page budget (so that decode page selection acts on sequences over 32 tokens), the
same scoring pages with the key sketch (--page-score sketch), and the Llama tokenizer fixture with TinyLlama-Chat's chat template added to a copy of its tokenizer files."""
import argparse
import json
import os
import shutil
import subprocess

# TinyLlama-1.1B-Chat-v1.0's chat_template (Zephyr style), as in its tokenizer_config.json.
TINYLLAMA_CHAT = (
    "{% for message in messages %}\n{% if message['role'] == 'user' %}\n{{ '<|user|>\n' + message['content'] + eos_token }}\n"
    "{% elif message['role'] == 'system' %}\n{{ '<|system|>\n' + message['content'] + eos_token }}\n"
    "{% elif message['role'] == 'assistant' %}\n{{ '<|assistant|>\n'  + message['content'] + eos_token }}\n{% endif %}\n"
    "{% if loop.last and add_generation_prompt %}\n{{ '<|assistant|>' }}\n{% endif %}\n{% endfor %}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tsc", required=True)
    ap.add_argument("--fixtures", required=True)
    ap.add_argument("--shared-data", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    for name, extra in (("gpt2_server", []), ("gpt2_sketch_server", ["--page-score", "sketch"])):
        subprocess.run([a.tsc, os.path.join(a.fixtures, "gpt2_tok_dynamo", "model.onnx"), "-o", os.path.join(a.out, name), "--target", "cpu",
                        "--tokenizer", os.path.join(a.shared_data, "gpt2-bpe"), "--page-size", "8", "--top-k-pages", "4", "--dense-layers", "1",
                        *extra], check=True)
    tok = os.path.join(a.out, "llama_chat_tokenizer")
    os.makedirs(tok, exist_ok=True)
    src = os.path.join(a.shared_data, "llama-sp-bpe")
    shutil.copy(os.path.join(src, "tokenizer.json"), tok)
    with open(os.path.join(src, "tokenizer_config.json")) as f:
        cfg = json.load(f)
    cfg["chat_template"] = TINYLLAMA_CHAT
    with open(os.path.join(tok, "tokenizer_config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    subprocess.run([a.tsc, os.path.join(a.fixtures, "llama_tok_dynamo", "model.onnx"), "-o", os.path.join(a.out, "llama_chat_server"), "--target", "cpu",
                    "--tokenizer", tok], check=True)


if __name__ == "__main__":
    main()
