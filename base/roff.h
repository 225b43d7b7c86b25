// Text as roff input, for the man pages the binaries print from their own
// command tables (scopedfsd --help_man, scopedctl help --man).
#ifndef SCOPEDFS_BASE_ROFF_H_
#define SCOPEDFS_BASE_ROFF_H_

#include <cstddef>
#include <cstring>
#include <string>

namespace scopedfs {

// Backslashes escaped; '-' as "\-", since groff 1.23 draws '-' as a
// hyphen, which does not paste as an option's dash; quotes, '~' and '^',
// which it draws as typographic glyphs, as their ASCII glyphs; and "\&"
// before a '.' opening a line, which roff would take for a request.
// Newlines stay: roff fills lines. `Text`: any run of chars (std::string,
// absl::string_view: base/ depends on nothing, and Debian's Abseil has its
// own string_view).
inline std::string RoffChars(const char* data, size_t size) {
  std::string out;
  bool line_start = true;
  for (size_t i = 0; i < size; ++i) {
    const char ch = data[i];
    if (line_start && ch == '.') out += "\\&";
    line_start = ch == '\n';
    switch (ch) {
      case '\\': out += "\\e"; break;
      case '-': out += "\\-"; break;
      case '\'': out += "\\(aq"; break;
      case '`': out += "\\(ga"; break;
      case '~': out += "\\(ti"; break;
      case '^': out += "\\(ha"; break;
      default: out += ch;
    }
  }
  return out;
}
template <typename Text>
std::string Roff(const Text& text) { return RoffChars(text.data(), text.size()); }
inline std::string Roff(const char* text) { return RoffChars(text, std::strlen(text)); }

template <typename Text>
std::string RoffBold(const Text& text) { return "\\fB" + Roff(text) + "\\fR"; }
template <typename Text>
std::string RoffItalic(const Text& text) { return "\\fI" + Roff(text) + "\\fR"; }

// `text` as roff, word by word: a word is a run of chars `is_word` takes,
// set in the font `style(word)` returns ('B' bold, 'I' italic, else
// roman); everything between words is escaped as it is. What the
// synopses and flag values of both man pages need (placeholders in
// italics, options in bold).
template <typename Text, typename IsWord, typename Style>
std::string RoffByWord(const Text& text, IsWord is_word, Style style) {
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    size_t j = i;
    while (j < text.size() && is_word(text[j])) ++j;
    if (j == i) {
      out += Roff(text.substr(i++, 1));
      continue;
    }
    const auto word = text.substr(i, j - i);
    switch (style(word)) {
      case 'B': out += RoffBold(word); break;
      case 'I': out += RoffItalic(word); break;
      default: out += Roff(word);
    }
    i = j;
  }
  return out;
}

}  // namespace scopedfs

#endif  // SCOPEDFS_BASE_ROFF_H_
