#include "lti/model/model.h"

#include <caffe2/serialize/inline_container.h>
#include <torch/csrc/jit/serialization/export.h>
#include <torch/csrc/jit/serialization/pickler.h>

#include <fstream>
#include <iterator>

#include "lti/util/atomic_file.h"
#include "lti/util/errors.h"

namespace lti {

UserInterestModel::UserInterestModel(const ModelConfig& config) : config_(config) {
  feature_embedding = FeatureEmbedding(config);
  moe_layer = MoE(config);
  long_term = Tower(config, config.n_max);
  short_term = Tower(config, config.k_max);
  if (config.tower_init == "mean_pooling") long_term->start_as_mean_pooling();
  start_towers_alike();
}

// The towers keep separate weights, but they start from the same ones (the short tower's
// recency table is the first K_MAX + 1 rows of the long tower's): at step 0 both map a sequence
// to the same vector, so training refines an aligned pair instead of first having to align two
// random functions. With few steps this is the difference between beating mean pooling or not.
void UserInterestModel::start_towers_alike() {
  torch::NoGradGuard no_grad;
  const auto source = long_term->named_parameters();
  for (auto& target : short_term->named_parameters()) {
    const torch::Tensor& from = source[target.key()];
    target.value().copy_(from.narrow(0, 0, target.value().size(0)));
  }
}

torch::Tensor UserInterestModel::encode_long(const BatchTensors& batch) {
  const AutocastScope autocast(precision_, device_);
  const auto mixed = moe_layer(feature_embedding(batch), batch.valid);
  return long_term(mixed, batch.position).to(torch::kFloat);
}

torch::Tensor UserInterestModel::encode_short(const BatchTensors& batch) {
  const AutocastScope autocast(precision_, device_);
  const auto mixed = moe_layer(feature_embedding(batch), batch.valid);
  return short_term(mixed, batch.position).to(torch::kFloat);
}

std::pair<torch::Tensor, torch::Tensor> UserInterestModel::encode_batches(
    const std::vector<BatchTensors>& longs, const std::vector<BatchTensors>& shorts) {
  const AutocastScope autocast(precision_, device_);
  std::vector<const BatchTensors*> batches;
  for (const auto& b : longs) batches.push_back(&b);
  for (const auto& b : shorts) batches.push_back(&b);
  // Every batch's positions as one [N, H] matrix through embedding and MoE, then cut back.
  // One embedding call, not one per batch: the item table's gradient is dense (2.6 M x 64 on
  // the Tianchi preset), and each call would allocate, fill and add up another copy of it.
  std::vector<int64_t> rows;
  for (const BatchTensors* b : batches) rows.push_back(b->valid.numel());
  const BatchTensors all = BatchTensors::positions_of(batches);
  const auto mixed =
      moe_layer(feature_embedding(all).squeeze(0), all.valid.squeeze(0)).split_with_sizes(rows);
  std::vector<torch::Tensor> long_vecs, short_vecs;
  for (size_t i = 0; i < batches.size(); ++i) {
    const BatchTensors& b = *batches[i];
    const auto x = mixed[i].view({b.valid.size(0), b.valid.size(1), -1});
    if (i < longs.size())
      long_vecs.push_back(long_term(x, b.position).to(torch::kFloat));
    else
      short_vecs.push_back(short_term(x, b.position).to(torch::kFloat));
  }
  return {torch::cat(long_vecs), torch::cat(short_vecs)};
}

std::optional<ExpertUsage> UserInterestModel::calibrate_balance(
    const std::vector<BatchTensors>& batches) {
  torch::NoGradGuard no_grad;
  const AutocastScope autocast(precision_, device_);  // the embedding as training computes it
  std::vector<const BatchTensors*> pointers;
  for (const auto& b : batches) pointers.push_back(&b);
  const BatchTensors all = BatchTensors::positions_of(pointers);
  return moe_layer->calibrate_bias(feature_embedding(all), all.valid);
}

void UserInterestModel::to(const torch::Device& device) {
  device_ = device;
  feature_embedding->to(device);
  moe_layer->to(device);
  long_term->to(device);
  short_term->to(device);
}

void UserInterestModel::train(bool on) {
  feature_embedding->train(on);
  moe_layer->train(on);
  long_term->train(on);
  short_term->train(on);
}

namespace {

// The four modules' tensors of one kind, in a fixed order.
template <typename Get>
std::vector<torch::Tensor> tensors_of(const UserInterestModel& model, Get get) {
  std::vector<torch::Tensor> all;
  for (const torch::nn::Module* m :
       {static_cast<const torch::nn::Module*>(model.feature_embedding.get()),
        static_cast<const torch::nn::Module*>(model.moe_layer.get()),
        static_cast<const torch::nn::Module*>(model.long_term.get()),
        static_cast<const torch::nn::Module*>(model.short_term.get())})
    for (const auto& t : get(*m)) all.push_back(t);
  return all;
}

}  // namespace

std::vector<torch::Tensor> UserInterestModel::parameters() const {
  return tensors_of(*this, [](const torch::nn::Module& m) { return m.parameters(); });
}

std::vector<torch::Tensor> UserInterestModel::buffers() const {
  return tensors_of(*this, [](const torch::nn::Module& m) { return m.buffers(); });
}

int64_t UserInterestModel::parameter_count() const {
  int64_t n = 0;
  for (const auto& p : parameters()) n += p.numel();
  return n;
}

void UserInterestModel::stage_weights(const std::string& dir, StagedFiles& files) const {
  files.add(dir + "/feature_embedding.pth", state_dict_bytes(*feature_embedding));
  files.add(dir + "/moe_layer.pth", state_dict_bytes(*moe_layer));
  files.add(dir + "/long_term.pth", state_dict_bytes(*long_term));
  files.add(dir + "/short_term.pth", state_dict_bytes(*short_term));
}

void UserInterestModel::load_weights(const std::string& dir) {
  load_state_dict(*feature_embedding, dir + "/feature_embedding.pth");
  load_state_dict(*moe_layer, dir + "/moe_layer.pth");
  load_state_dict(*long_term, dir + "/long_term.pth");
  load_state_dict(*short_term, dir + "/short_term.pth");
}

std::string state_dict_bytes(const torch::nn::Module& module) {
  c10::Dict<std::string, at::Tensor> dict;
  for (const auto& item : module.named_parameters(/*recurse=*/true))
    dict.insert(item.key(), item.value().detach().to(torch::kCPU).contiguous());
  for (const auto& item : module.named_buffers(/*recurse=*/true))
    dict.insert(item.key(), item.value().detach().to(torch::kCPU).contiguous());
  // What torch.save writes, without the element-type tag torch::pickle_save puts on every dict
  // (a call of torch.jit._pickle.restore_type_tag, which torch.load's weights_only=True, its
  // default since PyTorch 2.6, refuses): a plain dict of tensors.
  std::vector<char> pickle;
  torch::jit::Pickler pickler(
      [&](const char* bytes, size_t size) { pickle.insert(pickle.end(), bytes, bytes + size); },
      /*tensor_table=*/nullptr, /*type_renamer=*/nullptr, /*memoized_class_types=*/nullptr,
      /*get_tensor_id=*/nullptr, /*tag_aggregates=*/false);
  pickler.protocol();
  pickler.pushIValue(c10::IValue(dict));
  pickler.stop();
  std::string archive;
  caffe2::serialize::PyTorchStreamWriter writer([&](const void* bytes, size_t size) {
    archive.append(static_cast<const char*>(bytes), size);
    return size;
  });
  torch::jit::writeArchiveAndTensors("data", pickle.data(), pickle.size(), pickler.tensorData(),
                                     writer);
  writer.writeEndOfFile();
  return archive;
}

void load_state_dict(torch::nn::Module& module, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ModelError("cannot open model file '" + path + "'");
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in)),
                                std::istreambuf_iterator<char>());
  c10::IValue loaded;
  try {
    loaded = torch::pickle_load(bytes);
  } catch (const std::exception& e) {
    throw ModelError("'" + path + "' is not a readable state dict (truncated or foreign file?)");
  }
  if (!loaded.isGenericDict()) throw ModelError("'" + path + "' does not hold a dict of tensors");
  const auto dict = loaded.toGenericDict();
  torch::NoGradGuard no_grad;
  size_t matched = 0;
  auto assign = [&](const std::string& name, torch::Tensor& target) {
    const auto it = dict.find(c10::IValue(name));
    if (it == dict.end()) throw ModelError("'" + path + "' lacks '" + name + "'");
    if (!it->value().isTensor()) throw ModelError("'" + path + "': '" + name + "' is not a tensor");
    const auto value = it->value().toTensor();
    if (value.sizes() != target.sizes())
      throw ModelError("'" + path + "': '" + name + "' has shape " + c10::str(value.sizes()) +
                       " but the configuration in model.json gives " + c10::str(target.sizes()));
    target.copy_(value);
    ++matched;
  };
  for (auto& item : module.named_parameters(true)) assign(item.key(), item.value());
  for (auto& item : module.named_buffers(true)) assign(item.key(), item.value());
  if (matched != dict.size())
    throw ModelError("'" + path + "' holds " + std::to_string(dict.size() - matched) +
                     " tensor(s) this model does not have");
}

}  // namespace lti
