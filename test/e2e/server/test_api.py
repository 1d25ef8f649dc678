#!/usr/bin/env python3
"""The OpenAI API through the official `openai` client: completions and chat, streaming and not, n > 1,
stop strings, echo, seeds, logprobs (held to `model_server score` logits -> log_softmax), the page-budget
extension, and bad input answered with the right 4xx and an OpenAI-style error while the server keeps serving."""
import argparse
import json
import os
import subprocess
import tempfile

import numpy as np
import openai

from harness import Checks, Server, executables


def log_softmax(x):
    x = x.astype(np.float64)
    m = x.max(-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(-1, keepdims=True))


def completions(srv, t):
    cl = srv.client()
    model = cl.models.list().data[0].id
    t.check(model == "gpt2_tok_dynamo", f"/v1/models names the fixture ({model})")
    prompt = "The quick brown fox jumps over the lazy dog while the farmer"
    r = cl.completions.create(model=model, prompt=prompt, max_tokens=12, temperature=0)
    text = r.choices[0].text
    t.check(len(text) > 0 and r.choices[0].finish_reason == "length", f"greedy completion: {text!r}")
    t.check(r.usage.completion_tokens == 12 and r.usage.prompt_tokens == 12 and r.usage.total_tokens == 24, f"usage {r.usage}")
    t.check(r.id.startswith("cmpl-") and r.object == "text_completion", "completion id and object")

    # Streaming gives the same text, one chunk per token, finish_reason on the last, usage when asked.
    chunks = list(cl.completions.create(model=model, prompt=prompt, max_tokens=12, temperature=0, stream=True,
                                        stream_options={"include_usage": True}))
    streamed = "".join(ch.choices[0].text for ch in chunks if ch.choices)
    t.check(streamed == text, "streamed text equals the non-streamed text")
    fin = [ch.choices[0].finish_reason for ch in chunks if ch.choices and ch.choices[0].finish_reason]
    t.check(fin == ["length"], f"one finish_reason in the stream ({fin})")
    t.check(chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == 12, "usage in the last chunk")
    t.check(all(ch.usage is None for ch in chunks[:-1]), "other chunks carry usage: null")

    # Token-id prompts, arrays of prompts, n > 1: choices indexed prompt * n + choice.
    ids = srv.tokens(prompt)
    r2 = cl.completions.create(model=model, prompt=ids, max_tokens=12, temperature=0)
    t.check(r2.choices[0].text == text, "a token-id prompt gives the text of the same prompt as a string")
    r3 = cl.completions.create(model=model, prompt=["Once upon a time", ids], max_tokens=5, temperature=0, n=2)
    t.check([ch.index for ch in r3.choices] == [0, 1, 2, 3], "choices of two prompts x n=2 are indexed 0..3")
    t.check(r3.choices[2].text == text[:len(r3.choices[2].text)] and r3.choices[0].text == r3.choices[1].text, "greedy choices agree")
    t.check(r3.usage.prompt_tokens == 4 + 12 and r3.usage.completion_tokens == 20, f"usage counts each prompt once ({r3.usage})")

    # Seeds: the same seed reproduces, another differs; choices of one request differ from each other.
    kw = dict(model=model, prompt="Once upon a time", max_tokens=16, temperature=1.0, top_p=0.95)
    a = cl.completions.create(seed=1234, n=3, **kw)
    b = cl.completions.create(seed=1234, n=3, **kw)
    d = cl.completions.create(seed=999, n=1, **kw)
    t.check([x.text for x in a.choices] == [x.text for x in b.choices], "same seed, same samples")
    t.check(a.choices[0].text != d.choices[0].text, "another seed, another sample")
    t.check(len({x.text for x in a.choices}) > 1, "n=3 samples differ from each other")
    one = cl.completions.create(seed=1234 + 2, n=1, **kw)
    t.check(one.choices[0].text == a.choices[2].text, "choice i of a seeded request draws with seed + i")
    sa = "".join(ch.choices[0].text for ch in cl.completions.create(seed=1234, stream=True, **kw))
    t.check(sa == a.choices[0].text, "a seeded stream gives the seeded text")

    # Stop strings: the text ends before the first stop string, finish_reason "stop", streaming too.
    long = cl.completions.create(model=model, prompt="Hello, my name is", max_tokens=30, temperature=0).choices[0].text
    words = long.split()
    stop = words[min(3, len(words) - 1)]
    cut = long.find(stop)
    r = cl.completions.create(model=model, prompt="Hello, my name is", max_tokens=30, temperature=0, stop=[stop, "zzzz"])
    t.check(r.choices[0].text == long[:cut] and r.choices[0].finish_reason == "stop", f"stop {stop!r}: {r.choices[0].text!r}")
    s = list(cl.completions.create(model=model, prompt="Hello, my name is", max_tokens=30, temperature=0, stop=stop, stream=True))
    t.check("".join(ch.choices[0].text for ch in s) == long[:cut] and s[-1].choices[0].finish_reason == "stop", "stop string while streaming")

    # Echo.
    r = cl.completions.create(model=model, prompt=prompt, max_tokens=3, temperature=0, echo=True)
    t.check(r.choices[0].text == prompt + text[:len(r.choices[0].text) - len(prompt)], "echo puts the prompt before the completion")

    # Logprobs against `model_server score`: prompt positions (echo) and the generated token.
    r = cl.completions.create(model=model, prompt=ids, max_tokens=1, temperature=0, echo=True, logprobs=5)
    lp = r.choices[0].logprobs
    with tempfile.TemporaryDirectory() as d:
        np.save(os.path.join(d, "ids.npy"), np.array([ids], dtype=np.int64))
        subprocess.run([srv.exe, "score", "--input-ids", os.path.join(d, "ids.npy"), "--out", os.path.join(d, "l.npy")], check=True)
        ref = log_softmax(np.load(os.path.join(d, "l.npy"))[0])
    got = np.array(lp.token_logprobs[1:len(ids)], dtype=np.float64)
    want = np.array([ref[j - 1, ids[j]] for j in range(1, len(ids))])
    t.check(lp.token_logprobs[0] is None and len(lp.tokens) == len(ids) + 1, "echo logprobs: first prompt token has none")
    t.check(np.abs(got - want).max() < 1e-4, f"prompt logprobs equal score's log_softmax (max |diff| {np.abs(got - want).max():.2g})")
    last = ref[len(ids) - 1]
    t.check(abs(lp.token_logprobs[-1] - last.max()) < 1e-4, "the greedy token's logprob is the max of score's last log_softmax")
    top = lp.top_logprobs[-1]
    want_top = sorted(last)[::-1][:5]
    t.check(len(top) >= 5 and np.allclose(sorted(top.values())[::-1][:5], want_top, atol=1e-4), "top_logprobs are score's 5 best")
    offs = lp.text_offset
    t.check(offs == sorted(offs) and offs[0] == 0, "text_offset is increasing from 0")
    # Streaming logprobs arrive with their tokens.
    s = list(cl.completions.create(model=model, prompt=prompt, max_tokens=4, temperature=0, logprobs=2, stream=True))
    toks = [tok for ch in s for tok in (ch.choices[0].logprobs.tokens if ch.choices[0].logprobs else [])]
    t.check(len(toks) == 4, f"streamed logprobs cover the 4 tokens ({toks})")
    # Scoring a prompt without generating: echo + max_tokens 0.
    r = cl.completions.create(model=model, prompt=ids, max_tokens=0, echo=True, logprobs=0)
    t.check(r.choices[0].text == prompt and r.usage.completion_tokens == 0 and
            np.abs(np.array(r.choices[0].logprobs.token_logprobs[1:]) - want).max() < 1e-4, "echo with max_tokens 0 scores the prompt")

    # The page-budget extension: dense and an explicit budget are accepted, a budget beyond the build is 400.
    base = dict(model=model, prompt=prompt, max_tokens=40, temperature=0)
    dense = cl.completions.create(extra_body={"tsc": {"dense": True}}, **base).choices[0].text
    kept = cl.completions.create(extra_body={"tsc": {"top_k_pages": 2}}, **base).choices[0].text
    t.check(len(dense) > 0 and len(kept) > 0, "tsc.dense and tsc.top_k_pages are accepted")
    # Selection reuse per request: select_every 1 is the build's default (the same greedy text), 4 is accepted.
    every1 = cl.completions.create(extra_body={"tsc": {"top_k_pages": 2, "select_every": 1}}, **base).choices[0].text
    every4 = cl.completions.create(extra_body={"tsc": {"top_k_pages": 2, "select_every": 4}}, **base).choices[0].text
    t.check(every1 == kept and len(every4) > 0, "tsc.select_every is accepted; 1 is the build's selection")
    try:
        cl.completions.create(extra_body={"tsc": {"top_k_pages": 5}}, **base)
        t.check(False, "a budget beyond the build's top_k_pages is refused")
    except openai.BadRequestError as e:
        t.check(e.body["param"] == "top_k_pages" or "top_k_pages" in e.body["message"], "a budget beyond the build's top_k_pages is refused")
    m = srv.metrics()
    t.check(srv.value(m, "tsc_selection_pages_kept_total") < srv.value(m, "tsc_selection_pages_candidate_total"),
            "page selection acted (pages kept < candidates)")
    t.check(0 < srv.value(m, "tsc_selection_kv_read_ratio") < 1, f"KV read ratio {srv.value(m, 'tsc_selection_kv_read_ratio'):.3f}")


