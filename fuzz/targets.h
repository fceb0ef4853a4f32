// The fuzz targets: one input in, no crash, no undefined behaviour, no exception but the
// documented ones out. Called by the libFuzzer mains in fuzz/ and, on every input kept in
// tests/fuzz/ (the seed corpus and every input that once failed), by the regression test.
#pragma once

#include <cstddef>
#include <cstdint>

namespace lti::fuzz {

// The bytes as a behaviour-log CSV file. The first byte chooses the reader's options (strict
// or not; one or two parsing threads), the rest is the file.
int csv_reader(const uint8_t* data, size_t size);

// The bytes as an encoder file (`# lti-encoder v1 ...` then one raw id per line).
int encoder_file(const uint8_t* data, size_t size);

}  // namespace lti::fuzz
