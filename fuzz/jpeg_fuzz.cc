// jpeg_fuzz: redact::FindJpegLocationRanges on any bytes (not only those
// that start with a JPEG SOI). Ranges must lie inside the file, and when the
// input is a JPEG, FindLocationRanges must return them normalized.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz/redact_checks.h"
#include "redact/jpeg.h"
#include "redact/redact.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace redact = scopedfs::redact;
  return scopedfs::fuzz::FuzzFormatParser(data, size, redact::FindJpegLocationRanges,
                                          redact::Format::kJpeg, "FindJpegLocationRanges");
}
