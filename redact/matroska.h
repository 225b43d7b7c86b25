// Matroska and WebM (EBML): an allowlist redactor (both modes).
#ifndef SCOPEDFS_REDACT_MATROSKA_H_
#define SCOPEDFS_REDACT_MATROSKA_H_

#include <vector>

#include "absl/status/status.h"
#include "redact/ranges.h"
#include "redact/redact.h"
#include "redact/source.h"

namespace scopedfs::redact {

// Keeps the EBML header, Segment, SeekHead, Info (timing fields), Tracks,
// Cluster, Cues; zeroes the payload of Tags, Attachments, Chapters, Info's
// free-text and date fields, Void and every unknown element (element IDs
// and sizes stay), and bytes after the last top-level element.
absl::Status FindMatroskaAllowlistRanges(const Source& source,
                                         const Profile& profile,
                                         std::vector<ByteRange>* out);

}  // namespace scopedfs::redact

#endif  // SCOPEDFS_REDACT_MATROSKA_H_
