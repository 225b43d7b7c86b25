// XMP packets: the byte ranges of location properties. Used for JPEG APP1,
// PNG iTXt/tEXt, TIFF tag 700 and ISO-BMFF uuid/XMP_ boxes and items.
#ifndef SCOPEDFS_REDACT_XMP_H_
#define SCOPEDFS_REDACT_XMP_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "redact/ranges.h"
#include "redact/source.h"

namespace scopedfs::redact {

// Location properties, by namespace URI (any prefix bound to it, or the
// conventional prefix in parentheses even when undeclared):
//   exif (http://ns.adobe.com/exif/1.0/): every GPS* property.
//   photoshop (http://ns.adobe.com/photoshop/1.0/): City, State, Country.
//   Iptc4xmpCore (http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/): Location,
//     CountryCode.
//   Iptc4xmpExt (http://iptc.org/std/Iptc4xmpExt/2008-02-29/):
//     LocationShown, LocationCreated (whole structures) and the location
//     fields City, CountryName, CountryCode, ProvinceState, Sublocation,
//     WorldRegion, LocationName, LocationId, GPS*.
//   drone-dji (http://www.dji.com/drone-dji/1.0/): Gps*, AbsoluteAltitude.
// Not covered: creator contact addresses (Iptc4xmpCore:CreatorContactInfo).
//
// Appends to `out` the ranges to zero in the packet at [offset,
// offset + length) of `source`: for a property written as an element, the
// whole element from its start tag to its end tag (structures included);
// as an attribute, the whole `name="value"`. Readers such as exiftool then
// see no such property at all and still read the rest of the packet.
// A packet the bounded tokenizer cannot follow (not UTF-8/ASCII, DOCTYPE,
// unbalanced tags, too deep or too large) yields the whole packet as one
// range. Errors only when `source` cannot be read.
absl::Status FindXmpLocationRanges(const Source& source, uint64_t offset,
                                   uint64_t length,
                                   std::vector<ByteRange>* out);

// The same on a packet in memory; ranges are relative to `packet`.
void FindXmpLocationSpans(absl::string_view packet,
                          std::vector<ByteRange>* out);

}  // namespace scopedfs::redact

#endif  // SCOPEDFS_REDACT_XMP_H_
