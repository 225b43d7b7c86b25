// How client-supplied strings (file names, process names, executable paths)
// are shown: the audit trail stores them as the raw bytes the kernel gave
// the daemon, and every reader renders them in this escaped form, which is
// valid UTF-8, holds no control character and can be turned back into the
// exact bytes.
//
//   valid, printable UTF-8         as it is           "café" stays "café"
//   backslash                      \\                 doubled
//   C0 controls (0x00-0x1f), DEL   \xNN               newline: \x0a, ESC: \x1b
//   a byte that is not UTF-8       \xNN               \xff, a lone \x80
//   C1 controls (U+0080-U+009F)    \u{XXXX}           U+009B (CSI): \u{009b}
//   format and separator controls  \u{XXXX}           U+202E (RLO): \u{202e}
//     (bidi marks, embeddings, overrides and isolates, zero-width and
//     invisible characters, line and paragraph separators, BOM, tags:
//     U+061C, U+180E, U+200B-U+200F, U+2028-U+202E, U+2060-U+206F, U+FEFF,
//     U+FFF9-U+FFFB, U+E0000-U+E007F)
//
// A backslash in the output always starts one of these escapes, so the form
// is unambiguous: Unescape(Escape(b)) == b for every byte string b. Hex
// digits are lower case on output and either case on input.
//
// Pure functions: no FUSE, no I/O.
#ifndef SCOPEDFS_AUDIT_ESCAPE_H_
#define SCOPEDFS_AUDIT_ESCAPE_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace scopedfs::audit {

// The escaped form of `raw` (see above).
std::string Escape(absl::string_view raw);

// The bytes `escaped` stands for: the inverse of Escape. Characters that
// need no escape may also appear raw (so an escaped form typed by a person
// with a literal "é" works). InvalidArgument for a backslash that starts no
// escape above, a \u{} that is no Unicode scalar value (surrogates, above
// U+10FFFF) or has more than 6 digits.
absl::StatusOr<std::string> Unescape(absl::string_view escaped);

// For display of text that is already escaped, or that should be escaped
// but comes from elsewhere (defense in depth): the same as Escape except
// that backslashes are left alone, so already escaped text is unchanged
// (EscapeControls(Escape(b)) == Escape(b)). Not reversible. With
// `keep_line_breaks`, newline and tab are left alone too (multi-line text).
std::string EscapeControls(absl::string_view text,
                           bool keep_line_breaks = false);

// Whether Escape would change `raw` (fast path for the common case).
bool NeedsEscape(absl::string_view raw);

}  // namespace scopedfs::audit

#endif  // SCOPEDFS_AUDIT_ESCAPE_H_