def bad_input(srv, t):
    cl = srv.client()
    model = "gpt2_tok_dynamo"

    def expect(status, body, param=None, what=""):
        code, text, headers = srv.post("/v1/completions", body)
        ok = code == status
        try:
            err = json.loads(text)["error"]
            ok = ok and isinstance(err["message"], str) and err["type"] and "hint" in err
            if param is not None:
                ok = ok and err["param"] == param
        except Exception:
            ok = False
        t.check(ok, f"{what or body[:60]!r} -> {status} ({code} {text[:160]})")

    expect(400, "{\"model\": ", what="malformed JSON")
    expect(400, "[1, 2]", what="a JSON array body")
    expect(400, json.dumps({"prompt": "hi", "temperature": "hot"}), "temperature")
    expect(400, json.dumps({"prompt": "hi", "max_tokens": "5"}), "max_tokens")
    expect(400, json.dumps({"prompt": "hi", "max_tokens": 0}), "max_tokens")
    expect(400, json.dumps({"prompt": "hi", "max_tokens": -3}), "max_tokens")
    expect(400, json.dumps({"prompt": "hi", "temperature": -0.5}), "temperature")
    expect(400, json.dumps({"prompt": "hi", "top_p": 1.5}), "top_p")
    expect(400, json.dumps({"prompt": "hi", "n": 100000}), "n")
    expect(400, json.dumps({"prompt": "hi", "stream": "yes"}), "stream")
    expect(400, json.dumps({"prompt": "hi", "stop": [1, 2]}), "stop")
    expect(400, json.dumps({"prompt": "hi", "logprobs": 50}), "logprobs")
    expect(400, json.dumps({"prompt": "hi", "frobnicate": True}), "frobnicate", what="unknown field")
    expect(400, json.dumps({"prompt": "hi", "stream_options": {"include_usage": True}}), "stream_options")
    expect(400, json.dumps({"max_tokens": 3}), "prompt", what="no prompt")
    expect(400, json.dumps({"prompt": []}), "prompt")
    expect(400, json.dumps({"prompt": [1, "a"]}), "prompt")
    expect(400, json.dumps({"prompt": [99999999]}), "prompt", what="token id outside the vocabulary")
    expect(400, json.dumps({"prompt": "word " * 300, "max_tokens": 5}), None, what="prompt over the context")
    expect(400, json.dumps({"prompt": "hi", "max_tokens": 10000}), "max_tokens", what="max_tokens over the context")
    expect(400, json.dumps({"prompt": "", "max_tokens": 5}), "prompt", what="empty prompt")
    expect(400, json.dumps({"prompt": "hi", "tsc": {"top_k_pages": 1}}), "tsc.top_k_pages")
    expect(400, json.dumps({"prompt": "hi", "tsc": {"bogus": 1}}), "tsc.bogus")
    expect(400, json.dumps({"prompt": "hi", "tsc": {"select_every": 0}}), "select_every")
    expect(400, b'{"prompt": "caf\xc3\x28 invalid utf-8"}', what="invalid UTF-8")
    expect(404, json.dumps({"model": "gpt-4", "prompt": "hi"}), "model", what="unknown model")
    code, text, _ = srv.post("/v1/completions", b'{"prompt": "' + b"a" * (100 << 20) + b'"}')
    t.check(code == 413 and "error" in json.loads(text), f"a 100 MB body -> 413 ({code})")
    code, text, _ = srv.get("/v1/nothing")
    t.check(code == 404 and "error" in json.loads(text), "unknown route -> 404 with an error object")
    code, text, _ = srv.get("/v1/models/gpt-4")
    t.check(code == 404, "GET /v1/models/<unknown> -> 404")
    try:
        cl.completions.create(model=model, prompt="hi", temperature=-1)
        t.check(False, "openai client sees BadRequestError")
    except openai.BadRequestError as e:
        t.check(e.status_code == 400 and e.body["param"] == "temperature", "openai client sees BadRequestError naming temperature")
    try:
        cl.completions.create(model="nope", prompt="hi")
        t.check(False, "openai client sees NotFoundError")
    except openai.NotFoundError:
        t.check(True, "openai client sees NotFoundError for an unknown model")
    # Still serving, and nothing leaked.
    r = cl.completions.create(model=model, prompt="still there?", max_tokens=3, temperature=0)
    t.check(r.usage.completion_tokens == 3, "the server keeps serving after bad input")
    m = srv.wait_idle()
    t.check(srv.value(m, "tsc_kv_pages_used") == 0, "no KV page is held after bad input")


