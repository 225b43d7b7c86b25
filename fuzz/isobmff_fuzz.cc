// isobmff_fuzz: redact::FindIsoBmffLocationRanges on any bytes. Ranges must
// lie inside the file, and when the input is detected as ISO-BMFF,
// FindLocationRanges must return them normalized.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz/redact_checks.h"
#include "redact/isobmff.h"
#include "redact/redact.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace redact = scopedfs::redact;
  return scopedfs::fuzz::FuzzFormatParser(data, size, redact::FindIsoBmffLocationRanges,
                                          redact::Format::kIsoBmff, "FindIsoBmffLocationRanges");
}
