#!/usr/bin/env python3
# Generates the tokenizer unit tests' reference files (test/unit/tokenizer/data/*.jsonl) with HF `tokenizers`.
"""Reference encodings for runtime/tokenizer, produced by the HF `tokenizers` library.

Each output file is JSON lines. The first line describes the tokenizer under test,
so that the C++ test can build the very same tokenizer from the shared data files:

  {"variant": name, "base": "gpt2-files" | "gpt2-json" | "llama-json",
   "merges_format": "strings" | "pairs", "override": {top-level tokenizer.json keys},
   "model_override": {keys of tokenizer.json's "model"}, "config": tokenizer_config.json or null}

Then one line per case:
  {"text": str, "ids": [...], "ids_plain": [...] (only if add_special_tokens=False differs),
   "decoded": decode(ids), "decoded_skip": decode(ids, skip_special_tokens=True)}
or, for decode-only cases (id sequences that need not come from any text):
  {"decode_ids": [...], "decoded": ..., "decoded_skip": ...}

A second file, splits/pre_tokenizers.jsonl, holds HF's splits of random Unicode text by the two
fixed patterns that runtime/tokenizer answers with hand-written scanners in every build:
  {"text": str, "gpt2": [pieces of GPT-2's ByteLevel pattern], "words": [pieces of Whitespace]}

Usage: test/gen/tokenizer_ref.py [--data ../shared/data] [--out test/unit/tokenizer/data]
"""
import argparse
import json
import os
import random

from tokenizers import Regex, Tokenizer
from tokenizers import pre_tokenizers

GPT2_PATTERN = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"
LLAMA3_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                r"|\s*[\r\n]+|\s+(?!\S)|\s+")


def corpus(special_tokens):
    """Texts that exercise every stage: pre-tokenizer classes, merges, byte fallback, added tokens."""
    rng = random.Random(1234)
    texts = [
        "",
        "Hello world",
        "Hello, world! How are you doing today?",
        "The quick brown fox jumps over the lazy dog. THE QUICK BROWN FOX.",
        "I'm sure they'll say it's fine, we've done what we'd do; you're right. DON'T SHOUT, I'LL STOP.",
        "'s 't 're 've 'm 'll 'd at the start, rock'n'roll, it\u2019s curly",
        "a  b   c    d",
        "   leading spaces",
        "trailing spaces   ",
        " ",
        "  ",
        "\t\ttabs\tand\tmore\t",
        "line1\nline2\n\nline4\r\nwindows\r\n",
        "\n\n\n",
        " \n \n  \n",
        "mixed \t \n whitespace \u00a0 nbsp \u2003 em-space \u3000 ideographic",
        "\x0b vertical tab \x0c form feed \x85 NEL \u2028 LS \u2029 PS",
        "1234567890",
        "3.14159 and 2,718,281 and 1e-9",
        "Year 2024: 12 months, 365 days.",
        "phone: +1 (555) 123-4567, x1y22z333w4444",
        "def f(x):\n    if x > 0:\n        return x ** 2  # square\n    return -x\n",
        "int main() {\n\tstd::vector<int> v{1, 2, 3};\n\tfor (auto& e : v) e += 1;\n\treturn 0;\n}",
        "{\"key\": [1, 2.5, null, true], \"nested\": {\"a\": \"b\"}}",
        "<div class=\"x\"><p>Hi &amp; bye</p></div>",
        "# Title\n\n* item 1\n* item 2\n\n```python\nprint('hi')\n```\n",
        "https://example.com/path?q=1&r=2#frag user.name+tag@example.co.uk",
        "I love \U0001F355 and \U0001F389\U0001F389! \U0001F469\u200d\U0001F469\u200d\U0001F467\u200d\U0001F466 "
        "family, flags \U0001F1FA\U0001F1F8\U0001F1EF\U0001F1F5, \u2714\ufe0f \u2764\ufe0f",
        "\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8\u3067\u3059\u3002",
        "\u4e2d\u6587\u6d4b\u8bd5\uff0c\u4f60\u597d\u4e16\u754c\uff01",
        "\ud55c\uad6d\uc5b4 \ud14d\uc2a4\ud2b8",
        "Caf\u00e9 na\u00efve r\u00e9sum\u00e9 fa\u00e7ade co\u00f6perate \u00c5ngstr\u00f6m \u00dcber stra\u00dfe",
        "\u041f\u0440\u0438\u0432\u0435\u0442, \u043c\u0438\u0440! \u039a\u03b1\u03bb\u03b7\u03bc\u03ad\u03c1\u03b1 "
        "\u03ba\u03cc\u03c3\u03bc\u03b5 \u039f\u0394\u03a5\u03a3\u03a3\u0395\u03a5\u03a3",
        "\u0645\u0631\u062d\u0628\u0627 \u0628\u0627\u0644\u0639\u0627\u0644\u0645 \u05e9\u05dc\u05d5\u05dd "
        "\u0928\u092e\u0938\u094d\u0924\u0947 \u0e2a\u0e27\u0e31\u0e2a\u0e14\u0e35",
        "decomposed e\u0301 a\u0300, lone \u0301 mark, ligature \ufb01 and \u2460\u2461 \u00bd \u0663\u0664",
        "Latin-1 misdecoded: \u00c3\u00a9 \u00c3\u00bc\u00c3\u00b6\u00c3\u00a4 \u00e2\u0080\u0099",
        "\ufffd replacement \ufffd\ufffd chars",
        "\x00 null \x01 control \x7f del \x1b[0m",
        "\u200b zero width \u200d joiner \ufeff BOM \u00ad soft",
        "private \ue000 \U000F0000 \U0010FFFF tag \U000E0001 and ancient \U00010330\U00010331",
        "Supercalifragilisticexpialidocious" * 8,
        "pneumonoultramicroscopicsilicovolcanoconiosis antidisestablishmentarianism",
        "ab" * 150,
        "=" * 64 + "\n" + "-" * 80,
        " " * 40 + "x",
        "!!!???...;;;:::",
        "ALLCAPS CamelCaseWord snake_case_word kebab-case-word",
        "\u0130stanbul I\u0307 \u1e9e \u03a3\u0391\u03a3",
    ]
    # Special tokens embedded in text, with and without spaces around them.
    for tok in special_tokens:
        texts += [
            f"{tok}Hello",
            f"Hello{tok}",
            f"Hello {tok} world {tok}end",
            f"{tok}{tok}",
            f" {tok} ",
            f"  {tok}\n",
            tok[:-1],
            f"x{tok[1:]}",
        ]
    # Random words of random letters (exercises long merge chains) and random Unicode.
    letters = "abcdefghijklmnopqrstuvwxyz"
    texts.append("".join(rng.choice(letters) for _ in range(300)))
    for _ in range(6):
        texts.append(random_unicode(rng, 24))
    return texts


