#include "lti/data/label_encoder.h"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <limits>
#include <sstream>

#include "lti/util/atomic_file.h"
#include "lti/util/errors.h"

namespace lti {

void LabelEncoder::fit(const std::vector<uint64_t>& raw_ids, uint64_t min_count) {
  min_count_ = std::max<uint64_t>(min_count, 1);
  // Count in a hash map and sort only the distinct values: far cheaper than sorting every row
  // when, as with users and categories, millions of rows share a few thousand values.
  IdMap counts(1024);
  for (uint64_t id : raw_ids) {
    uint32_t& c = counts[id];
    c = c == IdMap::kMissing ? 1 : (c == IdMap::kMissing - 1 ? c : c + 1);
  }
  raw_ids_.clear();
  raw_ids_.reserve(counts.size());
  counts.for_each([&](uint64_t id, uint32_t c) {
    if (c >= min_count_) raw_ids_.push_back(id);
  });
  std::sort(raw_ids_.begin(), raw_ids_.end());
  build_index();
}

void LabelEncoder::build_index() {
  index_ = IdMap(raw_ids_.size());
  for (size_t i = 0; i < raw_ids_.size(); ++i)
    index_[raw_ids_[i]] = static_cast<uint32_t>(i + kFirstKnown);
}

std::vector<uint32_t> LabelEncoder::encode_all(const std::vector<uint64_t>& raw_ids) const {
  std::vector<uint32_t> out(raw_ids.size());
  for (size_t i = 0; i < raw_ids.size(); ++i) out[i] = encode(raw_ids[i]);
  return out;
}

std::string LabelEncoder::to_text() const {
  std::string text = "# lti-encoder v1 name=" + name_ +
                     " known=" + std::to_string(raw_ids_.size()) +
                     " min_count=" + std::to_string(min_count_) + "\n";
  text.reserve(text.size() + raw_ids_.size() * 11);
  char buf[24];
  for (uint64_t id : raw_ids_) {
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, id);
    text.append(buf, end);
    text.push_back('\n');
  }
  return text;
}

void LabelEncoder::save(const std::string& path) const { write_file_atomically(path, to_text()); }

LabelEncoder LabelEncoder::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ModelError("cannot open encoder file '" + path + "'");
  std::string header;
  std::getline(in, header);
  std::istringstream fields(header);
  std::string hash, magic, version;
  fields >> hash >> magic >> version;
  if (hash != "#" || magic != "lti-encoder" || version != "v1")
    throw ModelError("'" + path + "':1: not an lti encoder file (expected '# lti-encoder v1 ...')");
  LabelEncoder enc;
  uint64_t known = 0;
  bool have_known = false;
  std::string kv;
  while (fields >> kv) {
    const auto eq = kv.find('=');
    const std::string key = kv.substr(0, eq),
                      value = eq == std::string::npos ? "" : kv.substr(eq + 1);
    auto number = [&] {
      uint64_t n = 0;
      const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (value.empty() || ec != std::errc() || ptr != value.data() + value.size())
        throw ModelError("'" + path + "':1: bad value for " + key + ": '" + value.substr(0, 40) +
                         "'");
      return n;
    };
    if (key == "name") enc.name_ = value;
    if (key == "known") known = number(), have_known = true;
    if (key == "min_count") enc.min_count_ = number();
  }
  if (!have_known) throw ModelError("'" + path + "':1: header lacks known=<count>");
  // Indices are 32-bit, and 0 and 1 are taken.
  if (known > std::numeric_limits<uint32_t>::max() - kFirstKnown)
    throw ModelError("'" + path + "':1: known=" + std::to_string(known) + " is more ids than " +
                     "an encoder holds");
  // The header is not trusted with the allocation: a damaged count must not ask for gigabytes
  // before the ids that follow show it wrong.
  enc.raw_ids_.reserve(std::min<uint64_t>(known, 1u << 20));
  std::string line;
  uint64_t line_no = 1;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    uint64_t id = 0;
    auto [ptr, ec] = std::from_chars(line.data(), line.data() + line.size(), id);
    if (line.empty() || ec != std::errc() || ptr != line.data() + line.size())
      throw ModelError("'" + path + "':" + std::to_string(line_no) + ": not a raw id: '" +
                       line.substr(0, 40) + "'");
    if (!enc.raw_ids_.empty() && id <= enc.raw_ids_.back())
      throw ModelError("'" + path + "':" + std::to_string(line_no) +
                       ": ids must be strictly ascending");
    enc.raw_ids_.push_back(id);
  }
  if (enc.raw_ids_.size() != known)
    throw ModelError("'" + path + "': header says known=" + std::to_string(known) + " but " +
                     std::to_string(enc.raw_ids_.size()) + " ids follow (truncated file?)");
  enc.build_index();
  return enc;
}

}  // namespace lti
