// exif_fuzz: redact::FindExifGpsRanges and FindTiffXmpPackets on a TIFF
// structure: the input as a whole, and the input placed after a prefix and
// before trailing bytes (tiff_offset > 0, tiff_length < the source), as in a
// JPEG APP1 segment. Every range and packet must lie inside the TIFF span.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz/redact_checks.h"
#include "redact/exif.h"

namespace {

void Run(const std::string& source_bytes, uint64_t tiff_offset,
         uint64_t tiff_length) {
  namespace redact = scopedfs::redact;
  const redact::StringSource source(source_bytes);
  std::vector<redact::ByteRange> gps;
  const absl::Status s1 =
      redact::FindExifGpsRanges(source, tiff_offset, tiff_length, &gps);
  scopedfs::fuzz::CheckWithin(gps, tiff_offset, tiff_offset + tiff_length,
                              "FindExifGpsRanges");
  if (s1.ok()) scopedfs::fuzz::CheckNormalizeAndZero(gps, source_bytes);
  std::vector<redact::ByteRange> packets;
  (void)redact::FindTiffXmpPackets(source, tiff_offset, tiff_length, &packets);
  scopedfs::fuzz::CheckWithin(packets, tiff_offset, tiff_offset + tiff_length,
                              "FindTiffXmpPackets");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  Run(bytes, 0, size);
  // "Exif\0\0" + TIFF + bytes that are not part of it.
  const std::string wrapped =
      std::string("Exif\0\0", 6) + bytes + std::string(37, '\x7f');
  Run(wrapped, 6, size);
  // A TIFF span shorter than what the offsets may point to.
  if (size > 8) Run(bytes, 0, size - size / 3);
  return 0;
}
