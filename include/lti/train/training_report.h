// saved_models/report.html: a self-contained page (inline SVG, no network) with the training
// curves, the expert-usage distribution of every epoch, the configuration and the data.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace lti {

// Renders the report from the content of model.json.
std::string render_training_report(const nlohmann::json& model_json);

}  // namespace lti
