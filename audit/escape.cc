#include "audit/escape.h"

#include <cstdint>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace scopedfs::audit {
namespace {

// The length of the well-formed UTF-8 sequence at the start of `s` (shortest
// form, no surrogates, at most U+10FFFF) and its code point; 0 if there is
// none there.
size_t DecodeUtf8(absl::string_view s, uint32_t* cp) {
  const auto b = [&](size_t i) { return static_cast<uint8_t>(s[i]); };
  const auto cont = [&](size_t i) { return i < s.size() && (b(i) & 0xc0) == 0x80; };
  const uint8_t c = b(0);
  if (c < 0x80) {
    *cp = c;
    return 1;
  }
  if (c >= 0xc2 && c <= 0xdf) {
    if (!cont(1)) return 0;
    *cp = (uint32_t{c} & 0x1f) << 6 | (b(1) & 0x3f);
    return 2;
  }
  if (c >= 0xe0 && c <= 0xef) {
    if (!cont(1) || !cont(2)) return 0;
    if (c == 0xe0 && b(1) < 0xa0) return 0;   // overlong
    if (c == 0xed && b(1) >= 0xa0) return 0;  // surrogate
    *cp = (uint32_t{c} & 0x0f) << 12 | (uint32_t{b(1)} & 0x3f) << 6 | (b(2) & 0x3f);
    return 3;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    if (c == 0xf0 && b(1) < 0x90) return 0;   // overlong
    if (c == 0xf4 && b(1) >= 0x90) return 0;  // above U+10FFFF
    *cp = (uint32_t{c} & 0x07) << 18 | (uint32_t{b(1)} & 0x3f) << 12 |
          (uint32_t{b(2)} & 0x3f) << 6 | (b(3) & 0x3f);
    return 4;
  }
  return 0;
}

// C1 controls and the format/separator characters that reorder, hide or
// break the text around them (see escape.h).
bool IsInvisibleControl(uint32_t cp) {
  return (cp >= 0x80 && cp <= 0x9f) || cp == 0x061c || cp == 0x180e ||
         (cp >= 0x200b && cp <= 0x200f) || (cp >= 0x2028 && cp <= 0x202e) ||
         (cp >= 0x2060 && cp <= 0x206f) || cp == 0xfeff ||
         (cp >= 0xfff9 && cp <= 0xfffb) || (cp >= 0xe0000 && cp <= 0xe007f);
}

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xc0 | cp >> 6));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xe0 | cp >> 12));
    out->push_back(static_cast<char>(0x80 | (cp >> 6 & 0x3f)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else {
    out->push_back(static_cast<char>(0xf0 | cp >> 18));
    out->push_back(static_cast<char>(0x80 | (cp >> 12 & 0x3f)));
    out->push_back(static_cast<char>(0x80 | (cp >> 6 & 0x3f)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  }
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

enum class Backslash { kEscape, kKeep };

// One pass of Escape / EscapeControls. `keep`: bytes below 0x20 left alone
// (newline and tab for multi-line text), as a bit mask.
std::string EscapeImpl(absl::string_view s, Backslash backslash, uint32_t keep) {
  std::string out;
  out.reserve(s.size() + s.size() / 8);
  size_t i = 0;
  while (i < s.size()) {
    const uint8_t c = static_cast<uint8_t>(s[i]);
    if (c == '\\') {
      out.append(backslash == Backslash::kEscape ? "\\\\" : "\\");
      ++i;
    } else if (c < 0x20 || c == 0x7f) {
      if (c < 0x20 && (keep >> c & 1) != 0) {
        out.push_back(static_cast<char>(c));
      } else {
        absl::StrAppendFormat(&out, "\\x%02x", c);
      }
      ++i;
    } else if (c < 0x80) {
      out.push_back(static_cast<char>(c));
      ++i;
    } else {
      uint32_t cp = 0;
      const size_t n = DecodeUtf8(s.substr(i), &cp);
      if (n == 0) {
        absl::StrAppendFormat(&out, "\\x%02x", c);
        ++i;
      } else if (IsInvisibleControl(cp)) {
        absl::StrAppendFormat(&out, "\\u{%04x}", cp);
        i += n;
      } else {
        out.append(s.data() + i, n);
        i += n;
      }
    }
  }
  return out;
}

}  // namespace

bool NeedsEscape(absl::string_view raw) {
  size_t i = 0;
  while (i < raw.size()) {
    const uint8_t c = static_cast<uint8_t>(raw[i]);
    if (c == '\\' || c < 0x20 || c == 0x7f) return true;
    if (c < 0x80) {
      ++i;
      continue;
    }
    uint32_t cp = 0;
    const size_t n = DecodeUtf8(raw.substr(i), &cp);
    if (n == 0 || IsInvisibleControl(cp)) return true;
    i += n;
  }
  return false;
}

std::string Escape(absl::string_view raw) {
  if (!NeedsEscape(raw)) return std::string(raw);
  return EscapeImpl(raw, Backslash::kEscape, 0);
}

std::string EscapeControls(absl::string_view text, bool keep_line_breaks) {
  const uint32_t keep = keep_line_breaks ? (1u << '\n' | 1u << '\t') : 0;
  return EscapeImpl(text, Backslash::kKeep, keep);
}

absl::StatusOr<std::string> Unescape(absl::string_view escaped) {
  std::string out;
  out.reserve(escaped.size());
  size_t i = 0;
  const auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(
        why, " at byte ", i, " of \"", EscapeControls(escaped),
        "\" (escapes: \\\\ for a backslash, \\xNN for a byte, \\u{XXXX} for a "
        "character)"));
  };
  while (i < escaped.size()) {
    const char c = escaped[i];
    if (c != '\\') {
      out.push_back(c);
      ++i;
      continue;
    }
    if (i + 1 >= escaped.size()) return bad("a lone backslash");
    const char kind = escaped[i + 1];
    if (kind == '\\') {
      out.push_back('\\');
      i += 2;
    } else if (kind == 'x') {
      const int hi = i + 2 < escaped.size() ? HexValue(escaped[i + 2]) : -1;
      const int lo = i + 3 < escaped.size() ? HexValue(escaped[i + 3]) : -1;
      if (hi < 0 || lo < 0) return bad("\\x needs two hex digits");
      out.push_back(static_cast<char>(hi << 4 | lo));
      i += 4;
    } else if (kind == 'u') {
      if (i + 2 >= escaped.size() || escaped[i + 2] != '{') {
        return bad("\\u needs {XXXX}");
      }
      size_t j = i + 3;
      uint32_t cp = 0;
      int digits = 0;
      while (j < escaped.size() && escaped[j] != '}') {
        const int v = HexValue(escaped[j]);
        if (v < 0 || ++digits > 6) return bad("bad \\u{XXXX}");
        cp = cp << 4 | static_cast<uint32_t>(v);
        ++j;
      }
      if (j >= escaped.size() || digits == 0) return bad("bad \\u{XXXX}");
      if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        return bad("\\u{} is not a Unicode character");
      }
      AppendUtf8(cp, &out);
      i = j + 1;
    } else {
      return bad("unknown escape");
    }
  }
  return out;
}

}  // namespace scopedfs::audit
