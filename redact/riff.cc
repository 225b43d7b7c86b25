#include "redact/riff.h"

namespace scopedfs::redact {

absl::Status FindWebpAllowlistRanges(const Source& source, const Profile&,
                                     std::vector<ByteRange>* out) {
  return absl::UnimplementedError("WebP redactor not written yet");
}

absl::Status FindAviAllowlistRanges(const Source& source, const Profile&,
                                    std::vector<ByteRange>* out) {
  return absl::UnimplementedError("AVI redactor not written yet");
}

}  // namespace scopedfs::redact
