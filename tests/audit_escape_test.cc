// audit/escape.h: every class of character, the exact inverse over random
// byte strings, and the display-only variant.
#include "audit/escape.h"

#include <cstdint>
#include <random>
#include <string>

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"

namespace scopedfs::audit {
namespace {

using namespace std::string_literals;  // NOLINT: "...\0..."s

// Whether `s` is valid UTF-8 with no C0/DEL/C1 control, no bidi or other
// format control: what a terminal may safely be given.
bool IsDisplaySafe(const std::string& s) {
  const std::string again = EscapeControls(s);
  return again == s;
}

TEST(EscapeTest, PrintableUtf8PassesUnchanged) {
  for (const std::string& s :
       {""s, "DCIM/Camera/IMG_0001.jpg"s, "a b\"c'd=e%s%n"s, "caf\xc3\xa9"s,
        "\xe6\x97\xa5\xe6\x9c\xac"s /* 日本 */, "\xf0\x9f\x98\x80"s /* emoji */,
        "\xc2\xa0nbsp"s /* U+00A0: not C1 */, "\xd7\x90\xd7\x91"s /* Hebrew */}) {
    EXPECT_FALSE(NeedsEscape(s)) << absl::CEscape(s);
    EXPECT_EQ(Escape(s), s) << absl::CEscape(s);
  }
}

TEST(EscapeTest, EveryClass) {
  struct Case {
    std::string raw, escaped;
  };
  const Case cases[] = {
      {"back\\slash", "back\\\\slash"},
      {"new\nline", "new\\x0aline"},
      {"tab\t", "tab\\x09"},
      {"\r", "\\x0d"},
      {"nul\0x"s, "nul\\x00x"},
      {"\x1b[2J", "\\x1b[2J"},
      {"\x1b]0;title\x07", "\\x1b]0;title\\x07"},
      {"del\x7f", "del\\x7f"},
      {"\xff\xfe", "\\xff\\xfe"},
      {"\x80", "\\x80"},                                  // lone continuation
      {"bad\xc3\x28", "bad\\xc3("},                       // cut sequence
      {"\xc0\xaf", "\\xc0\\xaf"},                         // overlong '/'
      {"\xe0\x80\xaf", "\\xe0\\x80\\xaf"},                // overlong
      {"\xed\xa0\x80", "\\xed\\xa0\\x80"},                // surrogate
      {"\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80"},       // above U+10FFFF
      {"\xf0\x9f\x98", "\\xf0\\x9f\\x98"},                // truncated at end
      {"\xc2\x9b", "\\u{009b}"},                          // C1 CSI
      {"\xc2\x80\xc2\x9f", "\\u{0080}\\u{009f}"},         // C1 bounds
      {"\xe2\x80\x8e\xe2\x80\x8f", "\\u{200e}\\u{200f}"},  // LRM, RLM
      {"\xe2\x80\xaa\xe2\x80\xae", "\\u{202a}\\u{202e}"},  // LRE, RLO
      {"\xe2\x81\xa6\xe2\x81\xa9", "\\u{2066}\\u{2069}"},  // LRI, PDI
      {"\xe2\x80\xa8", "\\u{2028}"},                      // line separator
      {"\xef\xbb\xbf", "\\u{feff}"},                      // BOM
      {"\xe2\x80\x8b", "\\u{200b}"},                      // zero width space
      {"\xf3\xa0\x80\x81", "\\u{e0001}"},                 // language tag
      {"a\xe2\x80\xaegpj.exe", "a\\u{202e}gpj.exe"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(absl::CEscape(c.raw));
    EXPECT_TRUE(NeedsEscape(c.raw));
    EXPECT_EQ(Escape(c.raw), c.escaped);
    absl::StatusOr<std::string> back = Unescape(c.escaped);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(*back, c.raw);
    EXPECT_TRUE(IsDisplaySafe(c.escaped));
  }
}

TEST(EscapeTest, OutputIsOneLineAsciiOrPrintableUtf8) {
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  const std::string e = Escape(all);
  for (char c : e) {
    const auto u = static_cast<unsigned char>(c);
    EXPECT_TRUE(u >= 0x20 && u < 0x7f) << int{u};  // every high byte alone is invalid
  }
  EXPECT_EQ(*Unescape(e), all);
}

TEST(EscapeTest, RoundTripOverRandomBytes) {
  std::mt19937_64 rng(20261125);
  // Mostly bytes that make UTF-8 sequences, controls and backslashes, so
  // that every branch is hit often.
  const std::string pieces[] = {"\\", "\n", "\x1b", "\x7f", "\xc2", "\x9b",
                                "\xe2\x80", "\xae", "\xf0", "\x9f", "\x98",
                                "\x80", "\xff", "a", "\xed", "\xa0", "x", "{",
                                "}", "u", "0"};
  for (int n = 0; n < 20000; ++n) {
    std::string raw;
    const int len = static_cast<int>(rng() % 24);
    for (int i = 0; i < len; ++i) {
      if (rng() % 3 == 0) {
        raw.push_back(static_cast<char>(rng()));
      } else {
        raw += pieces[rng() % (sizeof(pieces) / sizeof(pieces[0]))];
      }
    }
    const std::string e = Escape(raw);
    absl::StatusOr<std::string> back = Unescape(e);
    ASSERT_TRUE(back.ok()) << absl::CEscape(raw) << ": " << back.status();
    ASSERT_EQ(*back, raw) << absl::CEscape(raw) << " -> " << e;
    ASSERT_TRUE(IsDisplaySafe(e)) << absl::CEscape(raw) << " -> " << e;
    ASSERT_EQ(EscapeControls(e), e);
    ASSERT_EQ(NeedsEscape(raw), e != raw);
    // Escaping is injective: distinct inputs never share a form (checked
    // through the inverse above); and escaping an escaped form again only
    // doubles backslashes.
    ASSERT_EQ(*Unescape(Escape(e)), e);
  }
}

TEST(EscapeTest, UnescapeAcceptsUpperCaseAndRawCharacters) {
  EXPECT_EQ(*Unescape("\\xFF\\u{9B}caf\xc3\xa9"), "\xff\xc2\x9b" "caf\xc3\xa9");
  EXPECT_EQ(*Unescape("\\u{1F600}"), "\xf0\x9f\x98\x80");
  EXPECT_EQ(*Unescape("\\u{0}"), "\0"s);
}

TEST(EscapeTest, UnescapeRefusesWhatEscapeNeverWrites) {
  for (const char* bad : {"\\", "a\\", "\\n", "\\t", "\\x", "\\x4", "\\xg0",
                          "\\u", "\\u{", "\\u{}", "\\u{1234567}", "\\u{d800}",
                          "\\u{110000}", "\\u{12", "\\u1234", "\\q"}) {
    SCOPED_TRACE(bad);
    absl::StatusOr<std::string> r = Unescape(bad);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    // The message itself is safe to print.
    EXPECT_TRUE(IsDisplaySafe(std::string(r.status().message())));
  }
}

TEST(EscapeTest, EscapeControlsLeavesBackslashesAndOptionallyLineBreaks) {
  EXPECT_EQ(EscapeControls("a\\x0ab"), "a\\x0ab");
  EXPECT_EQ(EscapeControls("x\ny\tz\x1b"), "x\\x0ay\\x09z\\x1b");
  EXPECT_EQ(EscapeControls("x\ny\tz\x1b\xc2\x9b", /*keep_line_breaks=*/true),
            "x\ny\tz\\x1b\\u{009b}");
  EXPECT_EQ(EscapeControls("\xff\xe2\x80\xae"), "\\xff\\u{202e}");
}

}  // namespace
}  // namespace scopedfs::audit
