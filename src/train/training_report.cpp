#include "lti/train/training_report.h"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <vector>

#include <fmt/format.h>

namespace lti {

namespace {

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

struct Series {
  std::string name;
  std::vector<double> values;
  std::string color;
};

// A line chart over epochs 1..n with axes, ticks and a legend.
std::string line_chart(const std::string& title, const std::vector<Series>& series,
                       const std::string& y_label) {
  const double w = 560, h = 300, left = 64, right = 20, top = 36, bottom = 48;
  size_t n = 0;
  double lo = 1e300, hi = -1e300;
  for (const auto& s : series) {
    n = std::max(n, s.values.size());
    for (double v : s.values) lo = std::min(lo, v), hi = std::max(hi, v);
  }
  if (n == 0) lo = 0, hi = 1;
  if (hi - lo < 1e-9) lo -= 0.5, hi += 0.5;
  const double pad = (hi - lo) * 0.08;
  lo -= pad;
  hi += pad;
  auto x = [&](size_t i) {
    return left + (n <= 1 ? (w - left - right) / 2 : i * (w - left - right) / (n - 1));
  };
  auto y = [&](double v) { return top + (hi - v) / (hi - lo) * (h - top - bottom); };
  std::ostringstream o;
  o << fmt::format(
      "<svg class=\"chart\" width=\"{}\" height=\"{}\" role=\"img\" aria-label=\"{}\">\n", w, h,
      escape(title));
  o << fmt::format("<text x=\"{}\" y=\"20\" class=\"title\">{}</text>\n", left, escape(title));
  for (int t = 0; t <= 4; ++t) {
    const double v = lo + (hi - lo) * t / 4;
    o << fmt::format("<line x1=\"{}\" x2=\"{}\" y1=\"{:.1f}\" y2=\"{:.1f}\" class=\"grid\"/>", left,
                     w - right, y(v), y(v));
    o << fmt::format(
        "<text x=\"{}\" y=\"{:.1f}\" class=\"tick\" text-anchor=\"end\">{:.3f}</text>\n", left - 6,
        y(v) + 4, v);
  }
  for (size_t i = 0; i < n; ++i)
    o << fmt::format("<text x=\"{:.1f}\" y=\"{}\" class=\"tick\" text-anchor=\"middle\">{}</text>",
                     x(i), h - bottom + 18, i + 1);
  o << fmt::format("<text x=\"{}\" y=\"{}\" class=\"label\" text-anchor=\"middle\">epoch</text>",
                   (left + w - right) / 2, h - 8);
  o << fmt::format(
      "<text x=\"14\" y=\"{}\" class=\"label\" transform=\"rotate(-90 14 {})\" "
      "text-anchor=\"middle\">{}</text>\n",
      (top + h - bottom) / 2, (top + h - bottom) / 2, escape(y_label));
  double legend_x = left + 8;
  for (const auto& s : series) {
    std::string points;
    for (size_t i = 0; i < s.values.size(); ++i)
      points += fmt::format("{:.1f},{:.1f} ", x(i), y(s.values[i]));
    o << fmt::format("<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"2.5\" points=\"{}\"/>\n",
                     s.color, points);
    for (size_t i = 0; i < s.values.size(); ++i)
      o << fmt::format(
          "<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3.5\" fill=\"{}\"><title>{} epoch {}: "
          "{:.4f}</title></circle>",
          x(i), y(s.values[i]), s.color, escape(s.name), i + 1, s.values[i]);
    o << fmt::format(
        "<rect x=\"{}\" y=\"{}\" width=\"14\" height=\"4\" fill=\"{}\"/><text x=\"{}\" y=\"{}\" "
        "class=\"tick\">{}</text>\n",
        legend_x + 150, top - 6, s.color, legend_x + 168, top - 1, escape(s.name));
    legend_x += 130;
  }
  o << "</svg>\n";
  return o.str();
}

// Expert shares of every epoch as a heat map: one row per epoch, one cell per expert.
std::string usage_heatmap(const std::vector<std::vector<double>>& shares) {
  const size_t epochs = shares.size(), experts = epochs ? shares[0].size() : 0;
  const double cell_w = std::max(3.0, std::min(14.0, 540.0 / std::max<size_t>(experts, 1)));
  const double cell_h = 22, left = 64, top = 36;
  // At least as wide as the title and the legend.
  const double w = std::max(560.0, left + cell_w * experts + 20), h = top + cell_h * epochs + 60;
  std::ostringstream o;
  o << fmt::format(
      "<svg class=\"chart\" width=\"{:.0f}\" height=\"{:.0f}\" role=\"img\" aria-label=\"expert "
      "usage\">\n",
      w, h);
  o << fmt::format(
      "<text x=\"{}\" y=\"20\" class=\"title\">Expert usage per epoch (share of activations; 1.0 = "
      "fair share)</text>\n",
      left);
  auto color = [](double share) {
    // White at 0, blue at a fair share, dark red at 3x or more.
    const double t = std::min(share, 3.0);
    int r, g, b;
    if (t <= 1) {
      r = static_cast<int>(255 - 190 * t), g = static_cast<int>(255 - 125 * t),
      b = static_cast<int>(255 - 15 * t);
    } else {
      const double u = (t - 1) / 2;
      r = static_cast<int>(65 + 125 * u), g = static_cast<int>(130 - 110 * u),
      b = static_cast<int>(240 - 200 * u);
    }
    return fmt::format("rgb({},{},{})", r, g, b);
  };
  for (size_t e = 0; e < epochs; ++e) {
    o << fmt::format(
        "<text x=\"{}\" y=\"{:.1f}\" class=\"tick\" text-anchor=\"end\">epoch {}</text>", left - 6,
        top + e * cell_h + 15, e + 1);
    for (size_t i = 0; i < shares[e].size(); ++i)
      o << fmt::format(
          "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" "
          "fill=\"{}\"><title>epoch {} expert {}: {:.2f}</title></rect>",
          left + i * cell_w, top + e * cell_h, cell_w, cell_h - 2, color(shares[e][i]), e + 1, i,
          shares[e][i]);
    o << "\n";
  }
  const double ly = top + epochs * cell_h + 16;
  const double marks[] = {0.0, 0.5, 1.0, 2.0, 3.0};
  for (int k = 0; k < 5; ++k) {
    o << fmt::format(
        "<rect x=\"{}\" y=\"{:.1f}\" width=\"28\" height=\"12\" fill=\"{}\" stroke=\"#999\"/>",
        left + k * 70, ly, color(marks[k]));
    o << fmt::format("<text x=\"{}\" y=\"{:.1f}\" class=\"tick\">{}{}</text>", left + k * 70 + 32,
                     ly + 10, marks[k], k == 4 ? "+" : "");
  }
  o << fmt::format(
      "<text x=\"{}\" y=\"{:.1f}\" class=\"label\">experts 0..{} left to right</text>\n</svg>\n",
      left, ly + 36, experts ? experts - 1 : 0);
  return o.str();
}

std::string table_of(const nlohmann::json& object) {
  std::string rows;
  for (auto it = object.begin(); it != object.end(); ++it)
    rows += "<tr><th>" + escape(it.key()) + "</th><td>" +
            escape(it.value().is_string() ? it.value().get<std::string>() : it.value().dump()) +
            "</td></tr>\n";
  return "<table>\n" + rows + "</table>\n";
}

}  // namespace

std::string render_training_report(const nlohmann::json& j) {
  std::vector<double> loss, val_loss, recall, mrr, cv;
  const int64_t best_epoch = j.value("best_epoch", int64_t{0});
  std::vector<std::vector<double>> shares;
  std::string epoch_rows;
  for (const auto& e : j.value("epochs", nlohmann::json::array())) {
    loss.push_back(e.value("loss", 0.0));
    val_loss.push_back(e.value("val_loss", 0.0));
    recall.push_back(e.value("val_recall_at_10", 0.0));
    mrr.push_back(e.value("val_mrr", 0.0));
    const auto usage = e.value("expert_usage", nlohmann::json::object());
    shares.push_back(usage.value("share", std::vector<double>{}));
    epoch_rows += fmt::format(
        "<tr><td>{}{}</td><td>{:.4f}</td><td>{:.4f}</td><td>{:.4f}</td><td>{:.4f}</td><td>{:.4f}</"
        "td>"
        "<td>{:.0f}</td><td>{:.2f}</td><td>{:.2f}</td><td>{:.3f}</td><td>{:.3f}</td></tr>\n",
        e.value("epoch", 0), e.value("epoch", int64_t{0}) == best_epoch ? " (kept)" : "",
        e.value("loss", 0.0), e.value("val_loss", 0.0), e.value("val_separation", 0.0),
        e.value("val_recall_at_10", 0.0), e.value("val_mrr", 0.0), e.value("tokens_per_s", 0.0),
        usage.value("min", 0.0), usage.value("max", 0.0), usage.value("cv", 0.0),
        usage.value("entropy_ratio", 0.0));
  }
  std::ostringstream o;
  o << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>lti training "
       "report</title>\n<style>\n"
       "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2em "
       "auto;max-width:1100px;color:#222;padding:0 1em}\n"
       "h1{font-size:1.6em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ddd}\n"
       "figure{margin:1em "
       "0;display:inline-block;vertical-align:top}figcaption{font-size:.9em;color:#555;max-width:"
       "560px}\n"
       "table{border-collapse:collapse;font-size:.9em}td,th{border:1px solid #ddd;padding:3px "
       "8px;text-align:left}\n"
       "th{background:#f5f5f5}.chart .title{font-size:14px;font-weight:600}.chart "
       ".tick{font-size:11px;fill:#444}\n"
       ".chart .label{font-size:12px;fill:#333}.chart .grid{stroke:#e6e6e6}\n"
       ".cols{display:flex;gap:2em;flex-wrap:wrap}\n</style>\n</head>\n<body>\n";
  o << "<h1>lti training report</h1>\n";
  o << fmt::format(
      "<p>{} epoch(s) completed on {} with LibTorch {}; the model kept is epoch {}, "
      "the best validation MRR.</p>\n",
      j.value("epochs_completed", 0), escape(j.value("device", std::string("?"))),
      escape(j.value("libtorch", std::string("?"))), best_epoch);
  o << "<h2>Training</h2>\n";
  o << "<figure>"
    << line_chart("Loss per epoch",
                  {{"train loss", loss, "#1f77b4"}, {"validation loss", val_loss, "#ff7f0e"}},
                  "loss")
    << "<figcaption>Mean training loss and validation loss (validation users, fixed "
       "negatives).</figcaption></figure>\n";
  o << "<figure>"
    << line_chart("Validation Recall@10 and MRR per epoch",
                  {{"Recall@10", recall, "#2ca02c"}, {"MRR", mrr, "#9467bd"}}, "")
    << "<figcaption>Share of validation users whose long vector ranks their own short vector in "
       "the top 10 among all validation users, and the mean reciprocal rank of it (the epoch "
       "with the best MRR is the one kept).</figcaption></figure>\n";
  o << "<h2>Mixture of experts</h2>\n<figure>" << usage_heatmap(shares)
    << "<figcaption>Each row is one epoch's expert-usage distribution (1.0 = a fair share). With "
       "the balancing bias (the default) it evens out within the first epoch and stays even; "
       "with the original rule (divide) it alternates between two states.</figcaption></figure>\n";
  o << "<h2>Epochs</h2>\n<table>\n<tr><th>epoch</th><th>loss</th><th>val loss</th><th>val "
       "separation</th><th>val Recall@10</th><th>val MRR</th>"
       "<th>tokens/s</th><th>usage min</th><th>usage max</th><th>usage "
       "cv</th><th>entropy</th></tr>\n"
    << epoch_rows << "</table>\n";
  o << "<div class=\"cols\"><div><h2>Model configuration</h2>\n"
    << table_of(j.value("model", nlohmann::json::object()))
    << "</div><div><h2>Training configuration</h2>\n"
    << table_of(j.value("train", nlohmann::json::object())) << "<h2>Vocabulary</h2>\n"
    << table_of(j.value("vocabulary", nlohmann::json::object())) << "</div><div><h2>Data</h2>\n"
    << table_of(j.value("data", nlohmann::json::object())) << "</div></div>\n";
  o << "</body>\n</html>\n";
  return o.str();
}

}  // namespace lti
