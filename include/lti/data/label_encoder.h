// Label encoding of raw ids (SPEC section 3.1): 0 = padding, 1 = unknown, known values get
// 2, 3, ... in ascending order of the raw id, so the encoding does not depend on row order.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "lti/util/id_map.h"

namespace lti {

class LabelEncoder {
 public:
  static constexpr uint32_t kPadding = 0;
  static constexpr uint32_t kUnknown = 1;
  static constexpr uint32_t kFirstKnown = 2;

  LabelEncoder() = default;
  explicit LabelEncoder(std::string name) : name_(std::move(name)) {}

  // Learns the vocabulary: every raw id seen in at least `min_count` rows.
  void fit(const std::vector<uint64_t>& raw_ids, uint64_t min_count = 1);

  uint32_t encode(uint64_t raw_id) const { return index_.get(raw_id, kUnknown); }
  std::vector<uint32_t> encode_all(const std::vector<uint64_t>& raw_ids) const;

  // The raw id of a known index (>= 2).
  uint64_t decode(uint32_t index) const { return raw_ids_.at(index - kFirstKnown); }

  size_t num_known() const { return raw_ids_.size(); }
  // Rows of an embedding table over this vocabulary: known values plus padding and unknown.
  size_t table_size() const { return raw_ids_.size() + kFirstKnown; }
  const std::string& name() const { return name_; }
  uint64_t min_count() const { return min_count_; }
  const std::vector<uint64_t>& known_raw_ids() const { return raw_ids_; }

  // Text format, one value per line:
  //   # lti-encoder v1 name=<name> known=<N> min_count=<M>
  //   <raw id of index 2>
  //   <raw id of index 3>
  //   ...
  std::string to_text() const;
  void save(const std::string& path) const;           // atomic
  static LabelEncoder load(const std::string& path);  // throws ModelError

 private:
  void build_index();

  std::string name_;
  uint64_t min_count_ = 1;
  std::vector<uint64_t> raw_ids_;  // ascending; raw_ids_[i] has index i + 2
  IdMap index_;
};

}  // namespace lti