def random_unicode(rng, n):
    """Random code points from a mix of blocks (no surrogates)."""
    blocks = [(0x20, 0x7E), (0xA0, 0x24F), (0x370, 0x3FF), (0x400, 0x4FF), (0x590, 0x6FF), (0x900, 0x97F),
              (0x3040, 0x30FF), (0x4E00, 0x4F00), (0xAC00, 0xAD00), (0x1F300, 0x1F64F), (0x0, 0x1F), (0x2000, 0x206F)]
    out = []
    for _ in range(n):
        lo, hi = rng.choice(blocks)
        out.append(chr(rng.randint(lo, hi)))
    return "".join(out)


def split_cases(n):
    """HF's GPT-2-pattern and Whitespace splits of random text: the pattern's edge cases (contractions,
    U+0020 before a run, whitespace runs before a non-space, Unicode spaces, marks, digits of other
    scripts, letters of Unicode 15 and 16) mixed with code points drawn from the whole code space."""
    rng = random.Random(4321)
    tricky = ["'", "'", "s", "t", "re", "ve", "m", "ll", "d", "S", "LL", " ", " ", " ", "  ", "\t", "\n", "\r\n",
              "\x0b", "\x0c", "\x85", "\xa0", "\u2003", "\u3000", "\u1680", "\u200b", "\u2028", "\x1c", "\x00",
              "a", "Z", "\u00e9", "e\u0301", "\u0301", "1", "42", "\u00b2", "\u0663", "\u216b", "\uff11", "!", ".",
              "_", "-", "$", "\u2019", "\u24b6", "\u200d", "\U0001F600", "\u4e00", "\U00020000", "\U0001E4D0",
              "\U00011F04", "\U00010D4A", "\U000105C0", "\u0378", "\ufffd", "\U0010FFFF"]
    gpt2 = pre_tokenizers.Split(Regex(GPT2_PATTERN), behavior="isolated")
    words = pre_tokenizers.Whitespace()
    cases = []
    for _ in range(n):
        parts = []
        for _ in range(rng.randint(1, 20)):
            r = rng.random()
            if r < 0.6:
                parts.append(rng.choice(tricky))
            elif r < 0.8:
                parts.append(random_unicode(rng, 1))
            else:
                cp = rng.randrange(0x110000 - 0x800)
                parts.append(chr(cp + 0x800 if cp >= 0xD800 else cp))
        text = "".join(parts)
        cases.append({"text": text, "gpt2": [p for p, _ in gpt2.pre_tokenize_str(text)],
                      "words": [p for p, _ in words.pre_tokenize_str(text)]})
    return cases


