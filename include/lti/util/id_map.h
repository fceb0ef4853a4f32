// A small open-addressing hash map from raw 64-bit ids to 32-bit values. std::unordered_map
// allocates a node per entry, which for millions of item ids costs both time and memory.
#pragma once

#include <cstdint>
#include <vector>

namespace lti {

class IdMap {
 public:
  static constexpr uint32_t kMissing = UINT32_MAX;

  explicit IdMap(size_t expected = 16) { rehash(capacity_for(expected)); }

  // Returns a reference to the value of `key`, inserting kMissing when absent.
  uint32_t& operator[](uint64_t key) {
    if ((size_ + 1) * 4 > keys_.size() * 3) rehash(keys_.size() * 2);
    size_t slot = find_slot(key);
    if (values_[slot] == kMissing && !used_[slot]) {
      used_[slot] = 1;
      keys_[slot] = key;
      ++size_;
    }
    return values_[slot];
  }

  uint32_t get(uint64_t key, uint32_t fallback) const {
    const size_t slot = find_slot(key);
    return used_[slot] ? values_[slot] : fallback;
  }

  size_t size() const { return size_; }

  template <class F>
  void for_each(F&& f) const {
    for (size_t i = 0; i < keys_.size(); ++i)
      if (used_[i]) f(keys_[i], values_[i]);
  }

 private:
  static size_t capacity_for(size_t n) {
    size_t c = 16;
    while (c * 3 < n * 4 + 4) c *= 2;
    return c;
  }

  static uint64_t mix(uint64_t x) {  // splitmix64 finaliser: raw ids are far from uniform
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
  }

  size_t find_slot(uint64_t key) const {
    const size_t mask = keys_.size() - 1;
    size_t slot = mix(key) & mask;
    while (used_[slot] && keys_[slot] != key) slot = (slot + 1) & mask;
    return slot;
  }

  void rehash(size_t capacity) {
    std::vector<uint64_t> old_keys(capacity);
    std::vector<uint32_t> old_values(capacity, kMissing);
    std::vector<uint8_t> old_used(capacity, 0);
    old_keys.swap(keys_);
    old_values.swap(values_);
    old_used.swap(used_);
    size_ = 0;
    for (size_t i = 0; i < old_keys.size(); ++i) {
      if (!old_used[i]) continue;
      const size_t slot = find_slot(old_keys[i]);
      used_[slot] = 1;
      keys_[slot] = old_keys[i];
      values_[slot] = old_values[i];
      ++size_;
    }
  }

  std::vector<uint64_t> keys_;
  std::vector<uint32_t> values_;
  std::vector<uint8_t> used_;
  size_t size_ = 0;
};

}  // namespace lti
