#include <gtest/gtest.h>

#include "lti/train/training_report.h"

using namespace lti;

namespace {

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
  return n;
}

}  // namespace

TEST(TrainingReport, SelfContainedHtmlWithOneChartPerFigure) {
  nlohmann::json j;
  j["epochs_completed"] = 3;
  j["device"] = "cpu";
  j["best_epoch"] = 2;
  j["model"] = {{"hidden_dim", 128}, {"moe_balance", "bias"}};
  j["train"] = {{"epochs", 3}};
  j["data"] = {{"rows", 1000}};
  for (int e = 1; e <= 3; ++e) {
    j["epochs"].push_back(
        {{"epoch", e},
         {"loss", 0.7 - 0.1 * e},
         {"val_loss", 0.68 - 0.08 * e},
         {"val_separation", 0.1 * e},
         {"val_recall_at_10", 0.05 * e},
         {"val_mrr", 0.02 * e},
         {"tokens_per_s", 1000},
         {"expert_usage",
          {{"share", {0.5, 1.5, 1.0, e * 0.5}}, {"min", 0.5}, {"max", 1.5}, {"cv", 0.3}}}});
  }
  const std::string html = render_training_report(j);
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(html.find("</html>"), std::string::npos);
  EXPECT_EQ(count(html, "<svg"), 3u);
  EXPECT_EQ(count(html, "</svg>"), 3u);
  EXPECT_EQ(count(html, "<figure>"), 3u);
  EXPECT_EQ(count(html, "<polyline"), 4u);  // loss, validation loss, Recall@10, MRR
  EXPECT_EQ(count(html, "(kept)"), 1u);     // the best epoch's row
  EXPECT_NE(html.find("<td>2 (kept)</td>"), std::string::npos);
  EXPECT_EQ(count(html, "expert 3:"), 3u);           // one heat-map cell per epoch for expert 3
  EXPECT_EQ(html.find("http:"), std::string::npos);  // no external resource of any kind
  EXPECT_EQ(html.find("https:"), std::string::npos);
  EXPECT_EQ(html.find("src="), std::string::npos);
  EXPECT_NE(html.find("hidden_dim"), std::string::npos);
  EXPECT_EQ(count(html, "<table>"), count(html, "</table>"));
}
