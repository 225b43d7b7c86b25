// Normalize, ZeroRanges and StringSource bounds.
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "redact/ranges.h"
#include "redact/source.h"
#include "redact/xmp.h"

namespace scopedfs::redact {
namespace {

using Ranges = std::vector<ByteRange>;

TEST(NormalizeTest, SortsMergesAndDropsEmpty) {
  EXPECT_EQ(Normalize({}), Ranges{});
  EXPECT_EQ(Normalize({{5, 0}}), Ranges{});
  EXPECT_EQ(Normalize({{10, 5}, {0, 2}}), (Ranges{{0, 2}, {10, 5}}));
  // Overlapping, touching, contained.
  EXPECT_EQ(Normalize({{0, 5}, {3, 4}}), (Ranges{{0, 7}}));
  EXPECT_EQ(Normalize({{0, 5}, {5, 1}}), (Ranges{{0, 6}}));
  EXPECT_EQ(Normalize({{0, 10}, {2, 3}, {20, 1}, {21, 0}}),
            (Ranges{{0, 10}, {20, 1}}));
  EXPECT_EQ(Normalize({{7, 1}, {6, 1}, {5, 1}}), (Ranges{{5, 3}}));
}

TEST(NormalizeTest, ClampsInsteadOfWrapping) {
  Ranges r = Normalize({{~uint64_t{0} - 1, 10}});
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].end(), ~uint64_t{0});
}

// Zeroing a file in chunks at arbitrary offsets gives the same bytes as
// zeroing it whole: reads may start and end anywhere.
TEST(ZeroRangesTest, AnyBufferOffset) {
  std::string file(100, 'x');
  const Ranges ranges = Normalize({{0, 1}, {10, 5}, {40, 20}, {99, 1}});
  std::string expected = file;
  for (const ByteRange& r : ranges) {
    for (uint64_t i = r.offset; i < r.end(); ++i) expected[i] = '\0';
  }
  for (size_t start = 0; start <= file.size(); ++start) {
    for (size_t len = 0; start + len <= file.size(); ++len) {
      std::string buf = file.substr(start, len);
      ZeroRanges(ranges, start, buf.data(), buf.size());
      ASSERT_EQ(buf, expected.substr(start, len)) << start << "+" << len;
    }
  }
}

TEST(ZeroRangesTest, BufferPastAllRangesAndEmptyRanges) {
  std::string buf = "abcdef";
  ZeroRanges({{0, 3}}, 1000, buf.data(), buf.size());
  EXPECT_EQ(buf, "abcdef");
  ZeroRanges({}, 0, buf.data(), buf.size());
  EXPECT_EQ(buf, "abcdef");
  ZeroRanges({{2, 100}}, 0, buf.data(), buf.size());
  EXPECT_EQ(buf, std::string("ab\0\0\0\0", 6));
}

TEST(StringSourceTest, NeverReadsOutside) {
  StringSource s("hello");
  std::string out;
  EXPECT_TRUE(s.Read(0, 5, &out).ok());
  EXPECT_EQ(out, "hello");
  EXPECT_TRUE(s.Read(5, 0, &out).ok());
  EXPECT_FALSE(s.Read(4, 2, &out).ok());
  EXPECT_FALSE(s.Read(6, 0, &out).ok());
  EXPECT_FALSE(s.Read(~uint64_t{0}, 2, &out).ok());
}

// The XMP tokenizer on hand-written packets.
std::string Redacted(const std::string& packet) {
  Ranges spans;
  FindXmpLocationSpans(packet, &spans);
  std::string out = packet;
  for (const ByteRange& r : Normalize(spans)) {
    for (uint64_t i = r.offset; i < r.end(); ++i) out[i] = '#';
  }
  return out;
}

std::string Hashes(const std::string& s) { return std::string(s.size(), '#'); }

TEST(XmpTest, ElementsAttributesAndPrefixes) {
  EXPECT_EQ(Redacted("<r xmlns:e='http://ns.adobe.com/exif/1.0/'>"
                     "<e:GPSLatitude>1</e:GPSLatitude><e:Make>x</e:Make></r>"),
            "<r xmlns:e='http://ns.adobe.com/exif/1.0/'>" +
                Hashes("<e:GPSLatitude>1</e:GPSLatitude>") +
                "<e:Make>x</e:Make></r>");
  EXPECT_EQ(Redacted("<d exif:GPSAltitude=\"3\" photoshop:City='P' a='b'/>"),
            "<d " + Hashes("exif:GPSAltitude=\"3\"") + " " +
                Hashes("photoshop:City='P'") + " a='b'/>");
  // Structures go whole, nested tags of the same name included.
  EXPECT_EQ(Redacted("<a><Iptc4xmpExt:LocationShown><b><b/></b>"
                     "</Iptc4xmpExt:LocationShown></a>"),
            "<a>" +
                Hashes("<Iptc4xmpExt:LocationShown><b><b/></b>"
                       "</Iptc4xmpExt:LocationShown>") +
                "</a>");
  // Comments, PIs and CDATA are skipped, not parsed.
  EXPECT_EQ(Redacted("<?xpacket x?><!-- <x --><a><![CDATA[<]]></a>"),
            "<?xpacket x?><!-- <x --><a><![CDATA[<]]></a>");
  // Nothing to redact.
  EXPECT_EQ(Redacted("<a b='c'>text</a>"), "<a b='c'>text</a>");
}

TEST(XmpTest, UnparseableIsRedactedWhole) {
  for (const std::string& bad : std::vector<std::string>
       {"<a>", "<a></b>", "<a b></a>", "<a b='c></a>", "<!DOCTYPE a><a/>",
        "</a>", std::string("<\0a/>", 5), "<a><!-- </a>", "<"}) {
    EXPECT_EQ(Redacted(bad), std::string(bad.size(), '#')) << bad;
  }
  std::string deep;
  for (int i = 0; i < 300; ++i) deep += "<a>";
  for (int i = 0; i < 300; ++i) deep += "</a>";
  EXPECT_EQ(Redacted(deep), std::string(deep.size(), '#'));
  // Trailing NUL padding is not a reason to give up.
  EXPECT_EQ(Redacted(std::string("<a/>\0\0", 6)), std::string("<a/>\0\0", 6));
}

}  // namespace
}  // namespace scopedfs::redact
