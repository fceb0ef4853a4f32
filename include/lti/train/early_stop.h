// When training stops early, and which epoch it keeps, from the validation MRR of each epoch.
// No tensors.
//
// A new best validation MRR alone is a poor signal where few users are validated: on a sparse
// real ratings log some 70 validation users make the MRR jump by 0.02-0.04 between epochs while
// it rises by a few thousandths an epoch for 40-60 epochs. One early lucky epoch then sets a
// bar that `patience` epochs do not clear, and training stops half way. So a plateau also needs
// the trend to have stopped rising: the least-squares line through the last epochs' MRR, which
// averages the jumps out (docs/quality.md, "When training stops").
//
// The same noise picks the epoch kept: with a few dozen validation users, the best of 60-100
// epochs' MRRs is often one that a few users made lucky. --best_window_steps scores an epoch
// by the mean validation MRR of a short run of epochs ending with it instead, so that it must
// be good with its neighbours, not alone. Measured, it kept no better epochs than the epoch's
// own MRR (docs/quality.md, "Few validation users"), so by default the window is one epoch;
// what did help on few validation users is patience alone (--patience_trend_users).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace lti {

// The slope (MRR per epoch) of the least-squares line through the last `window` values, or
// through all of them when there are fewer; 0 with fewer than two.
double recent_slope(const std::vector<double>& values, int64_t window);
// The mean of the last `window` values (of all of them when there are fewer; window < 1 counts
// as 1); 0 when there are none.
double trailing_mean(const std::vector<double>& values, int64_t window);

struct EarlyStop {
  int64_t patience = 0;      // epochs without a better validation MRR; 0 = never stop early
  int64_t trend_window = 0;  // epochs whose line must have stopped rising too; 0 = patience alone
  int64_t best_window = 1;   // epochs whose mean MRR scores the last of them; 1 = its own MRR

  // The score of the last epoch of `val_mrr`: its validation MRR averaged with those of the
  // best_window - 1 epochs before it. The best score picks the epoch kept, and patience counts
  // the epochs since it.
  double score(const std::vector<double>& val_mrr) const;

  // Whether training stops after the epochs whose validation MRR is `val_mrr` (epoch 1 first),
  // the best-scoring of them being `best_epoch` (1-based): `patience` epochs without a better
  // one, and the line through the last `trend_window` epochs flat or falling.
  bool should_stop(const std::vector<double>& val_mrr, int64_t best_epoch) const;
  // For the log: "early stop after 6 epoch(s) without a better validation MRR, once ...".
  std::string describe() const;
  // What score() is, for the log: "validation MRR" or "validation MRR over 5 epochs".
  std::string score_name() const;
  // For the log: "its trend over the last 18 epochs is +0.0042 an epoch" (the window clamped
  // to the epochs there are, as should_stop clamps it).
  std::string trend(const std::vector<double>& val_mrr) const;
};

}  // namespace lti
