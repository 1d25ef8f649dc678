#!/usr/bin/env python3
"""`model_server bench` packs the batch's prompts into prefill steps of at most --chunk tokens (several prompts
per step, a prompt over several steps), as a server batches them: 3 prompts of 5 tokens take ceil(15 / chunk)
steps, and every sequence then decodes (CPU target)."""
import json
import subprocess
import sys

from fixture_exe import build_cpu, parse_args


def main():
    a = parse_args()
    exe = build_cpu(a)
    ok = True
    for chunk, steps in ((8, 2), (5, 3), (4, 4), (64, 1)):
        p = subprocess.run([exe, "bench", "--batch", "3", "--prompt-len", "5", "--gen", "3", "--warmup", "0", "--chunk", str(chunk),
                            "--json", "--dense"], capture_output=True, text=True, check=True)
        j = [json.loads(l) for l in p.stdout.splitlines() if l.startswith("{")][0]
        good = j["prefill_steps"] == steps and j["prompt_tokens"] == 15 and j["ttft_ms"] > 0 and j["step_ms_median"] > 0
        print(f"chunk {chunk}: {j['prefill_steps']} prefill steps (want {steps}), ttft {j['ttft_ms']:.2f} ms{'' if good else '  FAIL'}")
        ok = ok and good
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
