// File classes (image, video, audio, document...) for policy rules.
#ifndef SCOPEDFS_POLICY_FILE_CLASS_H_
#define SCOPEDFS_POLICY_FILE_CLASS_H_

#include "absl/strings/string_view.h"
#include "scopedfs/v1/policy.pb.h"

namespace scopedfs::policy {

// The class of a file named `name` (its last path component; a full path works
// too). Directories are DIRECTORY. Otherwise the CONTENT decides first: the
// magic bytes in `head` (the file's first bytes; may be empty when unknown),
// as ClassifyMagic. Only when the content is not recognised (OTHER, or no
// head) does the extension decide, case-insensitive:
//   IMAGE    jpg jpeg jpe png apng gif webp heic heif hif avif dng tiff tif
//            bmp raw jxl jp2 j2k psd cr2 cr3 crw nef nrw arw srf sr2 orf rw2
//            raf pef srw x3f
//   VIDEO    mp4 mov m4v mkv webm avi 3gp 3g2 mpg mpeg wmv asf flv mts m2ts
//   AUDIO    mp3 m4a aac flac ogg opus wav
//   DOCUMENT pdf txt md doc docx odt xls xlsx ods ppt pptx odp rtf csv epub
// A name whose only dot is its first character (".jpg") has no extension.
// Why content first: a renamed file (a JPEG called "x.txt" or "IMG_1.bin")
// must not escape the rules for its real class; and a file named like an
// image whose content no parser recognises stays an image, so a redaction
// rule applies and the redactor, unable to vouch for it, refuses it. Both
// mismatches fail closed. No allocation.
v1::FileClass ClassifyFile(absl::string_view name, bool is_dir,
                           absl::string_view head);

// The class from magic bytes alone (OTHER when unknown): JPEG, PNG, GIF,
// TIFF (and the raw formats with a TIFF-like header: ORF, RW2), BMP,
// RIFF/WEBP, ISO-BMFF (ftyp brands heic/mif1/avif... IMAGE; M4A/M4B/M4P/f4a
// AUDIO; any other brand, and files starting with moov/mdat/wide/free/skip
// boxes, VIDEO) -> IMAGE/VIDEO/AUDIO; RIFF/AVI, Matroska/WebM -> VIDEO; ID3,
// fLaC, OggS, RIFF/WAVE, MPEG audio frames -> AUDIO; %PDF -> DOCUMENT.
// Every IMAGE and VIDEO format recognised here has a redactor in //redact
// (tests/file_class_test.cc checks this).
v1::FileClass ClassifyMagic(absl::string_view head);

}  // namespace scopedfs::policy

#endif  // SCOPEDFS_POLICY_FILE_CLASS_H_
