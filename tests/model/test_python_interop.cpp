// The saved .pth files are read by Python's torch.load as the original design's code does.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "lti/train/trainer.h"
#include "model_fixtures.h"
#include "redis_server.h"

using namespace lti;

// These tests need Debian's python3-torch (and python3-redis). Where LTI_PYTHON cannot import
// `modules` the test is skipped, except in CI, where install-deps.sh installs them: a missing
// module there is a failure, so the Python checks never silently stop running.
#define REQUIRE_PYTHON_MODULES(modules)                                                           \
  do {                                                                                            \
    std::string import_output;                                                                    \
    if (test::run_command(std::string(LTI_PYTHON) + " -c 'import " modules "'", import_output) != \
        0)                                                                                        \
      LTI_SKIP_OR_FAIL_IN_CI("python3 cannot import " modules ": " + import_output);              \
  } while (0)

TEST(PythonInterop, TorchLoadReadsEveryStateDictWithAppendixANamesAndShapes) {
  REQUIRE_PYTHON_MODULES("torch");
  const std::string python = LTI_PYTHON;
  std::string out;
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
  add("moe_layer.pth", *model.moe_layer, "bias");
  ASSERT_EQ(sums.size(), 4u);
  ASSERT_TRUE(sums["moe_layer.pth"].contains("bias"));
  test::write_text(dir.file("sums.json"), sums.dump());
  const int rc =
      test::run_command(python + " " + LTI_SOURCE_DIR + "/tests/python/check_state_dicts.py " +
                            dir.file("model") + " " + dir.file("sums.json"),
                        out);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("ok:"), std::string::npos) << out;
}

// The PyTorch twin (tests/python/twin.py), written from the SPEC and not from this code,
// recomputes every user's long-term vector from the CSV and the saved files, one user at a time
// without padding, and must agree with what `lti export` wrote to Redis, for each balancing rule.
TEST(PythonInterop, PyTorchTwinRecomputesTheExportedVectorsForEveryBalancingRule) {
  REQUIRE_PYTHON_MODULES("torch, redis");
  std::string out;
  test::TempDir dir;
  const Ingested data = test::planted_data(dir, 40, 2400);
  test::RedisServer server;
  for (const char* rule : {"bias", "divide", "none"}) {
    SCOPED_TRACE(rule);
    const std::string model = dir.file(std::string("model-") + rule);
    TrainOptions o = test::tiny_train_options(model, 2);
    o.model.moe_balance = rule;
    o.model.moe_shared = 2;
    o.train.batch_size = 8;
    o.train.patience = 0;
    Trainer trainer(data, o);
    trainer.run();
    // Routing must depend on the rule's state, or the twin would not check it.
    if (std::string(rule) == "bias") {
      EXPECT_GT(trainer.model().moe_layer->bias.abs().max().item<double>(), 0.0);
    }
    const std::string prefix = std::string(rule) + ":";
    ASSERT_EQ(test::run_command(std::string(LTI_EXE) + " export --threads 1 --data_path " +
                                    dir.file("train.csv") + " --save_dir " + model +
                                    " --redis 127.0.0.1:" + std::to_string(server.port()) +
                                    " --key_prefix " + prefix,
                                out),
              0)
        << out;
    const int rc =
        test::run_command(std::string(LTI_PYTHON) + " " + LTI_SOURCE_DIR +
                              "/tests/python/twin.py " + dir.file("train.csv") + " " + model + " " +
                              std::to_string(server.port()) + " " + prefix + " 1e-5",
                          out);
    EXPECT_EQ(rc, 0) << out;
    EXPECT_NE(out.find("ok: 40 users"), std::string::npos) << out;
  }
}

// The original design's readers call torch.load(path) with no other argument. Since PyTorch 2.6
// that means weights_only=True, which unpickles only tensors, dicts and a short list of safe
// types: every one of the four files must still come back as a dict of tensors.
TEST(PythonInterop, TorchLoadWithItsWeightsOnlyDefaultReturnsEachStateDict) {
  REQUIRE_PYTHON_MODULES("torch");
  test::TempDir dir;
  const Ingested data = test::planted_data(dir, 40, 2400);
  TrainOptions o = test::tiny_train_options(dir.file("model"), 1);
  Trainer trainer(data, o);
  trainer.run();
  const std::string script =
      "import inspect, sys, torch\n"
      "major, minor = (int(x) for x in torch.__version__.split('.')[:2])\n"
      "assert (major, minor) >= (2, 6), 'torch ' + torch.__version__ + ' predates "
      "weights_only=True'\n"
      "for name in ('feature_embedding', 'moe_layer', 'long_term', 'short_term'):\n"
      "    path = sys.argv[1] + '/' + name + '.pth'\n"
      "    state = torch.load(path)\n"
      "    assert type(state) is dict, (name, type(state))\n"
      "    assert state and all(isinstance(v, torch.Tensor) for v in state.values()), name\n"
      "    explicit = torch.load(path, weights_only=True)\n"
      "    assert explicit.keys() == state.keys(), name\n"
      "    assert all(torch.equal(explicit[k], state[k]) for k in state), name\n"
      "    print('ok:', name, len(state), 'tensors')\n";
  test::write_text(dir.file("load.py"), script);
  std::string out;
  EXPECT_EQ(test::run_command(
                std::string(LTI_PYTHON) + " " + dir.file("load.py") + " " + dir.file("model"), out),
            0)
      << out;
  for (const char* name : {"feature_embedding", "moe_layer", "long_term", "short_term"})
    EXPECT_NE(out.find(std::string("ok: ") + name), std::string::npos) << out;
}
