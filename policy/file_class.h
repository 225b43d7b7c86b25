// File classes (image, video, audio, document...) for policy rules.
#ifndef SCOPEDFS_POLICY_FILE_CLASS_H_
#define SCOPEDFS_POLICY_FILE_CLASS_H_

#include "absl/strings/string_view.h"
#include "scopedfs/v1/policy.pb.h"

namespace scopedfs::policy {

// The class of a file named `name` (its last path component; a full path works
// too). Directories are DIRECTORY. Otherwise by extension, case-insensitive:
//   IMAGE    jpg jpeg png gif webp heic heif avif dng tiff tif bmp raw
//   VIDEO    mp4 mov m4v mkv webm avi 3gp
//   AUDIO    mp3 m4a aac flac ogg opus wav
//   DOCUMENT pdf txt md doc docx odt xls xlsx ods ppt pptx odp rtf csv epub
// A name whose only dot is its first character (".jpg") has no extension.
// When the extension is missing or unknown, the magic bytes in `head` (the
// first bytes of the file, may be empty) decide: JPEG, PNG, GIF, TIFF,
// RIFF/WEBP, ISO-BMFF ftyp brands (heic/mif1/avif... IMAGE, isom/mp42/qt...
// VIDEO, M4A AUDIO) -> IMAGE/VIDEO/AUDIO; RIFF/AVI, Matroska -> VIDEO; ID3,
// fLaC, OggS, RIFF/WAVE -> AUDIO; %PDF -> DOCUMENT. Else OTHER.
// A known extension wins over the content (the class is a policy label, not a
// content check). No allocation.
v1::FileClass ClassifyFile(absl::string_view name, bool is_dir,
                           absl::string_view head);

// The class from magic bytes alone (OTHER when unknown).
v1::FileClass ClassifyMagic(absl::string_view head);

}  // namespace scopedfs::policy

#endif  // SCOPEDFS_POLICY_FILE_CLASS_H_
