// Small models and data sets for the model tests: tiny enough for CI on two cores.
#pragma once

#include "lti/data/ingest.h"
#include "lti/data/synth.h"
#include "lti/model/model_config.h"
#include "lti/train/trainer.h"
#include "test_util.h"

namespace lti::test {

inline ModelConfig tiny_config(int64_t items = 50, int64_t categories = 10) {
  ModelConfig c;
  c.hidden_dim = 16;
  c.item_embedding_dim = 8;
  c.cate_embedding_dim = 8;
  c.depth = 2;
  c.heads = 2;
  c.dim_head = 8;
  c.n_max = 32;
  c.k_max = 8;
  c.moe_experts = 6;
  c.moe_activated = 2;
  c.moe_hidden = 16;
  c.num_items = items;
  c.num_categories = categories;
  return c;
}

// Training options for tiny_config(): CPU, quiet, a fixed seed.
inline TrainOptions tiny_train_options(const std::string& save_dir, int64_t epochs = 2) {
  TrainOptions o;
  o.model = tiny_config();
  o.train.epochs = epochs;
  o.train.batch_size = 32;
  o.train.lr = 3e-3;
  o.train.val_fraction = 0.2;
  o.train.seed = 7;
  o.save_dir = save_dir;
  o.device = "cpu";
  o.precision = "fp32";  // bit-exact determinism; bf16 has its own tests (test_precision.cpp)
  o.progress = false;
  return o;
}

// Planted-interest synthetic data, ingested.
inline Ingested planted_data(const TempDir& dir, uint64_t users = 240, uint64_t rows = 24000,
                             uint64_t seed = 5, double interest_share = 0.9,
                             double interest_drift = 0.5) {
  SynthOptions o;
  o.users = users;
  o.rows = rows;
  o.items = 3000;
  o.categories = 60;
  o.seed = seed;
  o.interest_share = interest_share;
  o.interest_drift = interest_drift;
  synthesize(o, dir.file("train.csv"));
  return ingest(dir.file("train.csv"), {}, 1);
}

}  // namespace lti::test
