// The saved .pth files are read by Python's torch.load as the original design's code does.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "lti/trainer.h"
#include "model_fixtures.h"

using namespace lti;

TEST(PythonInterop, TorchLoadReadsEveryStateDictWithAppendixANamesAndShapes) {
  const std::string python = LTI_PYTHON;
  std::string out;
  if (test::run_command(python + " -c 'import torch'", out) != 0) {
    if (std::getenv("CI")) FAIL() << "python3-torch is required in CI: " << out;
    GTEST_SKIP() << "python3 with torch not available: " << out;
  }
  test::TempDir dir;
  const Ingested data = test::planted_data(dir, 60, 3000);
  TrainOptions o = test::tiny_train_options(dir.file("model"), 1);
  o.model.moe_shared = 2;
  o.train.batch_size = 16;
  Trainer trainer(data, o);
  trainer.run();

  // A few tensors' sums, computed here, must be what Python reads.
  nlohmann::json sums;
  auto add = [&](const std::string& file, const torch::nn::Module& m, const std::string& key) {
    for (const auto& p : m.named_parameters())
      if (p.key() == key) sums[file][key] = p.value().sum().item<double>();
    for (const auto& p : m.named_buffers())
      if (p.key() == key) sums[file][key] = p.value().sum().item<double>();
  };
  auto& model = trainer.model();
  add("feature_embedding.pth", *model.feature_embedding, "proj.weight");
  add("moe_layer.pth", *model.moe_layer, "experts.3.w2.weight");
  add("moe_layer.pth", *model.moe_layer, "shared.1.w1.weight");
  add("long_term.pth", *model.long_term, "blocks.1.attn.qkv.weight");
  add("short_term.pth", *model.short_term, "cls");
  ASSERT_EQ(sums.size(), 4u);
  test::write_text(dir.file("sums.json"), sums.dump());
  const int rc =
      test::run_command(python + " " + LTI_SOURCE_DIR + "/tests/python/check_state_dicts.py " +
                            dir.file("model") + " " + dir.file("sums.json"),
                        out);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("ok:"), std::string::npos) << out;
}
