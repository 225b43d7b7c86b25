// GIF: an allowlist redactor (both modes).
#ifndef SCOPEDFS_REDACT_GIF_H_
#define SCOPEDFS_REDACT_GIF_H_

#include <vector>

#include "absl/status/status.h"
#include "redact/ranges.h"
#include "redact/redact.h"
#include "redact/source.h"

namespace scopedfs::redact {

// Keeps the header, screen descriptor, colour tables, image descriptors,
// image data, Graphic Control extensions and the NETSCAPE2.0/ANIMEXTS1.0
// looping extension; zeroes the data bytes of every other extension
// (comments, XMP, plain text, unknown applications; sub-block length bytes
// stay: they are structure) and every byte after the trailer. Bytes where
// a block should start but none does, and an extension cut by the end of
// the file, zero the rest of the file. Errors only on a file shorter than
// its header or an unreadable source.
absl::Status FindGifAllowlistRanges(const Source& source,
                                    const Profile& profile,
                                    std::vector<ByteRange>* out);

}  // namespace scopedfs::redact

#endif  // SCOPEDFS_REDACT_GIF_H_
