// The four parts of the model (SPEC section 4) and how they are chained, saved and loaded.
#pragma once

#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

#include "lti/model/feature_embedding.h"
#include "lti/model/model_config.h"
#include "lti/model/moe.h"
#include "lti/model/precision.h"
#include "lti/model/tensor_batch.h"
#include "lti/model/tower.h"
#include "lti/util/atomic_file.h"

namespace lti {

class UserInterestModel {
 public:
  explicit UserInterestModel(const ModelConfig& config);

  // Feature embedding -> MoE -> tower: [B, H] fp32 vectors, computed in the set precision.
  torch::Tensor encode_long(const BatchTensors& batch);
  torch::Tensor encode_short(const BatchTensors& batch);
  // Training's step: the long vectors of `longs` and the short vectors of `shorts`, each
  // concatenated in order ([sum B, H] fp32). One MoE pass routes the tokens of every batch
  // (per token, so the result is that of encode_long/encode_short batch by batch), rather than
  // one pass of its 100 experts per batch.
  std::pair<torch::Tensor, torch::Tensor> encode_batches(const std::vector<BatchTensors>& longs,
                                                         const std::vector<BatchTensors>& shorts);

  // Sets the MoE's balancing bias from the routing of these batches' tokens before training
  // starts (MoEImpl::calibrate_bias); returns their expert usage, nullopt if the rule is not
  // "bias".
  std::optional<ExpertUsage> calibrate_balance(const std::vector<BatchTensors>& batches);

  void to(const torch::Device& device);
  // kBf16: autocast while encoding (precision.h); the weights stay fp32 either way.
  void set_precision(Precision precision) { precision_ = precision; }
  void train(bool on = true);
  std::vector<torch::Tensor> parameters() const;
  std::vector<torch::Tensor> buffers() const;  // the MoE's load and bias
  int64_t parameter_count() const;

  // The four state dicts: feature_embedding.pth, moe_layer.pth, long_term.pth, short_term.pth
  // (each a dict name -> tensor that Python's torch.load() reads), staged in `files` to be
  // committed with the rest of a checkpoint.
  void stage_weights(const std::string& dir, StagedFiles& files) const;
  // Loads them; every key and shape must match (ModelError otherwise).
  void load_weights(const std::string& dir);

  const ModelConfig& config() const { return config_; }

  FeatureEmbedding feature_embedding{nullptr};
  MoE moe_layer{nullptr};
  Tower long_term{nullptr};
  Tower short_term{nullptr};

 private:
  void start_towers_alike();
  ModelConfig config_;
  torch::Device device_{torch::kCPU};
  Precision precision_ = Precision::kFp32;
};

// A module's parameters and buffers as a name -> tensor dict, pickled for torch.load().
std::string state_dict_bytes(const torch::nn::Module& module);
void load_state_dict(torch::nn::Module& module, const std::string& path);

}  // namespace lti