def chat(exe, tok_dir, t):
    import jinja2
    from tokenizers import Tokenizer
    with Server(exe) as srv:
        cl = srv.client()
        model = cl.models.list().data[0].id
        msgs = [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Name a colour."}]
        r = cl.chat.completions.create(model=model, messages=msgs, max_tokens=8, temperature=0)
        ch = r.choices[0]
        t.check(r.object == "chat.completion" and ch.message.role == "assistant" and isinstance(ch.message.content, str), "chat completion shape")
        t.check(ch.finish_reason in ("length", "stop") and r.usage.completion_tokens <= 8, f"chat finish {ch.finish_reason}")
        # The prompt is the chat template rendered as transformers does, tokenized without added specials.
        cfg = json.load(open(os.path.join(tok_dir, "tokenizer_config.json")))
        env = jinja2.Environment(trim_blocks=True, lstrip_blocks=True)
        text = env.from_string(cfg["chat_template"]).render(messages=msgs, add_generation_prompt=True, bos_token="<s>", eos_token="</s>")
        n = len(Tokenizer.from_file(os.path.join(tok_dir, "tokenizer.json")).encode(text, add_special_tokens=False).ids)
        t.check(r.usage.prompt_tokens == n, f"chat prompt tokens {r.usage.prompt_tokens} == jinja2 + tokenizers {n}")
        chunks = list(cl.chat.completions.create(model=model, messages=msgs, max_tokens=8, temperature=0, stream=True))
        t.check(chunks[0].choices[0].delta.role == "assistant", "first chat chunk carries the role")
        t.check("".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == ch.message.content, "streamed chat equals non-streamed")
        t.check(chunks[-1].choices[0].finish_reason == ch.finish_reason and chunks[0].object == "chat.completion.chunk", "chat stream ends with finish_reason")
        r = cl.chat.completions.create(model=model, messages=msgs, max_tokens=5, temperature=0, logprobs=True, top_logprobs=3, n=2)
        lp = r.choices[0].logprobs.content
        t.check(len(lp) == r.usage.completion_tokens // 2 and all(len(x.top_logprobs) == 3 for x in lp), "chat logprobs: one entry per token, 3 alternatives")
        t.check(all(abs(x.logprob - x.top_logprobs[0].logprob) < 1e-6 for x in lp), "greedy chat tokens are their top alternative")
        try:
            cl.chat.completions.create(model=model, messages=[], max_tokens=5)
            t.check(False, "empty messages -> 400")
        except openai.BadRequestError as e:
            t.check(e.body["param"] == "messages", "empty messages -> 400 naming messages")
        try:
            cl.chat.completions.create(model=model, messages=[{"role": "user"}], max_tokens=5, top_logprobs=3)
            t.check(False, "top_logprobs without logprobs -> 400")
        except openai.BadRequestError as e:
            t.check(e.body["param"] == "top_logprobs", "top_logprobs without logprobs -> 400")
        m = srv.wait_idle()
        t.check(srv.value(m, "tsc_kv_pages_used") == 0, "chat: no KV page held afterwards")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True, help="folder with the executables of build_servers.py")
    ap.add_argument("--shared-data", required=True, help="tokenizer files (gpt2-bpe)")
    a = ap.parse_args()
    from tokenizers import ByteLevelBPETokenizer
    gpt2 = ByteLevelBPETokenizer(os.path.join(a.shared_data, "gpt2-bpe", "encoder.json"), os.path.join(a.shared_data, "gpt2-bpe", "vocab.bpe"))
    exe = executables(a.build)
    t = Checks()
    srv = Server(exe["gpt2_server"])
    srv.tokens = lambda text: gpt2.encode(text).ids
    try:
        completions(srv, t)
        bad_input(srv, t)
        code, text, _ = srv.post("/v1/chat/completions", json.dumps({"messages": [{"role": "user", "content": "hi"}]}))
        t.check(code == 400 and "chat template" in json.loads(text)["error"]["message"], "chat on a model without a template -> 400 saying so")
    finally:
        rc = srv.stop()
    t.check(rc == 0, f"SIGTERM: exit status {rc}")
    if os.path.exists(os.path.join(os.path.dirname(__file__), "..", "..", "..", "runtime", "chat", "CMakeLists.txt")):
        chat(exe["llama_chat_server"], os.path.join(a.build, "llama_chat_tokenizer"), t)
    else:
        print("skip chat: this source tree has no runtime/chat (chat templates)")
    t.done(srv)


if __name__ == "__main__":
    main()