def gpt2_base(data, merges_format):
    """tokenizer.json equivalent of GPT-2's encoder.json + vocab.bpe, before overrides."""
    with open(os.path.join(data, "gpt2-bpe/encoder.json"), encoding="utf-8") as f:
        vocab = json.load(f)
    with open(os.path.join(data, "gpt2-bpe/vocab.bpe"), encoding="utf-8") as f:
        lines = [l for l in f.read().split("\n") if l and not l.startswith("#version")]
    merges = lines if merges_format == "strings" else [l.split(" ") for l in lines]
    return {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": [],
        "normalizer": None, "pre_tokenizer": None, "post_processor": None, "decoder": None,
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False,
                  "ignore_merges": False, "vocab": vocab, "merges": merges},
    }


def llama_base(data, merges_format):
    with open(os.path.join(data, "llama-sp-bpe/tokenizer.json"), encoding="utf-8") as f:
        tok = json.load(f)
    merges = tok["model"]["merges"]
    if merges_format == "pairs" and merges and isinstance(merges[0], str):
        tok["model"]["merges"] = [m.split(" ") for m in merges]
    return tok


def build(data, header):
    """The tokenizer the header describes, as the HF library loads it."""
    if header["base"] == "gpt2-files":
        # Like transformers' GPT2TokenizerFast: byte-level BPE with <|endoftext|> as the one special token.
        from tokenizers import ByteLevelBPETokenizer
        tok = ByteLevelBPETokenizer(os.path.join(data, "gpt2-bpe/encoder.json"),
                                    os.path.join(data, "gpt2-bpe/vocab.bpe"))
        tok.add_special_tokens(["<|endoftext|>"])
        return tok
    base = gpt2_base if header["base"] == "gpt2-json" else llama_base
    tj = base(data, header["merges_format"])
    tj.update(header.get("override", {}))
    tj["model"].update(header.get("model_override", {}))
    return Tokenizer.from_str(json.dumps(tj))


def byte_level(add_prefix_space=False, use_regex=True):
    return {"type": "ByteLevel", "add_prefix_space": add_prefix_space, "trim_offsets": True, "use_regex": use_regex}


def added(id_, content, special=True, lstrip=False, rstrip=False, normalized=False, single_word=False):
    return {"id": id_, "content": content, "single_word": single_word, "lstrip": lstrip, "rstrip": rstrip,
            "normalized": normalized, "special": special}


def variants():
    eot = added(50256, "<|endoftext|>")
    return [
        # GPT-2's original files (vocab.json + merges.txt path).
        {"variant": "gpt2", "base": "gpt2-files", "merges_format": "strings", "config": None,
         "specials": ["<|endoftext|>"]},
        # SmolLM2-style tokenizer.json: digits split one by one before the byte-level regex; chat tokens
        # beyond the model vocabulary; merges as [a, b] pairs (newer tokenizer.json format).
        {"variant": "smollm_style", "base": "gpt2-json", "merges_format": "pairs",
         "override": {
             "added_tokens": [eot, added(50257, "<|im_start|>"), added(50258, "<|im_end|>")],
             "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
                 {"type": "Digits", "individual_digits": True}, byte_level()]},
             "post_processor": byte_level(), "decoder": byte_level()},
         "config": {"add_prefix_space": False, "bos_token": "<|im_start|>", "eos_token": "<|im_end|>",
                    "pad_token": "<|endoftext|>", "chat_template": "{% for m in messages %}<|im_start|>"
                    "{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"},
         "specials": ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]},
        # Llama-3-style: Split regex (with lookahead and (?i:)) + ByteLevel without its own regex,
        # ignore_merges, a BOS template, added tokens with lstrip/rstrip/single_word/normalized flags.
        {"variant": "llama3_style", "base": "gpt2-json", "merges_format": "strings",
         "override": {
             "added_tokens": [eot, added(50257, "<|eot|>", lstrip=True, rstrip=True),
                              added(50258, "<|user|>", rstrip=True),
                              added(50259, "wordtok", special=False, single_word=True),
                              added(50260, " custom thing", special=False, normalized=True)],
             "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
                 {"type": "Split", "pattern": {"Regex": LLAMA3_SPLIT}, "behavior": "Isolated", "invert": False},
                 byte_level(use_regex=False)]},
             "post_processor": {"type": "TemplateProcessing",
                                "single": [{"SpecialToken": {"id": "<|endoftext|>", "type_id": 0}},
                                           {"Sequence": {"id": "A", "type_id": 0}}],
                                "pair": [{"Sequence": {"id": "A", "type_id": 0}},
                                         {"Sequence": {"id": "B", "type_id": 1}}],
                                "special_tokens": {"<|endoftext|>": {"id": "<|endoftext|>", "ids": [50256],
                                                                     "tokens": ["<|endoftext|>"]}}},
             "decoder": byte_level()},
         "model_override": {"ignore_merges": True},
         "config": None,
         "specials": ["<|endoftext|>", "<|eot|>", "<|user|>", "wordtok", " custom thing"]},
        # Byte-level with add_prefix_space and Unicode normalizers (NFKC, then lowercase).
        {"variant": "prefix_nfkc", "base": "gpt2-json", "merges_format": "strings",
         "override": {
             "added_tokens": [eot],
             "normalizer": {"type": "Sequence", "normalizers": [{"type": "NFKC"}, {"type": "Lowercase"}]},
             "pre_tokenizer": byte_level(add_prefix_space=True), "decoder": byte_level()},
         "config": None, "specials": ["<|endoftext|>"]},
        # The Llama-family tokenizer.json as shipped (Prepend + Replace normalizer, byte fallback).
        {"variant": "llama", "base": "llama-json", "merges_format": "strings", "config": "llama-sp-bpe",
         "specials": ["<s>", "</s>", "<unk>"]},
        # Newer SentencePiece-style export: Metaspace pre-tokenizer (prepend_scheme first) and decoder,
        # merges as pairs, extra added tokens (one normalized, one rstrip).
        {"variant": "llama_metaspace", "base": "llama-json", "merges_format": "pairs",
         "override": {
             "added_tokens": [added(0, "<unk>"), added(1, "<s>"), added(2, "</s>"),
                              added(32000, "[INST]", rstrip=True), added(32001, "[/INST]"),
                              added(32002, "hello world", special=False, normalized=True)],
             "normalizer": None,
             "pre_tokenizer": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "first",
                               "split": False},
             "decoder": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "first",
                         "split": False}},
         "config": "llama-sp-bpe",
         "specials": ["<s>", "</s>", "[INST]", "[/INST]", "hello world"]},
    ]


