#include "lti/model/model_config.h"

#include <algorithm>

#include "lti/util/errors.h"
#include "lti/util/rng.h"

namespace lti {

void ModelConfig::validate() const {
  auto fail = [](const std::string& m) { throw Error(kExitUsage, m); };
  auto positive = [&](int64_t v, const char* name) {
    if (v <= 0) fail(std::string("--") + name + " must be positive");
  };
  positive(hidden_dim, "hidden_dim");
  positive(item_embedding_dim, "item_embedding_dim");
  positive(cate_embedding_dim, "cate_embedding_dim");
  positive(depth, "depth");
  positive(heads, "heads");
  positive(dim_head, "dim_head");
  positive(n_max, "n_max");
  positive(k_max, "k_max");
  positive(moe_experts, "moe_experts");
  positive(moe_activated, "moe_activated");
  positive(moe_hidden, "moe_hidden");
  if (moe_shared < 0) fail("--moe_shared must be >= 0");
  if (moe_activated > moe_experts) fail("--moe_activated must not exceed --moe_experts");
  if (dropout < 0 || dropout >= 1) fail("--dropout must be in [0, 1)");
  if (moe_dropout < 0 || moe_dropout >= 1) fail("--moe_dropout must be in [0, 1)");
  if (moe_load_floor <= 0) fail("--moe_load_floor must be positive");
  if (tower_init != "mean_pooling" && tower_init != "random")
    fail("--tower_init must be mean_pooling or random");
  if (time_init != "zero" && time_init != "random") fail("--time_init must be zero or random");
  if (moe_bias_rate < 0) fail("--moe_bias_rate must be >= 0");
  if (moe_balance != "bias" && moe_balance != "divide" && moe_balance != "none")
    fail("--moe_balance must be bias, divide or none");
}

nlohmann::json ModelConfig::to_json() const {
  return {{"hidden_dim", hidden_dim},
          {"item_embedding_dim", item_embedding_dim},
          {"cate_embedding_dim", cate_embedding_dim},
          {"depth", depth},
          {"heads", heads},
          {"dim_head", dim_head},
          {"dropout", dropout},
          {"tower_init", tower_init},
          {"time_init", time_init},
          {"n_max", n_max},
          {"k_max", k_max},
          {"moe_experts", moe_experts},
          {"moe_shared", moe_shared},
          {"moe_activated", moe_activated},
          {"moe_hidden", moe_hidden},
          {"moe_dropout", moe_dropout},
          {"moe_load_floor", moe_load_floor},
          {"moe_balance_power", moe_balance_power},
          {"moe_balance", moe_balance},
          {"moe_bias_rate", moe_bias_rate},
          {"num_items", num_items},
          {"num_categories", num_categories},
          {"min_item_count", min_item_count}};
}

ModelConfig ModelConfig::from_json(const nlohmann::json& j) {
  ModelConfig c;
  try {
    c.hidden_dim = j.at("hidden_dim");
    c.item_embedding_dim = j.at("item_embedding_dim");
    c.cate_embedding_dim = j.at("cate_embedding_dim");
    c.depth = j.at("depth");
    c.heads = j.at("heads");
    c.dim_head = j.at("dim_head");
    c.dropout = j.at("dropout");
    c.tower_init = j.value("tower_init", std::string("random"));
    c.time_init = j.value("time_init", std::string("random"));
    c.n_max = j.at("n_max");
    c.k_max = j.at("k_max");
    c.moe_experts = j.at("moe_experts");
    c.moe_shared = j.at("moe_shared");
    c.moe_activated = j.at("moe_activated");
    c.moe_hidden = j.at("moe_hidden");
    c.moe_dropout = j.at("moe_dropout");
    c.moe_load_floor = j.at("moe_load_floor");
    c.moe_balance_power = j.at("moe_balance_power");
    c.moe_balance = j.at("moe_balance");
    // Models of format 1 before the bias rule called the original rule "epoch".
    if (c.moe_balance == "epoch") c.moe_balance = "divide";
    c.moe_bias_rate = j.value("moe_bias_rate", 0.0);
    c.num_items = j.at("num_items");
    c.num_categories = j.at("num_categories");
    c.min_item_count = j.at("min_item_count");
  } catch (const nlohmann::json::exception& e) {
    throw ModelError(std::string("model.json: bad or missing hyper-parameter: ") + e.what());
  }
  return c;
}

nlohmann::json TrainConfig::to_json() const {
  return {{"epochs", epochs},
          {"min_steps", min_steps},
          {"max_auto_epochs", max_auto_epochs},
          {"patience", patience},
          {"patience_steps", patience_steps},
          {"patience_trend", patience_trend},
          {"patience_trend_users", patience_trend_users},
          {"best_window_steps", best_window_steps},
          {"batch_size", batch_size},
          {"sort_window", sort_window},
          {"min_prefix", min_prefix},
          {"lr", lr},
          {"embedding_lr", embedding_lr},
          {"loss", loss},
          {"temperature", temperature},
          {"bpr_scale", bpr_scale},
          {"val_fraction", val_fraction},
          {"test_fraction", test_fraction},
          {"split", split},
          {"eval_split", eval_split},
          {"min_gap_hours", min_gap_hours},
          {"short_time", short_time},
          {"one_sitting", one_sitting},
          {"val_one_sitting", val_one_sitting},
          {"ema_steps", ema_steps},
          {"seed", seed},
          {"max_steps_per_epoch", max_steps_per_epoch}};
}

int64_t TrainConfig::resolved_epochs(int64_t steps_per_epoch) const {
  if (epochs > 0) return epochs;
  const int64_t steps = std::max<int64_t>(steps_per_epoch, 1);
  return std::clamp<int64_t>((min_steps + steps - 1) / steps, 1, max_auto_epochs);
}

int64_t TrainConfig::patience_epochs(int64_t steps_per_epoch) const {
  if (patience <= 0) return 0;
  const int64_t steps = std::max<int64_t>(steps_per_epoch, 1);
  return std::max(patience, (patience_steps + steps - 1) / steps);
}

int64_t TrainConfig::best_window_epochs(int64_t steps_per_epoch) const {
  const int64_t steps = std::max<int64_t>(steps_per_epoch, 1);
  return std::max<int64_t>(1, (best_window_steps + steps - 1) / steps);
}

UserRole user_role(uint64_t raw_user_id, double val_fraction, double test_fraction) {
  uint64_t state = raw_user_id ^ 0x6c7469u;  // "lti"
  const auto share = static_cast<double>(splitmix64(state) % 1000000);
  if (share < val_fraction * 1000000.0) return UserRole::kValidation;
  if (share < (val_fraction + test_fraction) * 1000000.0) return UserRole::kTest;
  return UserRole::kTrain;
}

}  // namespace lti
