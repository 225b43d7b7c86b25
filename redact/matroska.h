// Matroska and WebM (EBML): an allowlist redactor (both modes).
#ifndef SCOPEDFS_REDACT_MATROSKA_H_
#define SCOPEDFS_REDACT_MATROSKA_H_

#include <vector>

#include "absl/status/status.h"
#include "redact/ranges.h"
#include "redact/redact.h"
#include "redact/source.h"

namespace scopedfs::redact {

// Keeps the EBML header, Segment, SeekHead, Info (timing fields), Tracks
// (but track names), Cluster, Cues; zeroes Info's free-text and date
// fields, the leaf payloads of Tags, Attachments and Chapters (their master
// elements stay, so readers still parse them), Void and every unknown
// element (element IDs and sizes stay), and bytes after the last top-level
// element. An unknown-size Cluster ends at the next Segment-level element;
// an unknown-size Segment at the end of the file. An element that cannot be
// followed zeroes the rest of its parent.
absl::Status FindMatroskaAllowlistRanges(const Source& source,
                                         const Profile& profile,
                                         std::vector<ByteRange>* out);

}  // namespace scopedfs::redact

#endif  // SCOPEDFS_REDACT_MATROSKA_H_
