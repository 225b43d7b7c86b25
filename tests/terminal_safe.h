// What a terminal may safely be given, checked independently of
// audit/escape.cc (its own UTF-8 decoder): for tests of what scopedctl and
// the daemon print.
#ifndef SCOPEDFS_TESTS_TERMINAL_SAFE_H_
#define SCOPEDFS_TESTS_TERMINAL_SAFE_H_

#include <cstdint>
#include <cstdio>
#include <string>

namespace scopedfs::testing {

// Empty if `text` is valid UTF-8 holding no control character but newline
// and tab (the layout of tables and lines), no DEL, no C1 control
// (U+0080-U+009F) and no bidi or zero-width format control; else what the
// first offending one is and where.
inline std::string TerminalUnsafe(const std::string& text) {
  const auto byte = [&](size_t i) { return static_cast<uint8_t>(text[i]); };
  char what[96];
  for (size_t i = 0; i < text.size();) {
    const uint8_t c = byte(i);
    size_t n = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      n = 1;
      cp = c;
    } else if ((c & 0xe0) == 0xc0) {
      n = 2;
      cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      n = 3;
      cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      n = 4;
      cp = c & 0x07;
    }
    bool valid = n != 0 && i + n <= text.size();
    for (size_t k = 1; valid && k < n; ++k) {
      valid = (byte(i + k) & 0xc0) == 0x80;
      cp = cp << 6 | (byte(i + k) & 0x3f);
    }
    valid = valid && !(n == 2 && cp < 0x80) && !(n == 3 && cp < 0x800) &&
            !(n == 4 && (cp < 0x10000 || cp > 0x10ffff)) &&
            !(cp >= 0xd800 && cp <= 0xdfff);
    if (!valid) {
      std::snprintf(what, sizeof(what), "byte 0x%02x at %zu is not UTF-8", c, i);
      return what;
    }
    const bool control = (cp < 0x20 && cp != '\n' && cp != '\t') || cp == 0x7f ||
                         (cp >= 0x80 && cp <= 0x9f);
    const bool format = cp == 0x061c || (cp >= 0x200b && cp <= 0x200f) ||
                        (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) ||
                        cp == 0xfeff;
    if (control || format) {
      std::snprintf(what, sizeof(what), "U+%04X at byte %zu", cp, i);
      return what;
    }
    i += n;
  }
  return "";
}

}  // namespace scopedfs::testing

#endif  // SCOPEDFS_TESTS_TERMINAL_SAFE_H_
