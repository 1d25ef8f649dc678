// model_server: the executable tsc builds. Subcommands: generate, score, info (serve: the HTTP server).
#include <CLI/CLI.hpp>
#include <iostream>

#include "runtime/app/commands.h"
#include "runtime/core/error.h"

int main(int argc, char** argv) {
  CLI::App app{"model_server: a language model compiled by tsc (weights, tokenizer and kernels inside this file)"};
  app.require_subcommand(1);
  tsc::ScoreArgs sa;
  auto* score = app.add_subcommand("score", "write float32 logits [batch, seq, vocab] for int64 token ids [batch, seq]");
  score->add_option("--input-ids", sa.input_ids, "token ids, .npy int64 [batch, seq]")->required();
  score->add_option("--out", sa.out, "output logits, .npy float32 [batch, seq, vocab]")->required();
  score->add_option("--mode", sa.mode, "prefill: all tokens in one pass; decode: one token per step through the paged decode path")
      ->check(CLI::IsMember({"prefill", "decode"}))->capture_default_str();
  auto* dense = score->add_flag("--dense", sa.dense, "decode attends to every page (no page selection)");
  score->add_option("--top-k-pages", sa.top_k_pages, "decode page budget per KV head and layer (default: the build's)")->excludes(dense);
  score->add_option("--kv-pages", sa.kv_pages, "KV-cache pages to allocate (default: max_batch x max_seq_len worth)");
  bool info_json = false;
  auto* info = app.add_subcommand("info", "print the model spec, build options and payload layout");
  info->add_flag("--json", info_json, "as JSON");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    if (*score) return tsc::cmd_score(sa);
    if (*info) return tsc::cmd_info(info_json);
  } catch (const tsc::Error& e) {
    std::cerr << tsc::format_error("model_server", e);
    return 1;
  }
  return 0;
}
