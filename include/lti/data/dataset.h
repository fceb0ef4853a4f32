// Encoded interactions grouped per user and sorted by time (SPEC section 3.1-3.2).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "lti/data/csv_reader.h"
#include "lti/data/label_encoder.h"
#include "lti/util/atomic_file.h"

namespace lti {

// The three vocabularies a model is trained with and exported with.
struct Encoders {
  LabelEncoder user{"user"};
  LabelEncoder item{"item"};
  LabelEncoder category{"category"};

  // Learns all three from the data; items seen in fewer than min_item_count rows stay unknown.
  static Encoders fit(const RawInteractions& rows, uint64_t min_item_count);

  // Adds user_encoder.txt, item_encoder.txt, category_encoder.txt to files that replace their
  // targets together (atomic_file.h): the trainer writes them with the first epoch.
  void stage(const std::string& dir, StagedFiles& files) const;
  static Encoders load(const std::string& dir);
};

// A half-open range of rows of one user inside an EncodedDataset.
struct RowRange {
  uint64_t begin = 0;
  uint64_t end = 0;
  uint64_t size() const { return end - begin; }
};

// Columns sorted by (user, time, file order). User u (0-based, encoder index u + 2) owns rows
// [user_offsets[u], user_offsets[u + 1]).
struct EncodedDataset {
  std::vector<uint32_t> item;
  std::vector<uint32_t> category;
  std::vector<uint8_t> behavior;
  std::vector<UnixHour> time;
  std::vector<uint64_t> user_offsets;  // num_users() + 1 entries
  std::vector<uint64_t> user_raw_id;   // raw id of each user u

  size_t num_rows() const { return item.size(); }
  size_t num_users() const { return user_raw_id.size(); }
  RowRange user_rows(size_t u) const { return {user_offsets[u], user_offsets[u + 1]}; }

  // Encodes `rows` with `encoders` and sorts them. Users unknown to the user encoder get
  // their own entries too (export must cover every user of the data), after the known ones.
  static EncodedDataset build(const RawInteractions& rows, const Encoders& encoders);
};

}  // namespace lti
