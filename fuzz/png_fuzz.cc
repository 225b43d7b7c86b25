// png_fuzz: redact::FindPngLocationRanges on any bytes. Ranges must lie
// inside the file, and when the input is a PNG, FindLocationRanges must
// return them normalized.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz/redact_checks.h"
#include "redact/png.h"
#include "redact/redact.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace redact = scopedfs::redact;
  return scopedfs::fuzz::FuzzFormatParser(data, size, redact::FindPngLocationRanges,
                                          redact::Format::kPng, "FindPngLocationRanges");
}
