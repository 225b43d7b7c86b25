// Words filled into lines, for the --help texts scopedfsd and scopedctl
// print from their own tables.
#ifndef SCOPEDFS_BASE_FILL_H_
#define SCOPEDFS_BASE_FILL_H_

#include <cstddef>
#include <string>

namespace scopedfs {

// `text`'s words (split at spaces) in lines of at most `width` columns, the
// first line starting at column `first`, the others indented by `indent`.
// A word longer than a line stands alone on its line. `Text`: any run of
// chars with data() and size() (base/ depends on nothing).
template <typename Text>
std::string FillWords(const Text& text, size_t first, size_t indent, size_t width = 78) {
  std::string out;
  size_t column = first;
  bool line_empty = true;
  const char* p = text.data();
  const char* const end = p + text.size();
  while (p < end) {
    while (p < end && *p == ' ') ++p;
    const char* word = p;
    while (p < end && *p != ' ') ++p;
    const size_t size = static_cast<size_t>(p - word);
    if (size == 0) break;
    if (!line_empty && column + 1 + size > width) {
      out += '\n';
      out.append(indent, ' ');
      column = indent;
      line_empty = true;
    }
    if (!line_empty) {
      out += ' ';
      ++column;
    }
    out.append(word, size);
    column += size;
    line_empty = false;
  }
  return out;
}

}  // namespace scopedfs

#endif  // SCOPEDFS_BASE_FILL_H_
