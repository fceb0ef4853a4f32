// Per-interaction feature embedding (SPEC 4.1): seven embeddings concatenated, projected to H,
// layer-normalised. State-dict names follow Appendix A.
#pragma once

#include <torch/torch.h>

#include "lti/model/model_config.h"
#include "lti/model/tensor_batch.h"

namespace lti {

class FeatureEmbeddingImpl : public torch::nn::Module {
 public:
  explicit FeatureEmbeddingImpl(const ModelConfig& config);

  // [B, L] features -> [B, L, H].
  torch::Tensor forward(const BatchTensors& batch);

  torch::nn::Embedding item{nullptr}, category{nullptr}, weekday{nullptr}, hour{nullptr},
      weekend{nullptr}, behavior{nullptr};
  torch::nn::Linear continuous{nullptr}, proj{nullptr};
  torch::nn::LayerNorm norm{nullptr};
};
TORCH_MODULE(FeatureEmbedding);

}  // namespace lti