def decode_cases(rng, vocab_size, byte_ids):
    """Id sequences that need not come from text: random ids, broken byte runs."""
    seqs = [[], [rng.randrange(vocab_size) for _ in range(12)], [rng.randrange(vocab_size) for _ in range(12)]]
    if byte_ids:  # <0xNN> tokens: a full euro sign, a truncated one, a lone continuation byte, mixed
        b = lambda x: byte_ids[x]
        seqs += [[b(0xE2), b(0x82), b(0xAC)], [b(0xE2), b(0x82)], [b(0x80), b(0x41)],
                 [b(0xF0), b(0x9F), b(0x98), b(0x80), b(0xE2)], [b(0xE2), b(0x82), b(0x41), b(0xAC)]]
    return seqs


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    ap.add_argument("--data", default=os.path.join(root, "..", "shared", "data"))
    ap.add_argument("--out", default=os.path.join(root, "test", "unit", "tokenizer", "data"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for v in variants():
        tok = build(args.data, v)
        rng = random.Random(v["variant"])
        header = {k: v[k] for k in v if k != "specials"}
        if isinstance(v.get("config"), str):
            with open(os.path.join(args.data, v["config"], "tokenizer_config.json"), encoding="utf-8") as f:
                header["config"] = json.load(f)
        lines = [header]
        for text in corpus(v["specials"]):
            enc = tok.encode(text).ids
            plain = tok.encode(text, add_special_tokens=False).ids
            rec = {"text": text, "ids": enc}
            if plain != enc:
                rec["ids_plain"] = plain
            rec["decoded"] = tok.decode(enc, skip_special_tokens=False)
            rec["decoded_skip"] = tok.decode(enc, skip_special_tokens=True)
            lines.append(rec)
        vocab = tok.get_vocab()
        byte_ids = [vocab.get(f"<0x{b:02X}>") for b in range(256)]
        byte_ids = byte_ids if all(i is not None for i in byte_ids) else None
        for ids in decode_cases(rng, tok.get_vocab_size(), byte_ids):
            lines.append({"decode_ids": ids, "decoded": tok.decode(ids, skip_special_tokens=False),
                          "decoded_skip": tok.decode(ids, skip_special_tokens=True)})
        path = os.path.join(args.out, v["variant"] + ".jsonl")
        with open(path, "w", encoding="utf-8") as f:
            for rec in lines:
                f.write(json.dumps(rec, ensure_ascii=False) + "\n")
        print(f"{path}: {len(lines) - 1} cases, {os.path.getsize(path)} bytes")
    os.makedirs(os.path.join(args.out, "splits"), exist_ok=True)
    path = os.path.join(args.out, "splits", "pre_tokenizers.jsonl")
    cases = split_cases(400)
    with open(path, "w", encoding="utf-8") as f:
        for rec in cases:
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")
    print(f"{path}: {len(cases)} cases, {os.path.getsize(path)} bytes")


if __name__ == "__main__":
    main()
