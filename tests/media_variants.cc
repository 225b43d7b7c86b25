#include "tests/media_variants.h"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "tests/file_util.h"
#include "tests/shell.h"

namespace scopedfs::testing {
namespace {

using Rng = std::mt19937;

// ---- Bytes -----------------------------------------------------------------

uint32_t Rd(const std::string& d, size_t at, int n, bool be) {
  uint32_t v = 0;
  for (int i = 0; i < n; ++i) {
    const uint8_t b = static_cast<uint8_t>(d[at + (be ? i : n - 1 - i)]);
    v = (v << 8) | b;
  }
  return v;
}
void Wr(std::string* d, size_t at, int n, uint32_t v, bool be) {
  for (int i = 0; i < n; ++i) {
    (*d)[at + (be ? n - 1 - i : i)] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
}
std::string Enc(int n, uint32_t v, bool be = true) {
  std::string s(n, '\0');
  Wr(&s, 0, n, v, be);
  return s;
}
uint8_t U8(const std::string& d, size_t at) {
  return static_cast<uint8_t>(d[at]);
}

size_t Pick(Rng* rng, size_t n) { return n == 0 ? 0 : (*rng)() % n; }

// 4 KiB or 128 KiB.
size_t PickBoundary(Rng* rng) { return (*rng)() % 2 ? 4096 : 131072; }

// Bytes to insert before `anchor` so that it lands exactly on a multiple of
// `boundary` (at least `min` bytes).
size_t PadFor(size_t anchor, size_t boundary, size_t min) {
  size_t target = (anchor / boundary + 1) * boundary;
  while (target < anchor + min) target += boundary;
  return target - anchor;
}

const char kXmpPacket[] =
    "<?xpacket begin='\xef\xbb\xbf' id='W5M0MpCehiHzreSzNTczkc9d'?>\n"
    "<x:xmpmeta xmlns:x='adobe:ns:meta/'>\n"
    "<rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'>\n"
    " <rdf:Description rdf:about=''\n"
    "  xmlns:exif='http://ns.adobe.com/exif/1.0/'\n"
    "  xmlns:photoshop='http://ns.adobe.com/photoshop/1.0/'>\n"
    "  <exif:GPSLatitude>48,51.504N</exif:GPSLatitude>\n"
    "  <exif:GPSLongitude>2,17.67E</exif:GPSLongitude>\n"
    "  <photoshop:City>Paris</photoshop:City>\n"
    "  <photoshop:Country>France</photoshop:Country>\n"
    " </rdf:Description>\n"
    "</rdf:RDF>\n"
    "</x:xmpmeta>\n"
    "<?xpacket end='w'?>";

// ---- Transform table ---------------------------------------------------------

// Applies itself to the file's bytes; false if it does not apply (the file
// is then unchanged). `label` gets the transform's name and parameters.
using TransformFn = std::function<bool(std::string*, Rng*, std::string*)>;

// A transform of a parsed container (PNG chunks, RIFF chunks, GIF blocks):
// parse the bytes, let `f` change the parts, build the bytes again; false
// when they do not parse or `f` does not apply.
template <typename T>
TransformFn OnParsed(bool (*parse)(const std::string&, T*),
                     std::string (*build)(const T&),
                     std::function<bool(T*, Rng*, std::string*)> f) {
  return [parse, build, f](std::string* d, Rng* rng, std::string* l) {
    T parts;
    if (!parse(*d, &parts) || !f(&parts, rng, l)) return false;
    *d = build(parts);
    return true;
  };
}

// ---- JPEG --------------------------------------------------------------------

struct JSeg {
  size_t off;   // First 0xFF (fill bytes included).
  size_t mpos;  // The marker code byte.
  size_t len;   // Through the end of the segment.
  uint8_t m;
};

bool Standalone(uint8_t m) { return m == 0x01 || (m >= 0xD0 && m <= 0xD7); }

// Segments between SOI and the first SOS (at *sos).
bool ParseJpeg(const std::string& d, std::vector<JSeg>* segs, size_t* sos) {
  if (d.size() < 4 || U8(d, 0) != 0xFF || U8(d, 1) != 0xD8) return false;
  size_t o = 2;
  while (o + 4 <= d.size()) {
    if (U8(d, o) != 0xFF) return false;
    size_t m = o;
    while (m < d.size() && U8(d, m) == 0xFF) ++m;
    if (m + 3 > d.size()) return false;
    const uint8_t mk = U8(d, m);
    if (mk == 0xDA) {
      *sos = o;
      return true;
    }
    const size_t len =
        Standalone(mk) ? m + 1 - o : m + 1 - o + Rd(d, m + 1, 2, true);
    if (o + len > d.size()) return false;
    segs->push_back({o, m, len, mk});
    o += len;
  }
  return false;
}

bool IsExifApp1(const std::string& d, const JSeg& s) {
  return s.m == 0xE1 && s.mpos + 9 <= d.size() &&
         absl::EqualsIgnoreCase(d.substr(s.mpos + 3, 4), "exif");
}
bool IsMetaApp(const JSeg& s) {
  return s.m == 0xE1 || s.m == 0xED || s.m == 0xFE;
}

// The first marker after the first scan's entropy-coded data (EOI for a
// baseline file, DHT/SOS for a progressive one).
size_t FirstScanEnd(const std::string& d, size_t sos) {
  size_t m = sos;
  while (U8(d, m) == 0xFF) ++m;
  size_t p = m + 1 + Rd(d, m + 1, 2, true);
  for (; p + 1 < d.size(); ++p) {
    if (U8(d, p) != 0xFF) continue;
    const uint8_t n = U8(d, p + 1);
    if (n == 0x00 || n == 0xFF || (n >= 0xD0 && n <= 0xD7)) continue;
    return p;
  }
  return d.size();
}

std::string ComPadding(size_t total) {
  // COM segments of exactly `total` bytes (total >= 4).
  std::string out;
  while (total > 0) {
    size_t take = std::min<size_t>(total, 65537);
    if (total - take > 0 && total - take < 4) take -= 4;
    out += "\xFF\xFE" + Enc(2, take - 2) + std::string(take - 4, 'p');
    total -= take;
  }
  return out;
}

std::vector<std::pair<std::string, TransformFn>> JpegTransforms() {
  std::vector<std::pair<std::string, TransformFn>> t;
  auto exif_seg = [](const std::string& d, JSeg* out) {
    std::vector<JSeg> segs;
    size_t sos;
    if (!ParseJpeg(d, &segs, &sos)) return false;
    for (const JSeg& s : segs) {
      if (IsExifApp1(d, s) || s.m == 0xE1) {
        *out = s;
        return true;
      }
    }
    return false;
  };
  t.push_back({"fill-ff", [=](std::string* d, Rng* rng, std::string* l) {
                 JSeg s;
                 if (!exif_seg(*d, &s)) return false;
                 const size_t n = 1 + Pick(rng, 8);
                 d->insert(s.off, std::string(n, '\xFF'));
                 *l = absl::StrCat("fill-ff(", n, ")");
                 return true;
               }});
  t.push_back({"standalone", [=](std::string* d, Rng* rng, std::string* l) {
                 JSeg s;
                 if (!exif_seg(*d, &s)) return false;
                 const int code = Pick(rng, 3) == 0 ? 0x01 : 0xD0 + Pick(rng, 8);
                 d->insert(s.off, std::string("\xFF") + static_cast<char>(code));
                 *l = absl::StrCat("standalone-ff", absl::Hex(code));
                 return true;
               }});
  t.push_back({"exif-caps", [=](std::string* d, Rng*, std::string* l) {
                 JSeg s;
                 if (!exif_seg(*d, &s) || !IsExifApp1(*d, s)) return false;
                 d->replace(s.mpos + 3, 4, "EXIF");
                 *l = "exif-caps";
                 return true;
               }});
  t.push_back({"junk-before-exif", [=](std::string* d, Rng* rng,
                                       std::string* l) {
                 JSeg s;
                 if (!exif_seg(*d, &s) || !IsExifApp1(*d, s)) return false;
                 const size_t n = 1 + Pick(rng, 6);
                 std::string junk;
                 for (size_t i = 0; i < n; ++i) {
                   junk += static_cast<char>('a' + Pick(rng, 26));
                 }
                 const uint32_t len = Rd(*d, s.mpos + 1, 2, true) + n;
                 if (len > 65535) return false;
                 d->insert(s.mpos + 3, junk);
                 Wr(d, s.mpos + 1, 2, len, true);
                 *l = absl::StrCat("junk-before-exif(", n, ")");
                 return true;
               }});
  t.push_back({"reorder-app", [](std::string* d, Rng* rng, std::string* l) {
                 std::vector<JSeg> segs;
                 size_t sos;
                 if (!ParseJpeg(*d, &segs, &sos)) return false;
                 std::vector<size_t> app;
                 for (size_t i = 0; i < segs.size(); ++i) {
                   if ((segs[i].m >= 0xE0 && segs[i].m <= 0xEF) ||
                       segs[i].m == 0xFE) {
                     app.push_back(i);
                   }
                 }
                 if (app.size() < 2) return false;
                 std::vector<size_t> perm = app;
                 std::shuffle(perm.begin(), perm.end(), *rng);
                 std::string out = d->substr(0, 2);
                 std::vector<std::string> order;
                 size_t k = 0;
                 for (size_t i = 0; i < segs.size(); ++i) {
                   const JSeg& s = std::find(app.begin(), app.end(), i) !=
                                           app.end()
                                       ? segs[perm[k++]]
                                       : segs[i];
                   out += d->substr(s.off, s.len);
                   order.push_back(absl::StrCat(absl::Hex(s.m)));
                 }
                 out += d->substr(sos);
                 *d = out;
                 *l = absl::StrCat("reorder-app(", absl::StrJoin(order, ","),
                                   ")");
                 return true;
               }});
  t.push_back({"app-after-scan", [](std::string* d, Rng*, std::string* l) {
                 std::vector<JSeg> segs;
                 size_t sos;
                 if (!ParseJpeg(*d, &segs, &sos)) return false;
                 std::string head = d->substr(0, 2), moved;
                 for (const JSeg& s : segs) {
                   (IsMetaApp(s) ? moved : head) += d->substr(s.off, s.len);
                 }
                 if (moved.empty()) return false;
                 std::string out = head + d->substr(sos);
                 const size_t at = FirstScanEnd(out, head.size());
                 out.insert(at, moved);
                 *l = absl::StrCat("app-after-first-scan(@", at, ")");
                 *d = out;
                 return true;
               }});
  t.push_back({"trailer-exif-copy", [=](std::string* d, Rng*,
                                        std::string* l) {
                 JSeg s;
                 if (!exif_seg(*d, &s)) return false;
                 *d += d->substr(s.off, s.len);
                 *l = "trailer-exif-copy";
                 return true;
               }});
  t.push_back({"second-image", [](std::string* d, Rng*, std::string* l) {
                 *d += std::string(*d);
                 *l = "mpf-style-second-image";
                 return true;
               }});
  // A real MPF file: the primary image without its metadata, an APP2 MPF
  // index, and the image with the location as the second MP image (where
  // only a reader of the MPF index finds it).
  t.push_back({"mpf", [](std::string* d, Rng*, std::string* l) {
                 std::vector<JSeg> segs;
                 size_t sos;
                 if (!ParseJpeg(*d, &segs, &sos)) return false;
                 std::string primary = d->substr(0, 2);
                 for (const JSeg& s : segs) {
                   if (!IsMetaApp(s)) primary += d->substr(s.off, s.len);
                 }
                 // The MPF segment goes right after SOI (and JFIF, if any).
                 size_t at = 2;
                 if (!segs.empty() && segs[0].m == 0xE0) at += segs[0].len;
                 const std::string tiff_head = std::string("MM\0*", 4) + Enc(4, 8);
                 // IFD: 3 entries, then the two 16-byte MP entries.
                 const uint32_t entries_at = 8 + 2 + 3 * 12 + 4;
                 std::string ifd = Enc(2, 3);
                 ifd += Enc(2, 0xB000) + Enc(2, 7) + Enc(4, 4) + "0100";
                 ifd += Enc(2, 0xB001) + Enc(2, 4) + Enc(4, 1) + Enc(4, 2);
                 ifd += Enc(2, 0xB002) + Enc(2, 7) + Enc(4, 32) +
                        Enc(4, entries_at);
                 ifd += Enc(4, 0);
                 const size_t app2_len = 2 + 2 + 4 + tiff_head.size() +
                                         ifd.size() + 32;
                 const size_t size1 = primary.size() + app2_len +
                                      d->size() - sos;
                 const size_t tiff_pos = at + 4 + 4;  // after "MPF\0"
                 std::string mp = Enc(4, 0x20030000) + Enc(4, size1) +
                                  Enc(4, 0) + Enc(4, 0);
                 mp += Enc(4, 0x00010001) + Enc(4, d->size()) +
                       Enc(4, size1 - tiff_pos) + Enc(4, 0);
                 const std::string app2 = "\xFF\xE2" + Enc(2, app2_len - 2) +
                                          std::string("MPF\0", 4) +
                                          tiff_head + ifd + mp;
                 primary.insert(at, app2);
                 *d = primary + d->substr(sos) + *d;
                 *l = "mpf-second-image-has-the-location";
                 return true;
               }});
  t.push_back({"pad", [=](std::string* d, Rng* rng, std::string* l) {
                 JSeg s;
                 if (!exif_seg(*d, &s)) return false;
                 const size_t b = PickBoundary(rng);
                 const size_t anchor = s.off + Pick(rng, s.len);
                 const size_t pad = PadFor(anchor, b, 4);
                 d->insert(s.off, ComPadding(pad));
                 *l = absl::StrCat("pad-com(", b, ",+", pad, ")");
                 return true;
               }});
  return t;
}

// ---- PNG ---------------------------------------------------------------------

uint32_t Crc32(const std::string& s) {
  static uint32_t table[256];
  static bool init = false;
  if (!init) {
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      table[i] = c;
    }
    init = true;
  }
  uint32_t c = 0xFFFFFFFFu;
  for (char ch : s) c = table[(c ^ static_cast<uint8_t>(ch)) & 0xff] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

struct PChunk {
  std::string type, data;
};
struct Png {
  std::vector<PChunk> chunks;
  std::string trailer;  // After IEND.
};

bool ParsePng(const std::string& d, Png* p) {
  if (d.size() < 8 || d.compare(0, 8, "\x89PNG\r\n\x1a\n") != 0) return false;
  size_t o = 8;
  while (o + 12 <= d.size()) {
    const uint32_t len = Rd(d, o, 4, true);
    if (o + 12 + len > d.size()) return false;
    p->chunks.push_back({d.substr(o + 4, 4), d.substr(o + 8, len)});
    o += 12 + len;
    if (p->chunks.back().type == "IEND") {
      p->trailer = d.substr(o);
      return true;
    }
  }
  return false;
}
std::string PngChunk(const PChunk& c) {
  return Enc(4, c.data.size()) + c.type + c.data + Enc(4, Crc32(c.type + c.data));
}
std::string BuildPng(const Png& p) {
  std::string out = "\x89PNG\r\n\x1a\n";
  for (const PChunk& c : p.chunks) out += PngChunk(c);
  return out + p.trailer;
}
bool IsPngMeta(const PChunk& c) {
  return c.type == "tEXt" || c.type == "zTXt" || c.type == "iTXt" ||
         c.type == "eXIf";
}

std::vector<std::pair<std::string, TransformFn>> PngTransforms() {
  std::vector<std::pair<std::string, TransformFn>> t;
  // Wraps a transform of the parsed chunks.
  auto on_png = [](std::function<bool(Png*, Rng*, std::string*)> f) {
    return OnParsed<Png>(ParsePng, BuildPng, std::move(f));
  };
  auto take_meta = [](Png* p) {
    std::vector<PChunk> meta, rest;
    for (PChunk& c : p->chunks) (IsPngMeta(c) ? meta : rest).push_back(c);
    p->chunks = rest;
    return meta;
  };
  t.push_back({"meta-shuffle", on_png([](Png* p, Rng* rng, std::string* l) {
                 std::vector<size_t> idx;
                 for (size_t i = 0; i < p->chunks.size(); ++i) {
                   if (IsPngMeta(p->chunks[i])) idx.push_back(i);
                 }
                 if (idx.size() < 2) return false;
                 std::vector<PChunk> m;
                 for (size_t i : idx) m.push_back(p->chunks[i]);
                 std::shuffle(m.begin(), m.end(), *rng);
                 std::vector<std::string> names;
                 for (size_t k = 0; k < idx.size(); ++k) {
                   p->chunks[idx[k]] = m[k];
                   names.push_back(m[k].type);
                 }
                 *l = absl::StrCat("meta-order(", absl::StrJoin(names, ","),
                                   ")");
                 return true;
               })});
  t.push_back({"meta-after-ihdr", on_png([=](Png* p, Rng*, std::string* l) {
                 std::vector<PChunk> m = take_meta(p);
                 if (m.empty()) return false;
                 p->chunks.insert(p->chunks.begin() + 1, m.begin(), m.end());
                 *l = "meta-after-IHDR";
                 return true;
               })});
  t.push_back({"meta-after-idat", on_png([=](Png* p, Rng*, std::string* l) {
                 std::vector<PChunk> m = take_meta(p);
                 if (m.empty()) return false;
                 p->chunks.insert(p->chunks.end() - 1, m.begin(), m.end());
                 *l = "meta-after-IDAT";
                 return true;
               })});
  t.push_back({"xmp-keyword-caps", on_png([](Png* p, Rng*, std::string* l) {
                 for (PChunk& c : p->chunks) {
                   if (c.type == "iTXt" &&
                       absl::StartsWith(c.data, "XML:com.adobe.xmp")) {
                     c.data.replace(0, 17, "XML:COM.ADOBE.XMP");
                     *l = "xmp-keyword-caps";
                     return true;
                   }
                 }
                 return false;
               })});
  t.push_back({"exif-spelling", on_png([](Png* p, Rng*, std::string* l) {
                 for (PChunk& c : p->chunks) {
                   if (c.type == "eXIf") {
                     c.type = "exIf";
                     *l = "eXIf-as-exIf";
                     return true;
                   }
                 }
                 return false;
               })});
  t.push_back({"text-keyword-case", on_png([](Png* p, Rng* rng,
                                              std::string* l) {
                 std::vector<PChunk*> text;
                 for (PChunk& c : p->chunks) {
                   if ((c.type == "tEXt" || c.type == "zTXt" ||
                        c.type == "iTXt") &&
                       !absl::StartsWith(c.data, "XML:com.adobe.xmp")) {
                     text.push_back(&c);
                   }
                 }
                 if (text.empty()) return false;
                 PChunk* c = text[Pick(rng, text.size())];
                 const size_t end = c->data.find('\0');
                 if (end == std::string::npos) return false;
                 for (size_t i = 0; i < end; ++i) {
                   c->data[i] = Pick(rng, 2) ? absl::ascii_toupper(c->data[i])
                                             : absl::ascii_tolower(c->data[i]);
                 }
                 *l = absl::StrCat("keyword-case(", c->data.substr(0, end),
                                   ")");
                 return true;
               })});
  t.push_back({"after-iend", on_png([](Png* p, Rng* rng, std::string* l) {
                 std::vector<PChunk> m;
                 for (const PChunk& c : p->chunks) {
                   if (IsPngMeta(c)) m.push_back(c);
                 }
                 if (m.empty()) return false;
                 const PChunk& c = m[Pick(rng, m.size())];
                 p->trailer += PngChunk(c);
                 *l = absl::StrCat("after-IEND(", c.type, ")");
                 return true;
               })});
  t.push_back({"pad", [](std::string* d, Rng* rng, std::string* l) {
                 Png p;
                 if (!ParsePng(*d, &p)) return false;
                 std::vector<size_t> idx;
                 for (size_t i = 0; i < p.chunks.size(); ++i) {
                   if (IsPngMeta(p.chunks[i])) idx.push_back(i);
                 }
                 if (idx.empty()) return false;
                 const size_t i = idx[Pick(rng, idx.size())];
                 size_t off = 8;
                 for (size_t k = 0; k < i; ++k) off += 12 + p.chunks[k].data.size();
                 const size_t b = PickBoundary(rng);
                 const size_t pad =
                     PadFor(off + Pick(rng, 12 + p.chunks[i].data.size()), b, 12);
                 p.chunks.insert(p.chunks.begin() + i,
                                 PChunk{"prVt", std::string(pad - 12, 'p')});
                 *d = BuildPng(p);
                 *l = absl::StrCat("pad-chunk(", b, ",+", pad, ",before ",
                                   p.chunks[i + 1].type, ")");
                 return true;
               }});
  return t;
}

// A tEXt chunk carrying a location under keywords exiftool shows as tags.
bool AddPngText(std::string* d) {
  Png p;
  if (!ParsePng(*d, &p)) return false;
  p.chunks.insert(p.chunks.begin() + 1,
                  {PChunk{"tEXt", std::string("Location\0Paris, France", 22)},
                   PChunk{"tEXt", std::string("GPSPosition\0" "48.8584 2.2945",
                                              26)}});
  *d = BuildPng(p);
  return true;
}

// ---- TIFF --------------------------------------------------------------------

struct TEntry {
  uint16_t tag, type;
  uint32_t count;
  std::string value;  // The 4 raw bytes.
};

int TypeSize(uint16_t type) {
  static const int k[] = {0, 1, 1, 2, 4, 8, 1, 1, 2, 4, 8, 4, 8, 4};
  return type < 14 ? k[type] : 1;
}

bool TiffLe(const std::string& d, bool* le) {
  if (d.size() < 8) return false;
  if (d.compare(0, 4, "II*\0", 4) == 0) {
    *le = true;
  } else if (d.compare(0, 4, "MM\0*", 4) == 0) {
    *le = false;
  } else {
    return false;
  }
  return true;
}

bool ReadIfd(const std::string& d, size_t off, bool le,
             std::vector<TEntry>* es, uint32_t* next) {
  if (off + 2 > d.size()) return false;
  const uint32_t n = Rd(d, off, 2, !le);
  if (off + 2 + 12 * n + 4 > d.size()) return false;
  for (uint32_t i = 0; i < n; ++i) {
    const size_t e = off + 2 + 12 * i;
    es->push_back({static_cast<uint16_t>(Rd(d, e, 2, !le)),
                   static_cast<uint16_t>(Rd(d, e + 2, 2, !le)),
                   Rd(d, e + 4, 4, !le), d.substr(e + 8, 4)});
  }
  *next = Rd(d, off + 2 + 12 * n, 4, !le);
  return true;
}

// Appends an IFD (and, with copy_values, copies of its out-of-line values)
// at the end of `d`; returns its offset.
size_t AppendIfd(std::string* d, std::vector<TEntry> es, uint32_t next,
                 bool le, bool copy_values) {
  std::sort(es.begin(), es.end(),
            [](const TEntry& a, const TEntry& b) { return a.tag < b.tag; });
  if (d->size() % 2) d->push_back('\0');
  const size_t at = d->size();
  std::string values;
  const size_t values_at = at + 2 + 12 * es.size() + 4;
  for (TEntry& e : es) {
    const uint64_t size = uint64_t{e.count} * TypeSize(e.type);
    if (copy_values && size > 4) {
      const uint32_t old = Rd(e.value, 0, 4, !le);
      if (old + size <= d->size()) {
        const size_t nv = values_at + values.size();
        values += d->substr(old, size);
        if (values.size() % 2) values.push_back('\0');
        e.value = Enc(4, nv, !le);
      }
    }
  }
  std::string ifd = Enc(2, es.size(), !le);
  for (const TEntry& e : es) {
    ifd += Enc(2, e.tag, !le) + Enc(2, e.type, !le) + Enc(4, e.count, !le) +
           e.value;
  }
  ifd += Enc(4, next, !le);
  *d += ifd + values;
  return at;
}

// Sets the value of `tag` in the IFD at `ifd` in place; false if absent.
bool PatchEntry(std::string* d, size_t ifd, bool le, uint16_t tag,
                uint32_t value) {
  const uint32_t n = Rd(*d, ifd, 2, !le);
  for (uint32_t i = 0; i < n; ++i) {
    const size_t e = ifd + 2 + 12 * i;
    if (Rd(*d, e, 2, !le) == tag) {
      Wr(d, e + 8, 4, value, !le);
      return true;
    }
  }
  return false;
}

uint32_t EntryValue(const std::vector<TEntry>& es, uint16_t tag, bool le) {
  for (const TEntry& e : es) {
    if (e.tag == tag) return Rd(e.value, 0, 4, !le);
  }
  return 0;
}

std::vector<std::pair<std::string, TransformFn>> TiffTransforms() {
  std::vector<std::pair<std::string, TransformFn>> t;
  t.push_back({"gps-into-exif", [](std::string* d, Rng*, std::string* l) {
                 bool le;
                 if (!TiffLe(*d, &le)) return false;
                 const uint32_t ifd0 = Rd(*d, 4, 4, !le);
                 std::vector<TEntry> e0, ex;
                 uint32_t next0, nextx;
                 if (!ReadIfd(*d, ifd0, le, &e0, &next0)) return false;
                 const uint32_t exif = EntryValue(e0, 0x8769, le);
                 auto gps = std::find_if(e0.begin(), e0.end(), [](const TEntry& e) {
                   return e.tag == 0x8825;
                 });
                 if (gps == e0.end()) return false;
                 // No Exif IFD yet: one with just the GPS pointer.
                 if (exif != 0 && !ReadIfd(*d, exif, le, &ex, &nextx)) {
                   return false;
                 }
                 ex.push_back(*gps);
                 e0.erase(gps);
                 if (exif == 0) e0.push_back({0x8769, 4, 1, std::string(4, '\0')});
                 const size_t nx = AppendIfd(d, ex, 0, le, false);
                 for (TEntry& e : e0) {
                   if (e.tag == 0x8769) e.value = Enc(4, nx, !le);
                 }
                 const size_t n0 = AppendIfd(d, e0, next0, le, false);
                 Wr(d, 4, 4, n0, !le);
                 *l = exif == 0 ? "gps-pointer-in-new-exif-ifd"
                                : "gps-pointer-in-exif-ifd";
                 return true;
               }});
  t.push_back({"relocate", [](std::string* d, Rng* rng, std::string* l) {
                 bool le;
                 if (!TiffLe(*d, &le)) return false;
                 const uint32_t ifd0 = Rd(*d, 4, 4, !le);
                 std::vector<TEntry> e0, ex;
                 uint32_t next0, nextx;
                 if (!ReadIfd(*d, ifd0, le, &e0, &next0)) return false;
                 const uint32_t exif = EntryValue(e0, 0x8769, le);
                 if (exif != 0) ReadIfd(*d, exif, le, &ex, &nextx);
                 // Which IFD holds the GPS pointer.
                 size_t gps_holder = ifd0;
                 uint32_t gps = EntryValue(e0, 0x8825, le);
                 if (gps == 0 && exif != 0) {
                   gps = EntryValue(ex, 0x8825, le);
                   gps_holder = exif;
                 }
                 const int which = Pick(rng, 3);  // 0 gps, 1 exif, 2 ifd0
                 const uint32_t src = which == 0 ? gps : which == 1 ? exif : ifd0;
                 if (src == 0) return false;
                 std::vector<TEntry> es;
                 uint32_t next;
                 if (!ReadIfd(*d, src, le, &es, &next)) return false;
                 const size_t b = PickBoundary(rng);
                 if (d->size() % 2) d->push_back('\0');
                 size_t pad = PadFor(d->size() + Pick(rng, 2 + 12 * es.size()),
                                     b, 0);
                 pad &= ~size_t{1};
                 d->append(pad, '\0');
                 const size_t at = AppendIfd(d, es, next, le, true);
                 if (which == 0) {
                   PatchEntry(d, gps_holder, le, 0x8825, at);
                 } else if (which == 1) {
                   PatchEntry(d, ifd0, le, 0x8769, at);
                 } else {
                   Wr(d, 4, 4, at, !le);
                 }
                 static const char* const kNames[] = {"gps", "exif", "ifd0"};
                 *l = absl::StrCat("relocate-", kNames[which], "-ifd(", b,
                                   ",@", at, ")");
                 return true;
               }});
  return t;
}

// ---- ISO-BMFF ------------------------------------------------------------------

struct BNode {
  std::string type;
  std::string prefix;   // Full-box version/flags of a container (meta).
  std::string payload;  // Leaves.
  std::vector<BNode> kids;
  bool container = false;
  int64_t orig_off = -1;  // Top-level boxes: offset in the parsed file.
  size_t orig_size = 0;
};

bool IsBoxContainer(const std::string& t) {
  static const std::set<std::string> k = {"moov", "trak", "mdia", "minf",
                                          "stbl", "udta", "edts", "dinf",
                                          "meta", "iprp", "ipco", "mvex",
                                          "moof", "traf"};
  return k.count(t) > 0;
}

bool ParseBoxes(const std::string& d, size_t off, size_t end, int depth,
                std::vector<BNode>* out) {
  while (off < end) {
    if (off + 8 > end) return false;
    uint64_t size = Rd(d, off, 4, true);
    size_t hdr = 8;
    if (size == 1) {
      if (off + 16 > end) return false;
      size = (uint64_t{Rd(d, off + 8, 4, true)} << 32) | Rd(d, off + 12, 4, true);
      hdr = 16;
    } else if (size == 0) {
      size = end - off;
    }
    if (size < hdr || off + size > end) return false;
    BNode n;
    n.type = d.substr(off + 4, 4);
    n.orig_off = off;
    n.orig_size = size;
    bool parsed = false;
    if (depth < 8 && IsBoxContainer(n.type)) {
      size_t c = off + hdr;
      if (n.type == "meta" && d.compare(c + 4, 4, "hdlr") != 0) {
        n.prefix = d.substr(c, 4);
        c += 4;
      }
      n.container = true;
      parsed = c <= off + size && ParseBoxes(d, c, off + size, depth + 1, &n.kids);
      if (!parsed) {
        n.kids.clear();
        n.prefix.clear();
        n.container = false;
      }
    }
    if (!parsed) n.payload = d.substr(off + hdr, size - hdr);
    out->push_back(std::move(n));
    off += size;
  }
  return true;
}

size_t BoxSize(const BNode& n) {
  size_t s = 8 + n.prefix.size() + n.payload.size();
  for (const BNode& k : n.kids) s += BoxSize(k);
  return s;
}

void SerializeBox(const BNode& n, std::string* out,
                  std::map<const BNode*, size_t>* pos) {
  if (pos != nullptr) (*pos)[&n] = out->size();
  *out += Enc(4, BoxSize(n)) + n.type + n.prefix + n.payload;
  for (const BNode& k : n.kids) SerializeBox(k, out, pos);
}

BNode* FindBox(std::vector<BNode>* v, const std::string& type) {
  for (BNode& n : *v) {
    if (n.type == type) return &n;
  }
  return nullptr;
}

// Rewrites the absolute file offsets in stco/co64/iloc after the top-level
// boxes moved: an offset inside old top-level box B becomes the same offset
// inside B's new position.
void FixOffsets(std::vector<BNode>* top, std::map<const BNode*, size_t>* pos) {
  auto remap = [&](uint64_t v) -> uint64_t {
    for (const BNode& n : *top) {
      if (n.orig_off >= 0 && v >= static_cast<uint64_t>(n.orig_off) &&
          v < n.orig_off + n.orig_size) {
        // Header sizes may differ (largesize): keep the offset within the
        // payload.
        return v - n.orig_off + (*pos)[&n];
      }
    }
    return v;
  };
  std::function<void(BNode*)> walk = [&](BNode* n) {
    std::string& p = n->payload;
    if ((n->type == "stco" || n->type == "co64") && p.size() >= 8) {
      const int w = n->type == "stco" ? 4 : 8;
      const uint32_t count = Rd(p, 4, 4, true);
      for (uint32_t i = 0; i < count && 8 + (i + 1) * w <= p.size(); ++i) {
        const size_t at = 8 + i * w;
        uint64_t v = w == 4 ? Rd(p, at, 4, true)
                            : (uint64_t{Rd(p, at, 4, true)} << 32) |
                                  Rd(p, at + 4, 4, true);
        v = remap(v);
        if (w == 4) {
          Wr(&p, at, 4, v, true);
        } else {
          Wr(&p, at, 4, v >> 32, true);
          Wr(&p, at + 4, 4, v & 0xffffffffu, true);
        }
      }
    }
    if (n->type == "iloc" && p.size() >= 8) {
      const int version = U8(p, 0);
      const int off_size = U8(p, 4) >> 4, len_size = U8(p, 4) & 15;
      const int base_size = U8(p, 5) >> 4;
      const int idx_size = version >= 1 ? U8(p, 5) & 15 : 0;
      size_t at = 6;
      const int id_w = version < 2 ? 2 : 4;
      if (at + id_w > p.size()) return;
      const uint32_t items = Rd(p, at, id_w, true);
      at += id_w;
      auto rdn = [&](size_t a, int n) -> uint64_t {
        uint64_t v = 0;
        for (int i = 0; i < n; ++i) v = (v << 8) | U8(p, a + i);
        return v;
      };
      auto wrn = [&](size_t a, int n, uint64_t v) {
        for (int i = n - 1; i >= 0; --i) {
          p[a + i] = static_cast<char>(v & 0xff);
          v >>= 8;
        }
      };
      for (uint32_t i = 0; i < items; ++i) {
        at += id_w;
        int method = 0;
        if (version >= 1) {
          if (at + 2 > p.size()) return;
          method = U8(p, at + 1) & 15;
          at += 2;
        }
        at += 2;  // data_reference_index
        if (at + base_size + 2 > p.size()) return;
        const size_t base_at = at;
        const uint64_t base = rdn(at, base_size);
        at += base_size;
        const uint32_t extents = Rd(p, at, 2, true);
        at += 2;
        const bool fix_base = method == 0 && base_size > 0 && base != 0;
        if (fix_base) wrn(base_at, base_size, remap(base));
        for (uint32_t e = 0; e < extents; ++e) {
          at += idx_size;
          if (at + off_size + len_size > p.size()) return;
          if (method == 0 && !fix_base && off_size > 0) {
            wrn(at, off_size, remap(rdn(at, off_size)));
          }
          at += off_size + len_size;
        }
      }
    }
    for (BNode& k : n->kids) walk(&k);
  };
  for (BNode& n : *top) walk(&n);
}

std::string BuildBoxes(std::vector<BNode>* top) {
  std::map<const BNode*, size_t> pos;
  std::string out;
  for (const BNode& n : *top) SerializeBox(n, &out, &pos);
  FixOffsets(top, &pos);
  out.clear();
  for (const BNode& n : *top) SerializeBox(n, &out, nullptr);
  return out;
}

BNode FreeBox(size_t total) {
  BNode f;
  f.type = "free";
  f.payload.assign(total - 8, '\0');
  return f;
}

// The boxes that carry metadata, for padding anchors: (top-level index,
// node).
void MetaBoxes(std::vector<BNode>* top,
               std::vector<std::pair<size_t, BNode*>>* out) {
  std::function<void(size_t, BNode*)> walk = [&](size_t i, BNode* n) {
    if (n->type == "udta" || n->type == "meta" || n->type == "\xA9xyz" ||
        n->type == "XMP_" || n->type == "uuid" || n->type == "keys") {
      out->push_back({i, n});
    }
    for (BNode& k : n->kids) walk(i, &k);
  };
  for (size_t i = 0; i < top->size(); ++i) walk(i, &(*top)[i]);
}

std::vector<std::pair<std::string, TransformFn>> BmffTransforms() {
  std::vector<std::pair<std::string, TransformFn>> t;
  auto on_boxes = [](std::function<bool(std::vector<BNode>*, Rng*,
                                        std::string*)> f) {
    return [f](std::string* d, Rng* rng, std::string* l) {
      std::vector<BNode> top;
      if (!ParseBoxes(*d, 0, d->size(), 0, &top) || !f(&top, rng, l)) {
        return false;
      }
      *d = BuildBoxes(&top);
      return true;
    };
  };
  auto insert_free = [](std::vector<BNode>* v, size_t from, Rng* rng) {
    const size_t i = from + Pick(rng, v->size() + 1 - from);
    v->insert(v->begin() + std::min(i, v->size()), FreeBox(8 + Pick(rng, 64)));
    return i;
  };
  t.push_back({"free-in-moov", on_boxes([=](std::vector<BNode>* top, Rng* rng,
                                            std::string* l) {
                 BNode* moov = FindBox(top, "moov");
                 if (moov == nullptr) moov = FindBox(top, "meta");
                 if (moov == nullptr) return false;
                 const size_t i = insert_free(&moov->kids, 0, rng);
                 *l = absl::StrCat("free-in-", moov->type, "(#", i, ")");
                 return true;
               })});
  t.push_back({"free-in-udta", on_boxes([=](std::vector<BNode>* top, Rng* rng,
                                            std::string* l) {
                 BNode* moov = FindBox(top, "moov");
                 BNode* udta = moov ? FindBox(&moov->kids, "udta") : nullptr;
                 if (udta == nullptr) return false;
                 const size_t i = insert_free(&udta->kids, 0, rng);
                 *l = absl::StrCat("free-in-udta(#", i, ")");
                 return true;
               })});
  t.push_back({"free-top", on_boxes([=](std::vector<BNode>* top, Rng* rng,
                                        std::string* l) {
                 const size_t i = insert_free(top, 1, rng);
                 *l = absl::StrCat("free-top(#", i, ")");
                 return true;
               })});
  t.push_back({"udta-into-trak", on_boxes([](std::vector<BNode>* top, Rng*,
                                             std::string* l) {
                 BNode* moov = FindBox(top, "moov");
                 if (moov == nullptr) return false;
                 auto u = std::find_if(moov->kids.begin(), moov->kids.end(),
                                       [](const BNode& n) { return n.type == "udta"; });
                 BNode* trak = FindBox(&moov->kids, "trak");
                 if (u == moov->kids.end() || trak == nullptr) return false;
                 BNode udta = *u;
                 moov->kids.erase(u);
                 trak = FindBox(&moov->kids, "trak");
                 trak->kids.push_back(udta);
                 *l = "udta-inside-trak";
                 return true;
               })});
  t.push_back({"meta-into-udta", on_boxes([](std::vector<BNode>* top, Rng*,
                                             std::string* l) {
                 BNode* moov = FindBox(top, "moov");
                 if (moov == nullptr) return false;
                 auto m = std::find_if(moov->kids.begin(), moov->kids.end(),
                                       [](const BNode& n) { return n.type == "meta"; });
                 if (m == moov->kids.end()) return false;
                 BNode meta = *m;
                 moov->kids.erase(m);
                 BNode* udta = FindBox(&moov->kids, "udta");
                 if (udta == nullptr) {
                   BNode u;
                   u.type = "udta";
                   u.container = true;
                   moov->kids.push_back(u);
                   udta = &moov->kids.back();
                 }
                 udta->kids.push_back(meta);
                 *l = "keys-meta-inside-udta";
                 return true;
               })});
  t.push_back({"moov-move", on_boxes([](std::vector<BNode>* top, Rng*,
                                        std::string* l) {
                 auto m = std::find_if(top->begin(), top->end(),
                                       [](const BNode& n) { return n.type == "moov"; });
                 auto md = std::find_if(top->begin(), top->end(),
                                        [](const BNode& n) { return n.type == "mdat"; });
                 if (m == top->end() || md == top->end()) return false;
                 BNode moov = *m;
                 const bool after = m > md;
                 top->erase(m);
                 if (after) {
                   top->insert(top->begin() + 1, moov);
                   *l = "moov-before-mdat";
                 } else {
                   top->push_back(moov);
                   *l = "moov-after-mdat";
                 }
                 return true;
               })});
  t.push_back({"dup-udta-top", on_boxes([](std::vector<BNode>* top, Rng*,
                                           std::string* l) {
                 BNode* moov = FindBox(top, "moov");
                 BNode* udta = moov ? FindBox(&moov->kids, "udta") : nullptr;
                 if (udta == nullptr) return false;
                 BNode copy = *udta;
                 top->push_back(copy);
                 *l = "udta-copy-at-top-level-end";
                 return true;
               })});
  t.push_back({"pad", [](std::string* d, Rng* rng, std::string* l) {
                 std::vector<BNode> top;
                 if (!ParseBoxes(*d, 0, d->size(), 0, &top)) return false;
                 std::vector<std::pair<size_t, BNode*>> metas;
                 MetaBoxes(&top, &metas);
                 if (metas.empty()) return false;
                 auto [ti, node] = metas[Pick(rng, metas.size())];
                 std::map<const BNode*, size_t> pos;
                 std::string tmp;
                 for (const BNode& n : top) SerializeBox(n, &tmp, &pos);
                 const size_t b = PickBoundary(rng);
                 const size_t anchor = pos[node] + Pick(rng, BoxSize(*node));
                 const std::string what = node->type;
                 size_t mdat = top.size();
                 for (size_t i = 0; i < ti; ++i) {
                   if (top[i].type == "mdat") mdat = i;
                 }
                 size_t pad;
                 if (mdat < top.size()) {
                   pad = PadFor(anchor, b, 1);
                   top[mdat].payload.append(pad, '\0');
                   *l = absl::StrCat("pad-mdat(", b, ",+", pad, ",", what, ")");
                 } else {
                   pad = PadFor(anchor, b, 8);
                   top.insert(top.begin() + ti, FreeBox(pad));
                   *l = absl::StrCat("pad-free(", b, ",+", pad, ",", what, ")");
                 }
                 *d = BuildBoxes(&top);
                 return true;
               }});
  return t;
}

// ---- RIFF (WebP, AVI) -----------------------------------------------------------

struct RChunk {
  std::string id, data;
};
struct Riff {
  std::string form;  // "WEBP", "AVI "
  std::vector<RChunk> chunks;
  std::string trailer;
};
bool ParseRiff(const std::string& d, Riff* r) {
  if (d.size() < 12 || d.compare(0, 4, "RIFF") != 0) return false;
  const size_t end = std::min<size_t>(d.size(), 8 + Rd(d, 4, 4, false));
  r->form = d.substr(8, 4);
  size_t o = 12;
  while (o + 8 <= end) {
    const uint32_t len = Rd(d, o + 4, 4, false);
    if (o + 8 + len > end) return false;
    r->chunks.push_back({d.substr(o, 4), d.substr(o + 8, len)});
    o += 8 + len + (len & 1);
  }
  r->trailer = d.substr(std::min(o, d.size()));
  return true;
}
std::string RiffChunk(const RChunk& c) {
  std::string s = c.id + Enc(4, c.data.size(), false) + c.data;
  if (c.data.size() & 1) s.push_back('\0');
  return s;
}
std::string BuildRiff(const Riff& r) {
  std::string body = r.form;
  for (const RChunk& c : r.chunks) body += RiffChunk(c);
  return "RIFF" + Enc(4, body.size(), false) + body + r.trailer;
}
bool IsRiffMeta(const RChunk& c) {
  return c.id == "EXIF" || c.id == "XMP " || c.id == "_PMX";
}

std::vector<std::pair<std::string, TransformFn>> RiffTransforms() {
  std::vector<std::pair<std::string, TransformFn>> t;
  auto on_riff = [](std::function<bool(Riff*, Rng*, std::string*)> f) {
    return OnParsed<Riff>(ParseRiff, BuildRiff, std::move(f));
  };
  auto metas = [](Riff* r) {
    std::vector<size_t> v;
    for (size_t i = 0; i < r->chunks.size(); ++i) {
      if (IsRiffMeta(r->chunks[i])) v.push_back(i);
    }
    return v;
  };
  t.push_back({"meta-early", on_riff([=](Riff* r, Rng* rng, std::string* l) {
                 std::vector<size_t> m = metas(r);
                 if (m.empty()) return false;
                 const size_t i = m[Pick(rng, m.size())];
                 RChunk c = r->chunks[i];
                 r->chunks.erase(r->chunks.begin() + i);
                 r->chunks.insert(r->chunks.begin() + 1, c);
                 *l = absl::StrCat("chunk-early(", c.id, ")");
                 return true;
               })});
  t.push_back({"meta-swap", on_riff([=](Riff* r, Rng*, std::string* l) {
                 std::vector<size_t> m = metas(r);
                 if (m.size() < 2) return false;
                 std::swap(r->chunks[m[0]], r->chunks[m[1]]);
                 *l = "meta-chunks-swapped";
                 return true;
               })});
  t.push_back({"junk-odd", on_riff([=](Riff* r, Rng* rng, std::string* l) {
                 std::vector<size_t> m = metas(r);
                 if (m.empty()) return false;
                 const size_t i = m[Pick(rng, m.size())];
                 const size_t n = 1 + 2 * Pick(rng, 8);
                 r->chunks.insert(r->chunks.begin() + i,
                                  RChunk{"JUNK", std::string(n, 'j')});
                 *l = absl::StrCat("odd-JUNK(", n, ")");
                 return true;
               })});
  t.push_back({"pad", on_riff([=](Riff* r, Rng* rng, std::string* l) {
                 std::vector<size_t> m = metas(r);
                 if (m.empty()) return false;
                 const size_t i = m[Pick(rng, m.size())];
                 size_t off = 12;
                 for (size_t k = 0; k < i; ++k) off += RiffChunk(r->chunks[k]).size();
                 const size_t b = PickBoundary(rng);
                 size_t pad = PadFor(off + Pick(rng, 8 + r->chunks[i].data.size()),
                                     b, 8);
                 if (pad & 1) pad += 1;
                 r->chunks.insert(r->chunks.begin() + i,
                                  RChunk{"JUNK", std::string(pad - 8, '\0')});
                 *l = absl::StrCat("pad-JUNK(", b, ",+", pad, ")");
                 return true;
               })});
  t.push_back({"trailing-copy", on_riff([=](Riff* r, Rng* rng,
                                            std::string* l) {
                 std::vector<size_t> m = metas(r);
                 if (m.empty()) return false;
                 const RChunk& c = r->chunks[m[Pick(rng, m.size())]];
                 r->trailer += RiffChunk(c);
                 *l = absl::StrCat("after-RIFF(", c.id, ")");
                 return true;
               })});
  return t;
}

// ---- GIF -------------------------------------------------------------------------

struct Gif {
  std::string head;                 // Header, screen descriptor, palette.
  std::vector<std::string> blocks;  // Extensions and images.
  std::string trailer;              // 0x3B and what follows.
};
size_t SkipSubBlocks(const std::string& d, size_t o) {
  while (o < d.size()) {
    const size_t n = U8(d, o);
    o += 1 + n;
    if (n == 0) return o;
  }
  return std::string::npos;
}
bool ParseGif(const std::string& d, Gif* g) {
  if (d.size() < 13 || d.compare(0, 3, "GIF") != 0) return false;
  size_t o = 13;
  if (U8(d, 10) & 0x80) o += 3 * (1 << ((U8(d, 10) & 7) + 1));
  g->head = d.substr(0, o);
  while (o < d.size()) {
    const uint8_t b = U8(d, o);
    size_t end;
    if (b == 0x21) {
      end = SkipSubBlocks(d, o + 2);
    } else if (b == 0x2C) {
      if (o + 10 > d.size()) return false;
      size_t p = o + 10;
      if (U8(d, o + 9) & 0x80) p += 3 * (1 << ((U8(d, o + 9) & 7) + 1));
      end = SkipSubBlocks(d, p + 1);
    } else if (b == 0x3B) {
      g->trailer = d.substr(o);
      return true;
    } else {
      return false;
    }
    if (end == std::string::npos || end > d.size()) return false;
    g->blocks.push_back(d.substr(o, end - o));
    o = end;
  }
  return false;
}
std::string BuildGif(const Gif& g) {
  return g.head + absl::StrJoin(g.blocks, "") + g.trailer;
}
bool IsGifMeta(const std::string& b) {
  return b.size() > 2 && U8(b, 0) == 0x21 &&
         (U8(b, 1) == 0xFE || (U8(b, 1) == 0xFF && b.size() > 14));
}
// A comment extension of exactly `total` bytes (if possible; else a byte
// more).
std::string GifComment(size_t total) {
  for (size_t k = 1;; ++k) {
    if (total < 3 + k + 1) return GifComment(total + 1);
    const size_t n = total - 3 - k;
    if ((n + 254) / 255 == k) {
      std::string s = "\x21\xFE";
      for (size_t left = n; left > 0;) {
        const size_t take = std::min<size_t>(255, left);
        s += static_cast<char>(take) + std::string(take, 'c');
        left -= take;
      }
      return s + '\0';
    }
    if ((n + 254) / 255 < k) return GifComment(total + 1);
  }
}

std::vector<std::pair<std::string, TransformFn>> GifTransforms() {
  std::vector<std::pair<std::string, TransformFn>> t;
  auto on_gif = [](std::function<bool(Gif*, Rng*, std::string*)> f) {
    return OnParsed<Gif>(ParseGif, BuildGif, std::move(f));
  };
  t.push_back({"meta-after-image", on_gif([](Gif* g, Rng*, std::string* l) {
                 std::vector<std::string> meta, rest;
                 for (const std::string& b : g->blocks) {
                   (IsGifMeta(b) ? meta : rest).push_back(b);
                 }
                 if (meta.empty()) return false;
                 rest.insert(rest.end(), meta.begin(), meta.end());
                 g->blocks = rest;
                 *l = "meta-after-image";
                 return true;
               })});
  t.push_back({"meta-reverse", on_gif([](Gif* g, Rng*, std::string* l) {
                 std::vector<size_t> idx;
                 for (size_t i = 0; i < g->blocks.size(); ++i) {
                   if (IsGifMeta(g->blocks[i])) idx.push_back(i);
                 }
                 if (idx.size() < 2) return false;
                 std::swap(g->blocks[idx.front()], g->blocks[idx.back()]);
                 *l = "meta-order-swapped";
                 return true;
               })});
  t.push_back({"pad", on_gif([](Gif* g, Rng* rng, std::string* l) {
                 std::vector<size_t> idx;
                 for (size_t i = 0; i < g->blocks.size(); ++i) {
                   if (IsGifMeta(g->blocks[i])) idx.push_back(i);
                 }
                 if (idx.empty()) return false;
                 const size_t i = idx[Pick(rng, idx.size())];
                 size_t off = g->head.size();
                 for (size_t k = 0; k < i; ++k) off += g->blocks[k].size();
                 const size_t b = PickBoundary(rng);
                 const size_t pad =
                     PadFor(off + Pick(rng, g->blocks[i].size()), b, 8);
                 g->blocks.insert(g->blocks.begin() + i, GifComment(pad));
                 *l = absl::StrCat("pad-comment(", b, ",+", pad, ")");
                 return true;
               })});
  t.push_back({"trailing-copy", on_gif([](Gif* g, Rng* rng, std::string* l) {
                 std::vector<size_t> idx;
                 for (size_t i = 0; i < g->blocks.size(); ++i) {
                   if (IsGifMeta(g->blocks[i])) idx.push_back(i);
                 }
                 if (idx.empty()) return false;
                 g->trailer += g->blocks[idx[Pick(rng, idx.size())]];
                 *l = "meta-copy-after-trailer";
                 return true;
               })});
  return t;
}

// ---- Matroska, BMP -------------------------------------------------------------

std::vector<std::pair<std::string, TransformFn>> MatroskaTransforms() {
  std::vector<std::pair<std::string, TransformFn>> t;
  // A Void element between the EBML header and the Segment: nothing inside
  // the Segment moves relative to the Segment.
  t.push_back({"pad", [](std::string* d, Rng* rng, std::string* l) {
                 if (d->size() < 8 || d->compare(0, 4, "\x1A\x45\xDF\xA3") != 0) {
                   return false;
                 }
                 const uint8_t first = U8(*d, 4);
                 int w = 1;
                 while (w <= 8 && !(first & (0x80 >> (w - 1)))) ++w;
                 if (w > 8) return false;
                 uint64_t size = first & (0xFF >> w);
                 for (int i = 1; i < w; ++i) size = (size << 8) | U8(*d, 4 + i);
                 const size_t seg = 4 + w + size;
                 const size_t secret = d->find("+48.8584");
                 if (secret == std::string::npos || seg > d->size()) return false;
                 const size_t b = PickBoundary(rng);
                 const size_t pad = PadFor(secret + Pick(rng, 8), b, 9);
                 const uint64_t n = pad - 9;
                 std::string v = "\xEC\x01";
                 for (int i = 6; i >= 0; --i) {
                   v += static_cast<char>((n >> (8 * i)) & 0xff);
                 }
                 v += std::string(n, '\0');
                 d->insert(seg, v);
                 *l = absl::StrCat("pad-void(", b, ",+", pad, ")");
                 return true;
               }});
  t.push_back({"trailing-copy", [](std::string* d, Rng*, std::string* l) {
                 const size_t secret = d->find("+48.8584");
                 if (secret == std::string::npos) return false;
                 const size_t from = secret > 64 ? secret - 64 : 0;
                 *d += d->substr(from, 128);
                 *l = "tag-bytes-after-segment";
                 return true;
               }});
  return t;
}

std::vector<std::pair<std::string, TransformFn>> BmpTransforms() {
  std::vector<std::pair<std::string, TransformFn>> t;
  t.push_back({"trailing-xmp", [](std::string* d, Rng*, std::string* l) {
                 *d += kXmpPacket;
                 *l = "xmp-after-pixels";
                 return true;
               }});
  return t;
}

// ---- Base files ------------------------------------------------------------------

struct BaseSpec {
  std::string format;
  std::string file;
  std::string command;  // Run in the base directory.
};

std::vector<BaseSpec> BaseSpecs() {
  const std::string gps =
      "-GPSLatitude=48.8584 -GPSLatitudeRef=N -GPSLongitude=2.2945 "
      "-GPSLongitudeRef=E -GPSAltitude=35 ";
  const std::string xmp =
      "-XMP:GPSLatitude=48.8584 -XMP:GPSLongitude=2.2945 "
      "-XMP-photoshop:City=Paris -XMP-photoshop:Country=France ";
  const std::string iptc =
      "-IPTC:City=Paris -IPTC:Country-PrimaryLocationName=France ";
  const std::string et = "exiftool -q -q -overwrite_original ";
  const std::string img = "convert -size 64x48 gradient:red-blue ";
  const std::string qt =
      "'-Keys:GPSCoordinates=48.8584, 2.2945, 35' "
      "'-UserData:GPSCoordinates=48.8584, 2.2945, 35' "
      "'-ItemList:GPSCoordinates=48.8584, 2.2945' ";
  const std::string ff =
      "ffmpeg -nostdin -v error -y -f lavfi -i testsrc=size=64x64:rate=5 -t 1 ";
  const std::string loc = "-metadata location=+48.8584+002.2945/ ";
  auto image = [&](const std::string& f, const std::string& opts,
                   const std::string& tags) {
    return img + opts + f + " && " + et + tags + f;
  };
  return {
      // IPTC only in its own bases, so that the location-only profile's
      // handling of the other quirks shows apart from its (known) IPTC gap.
      {"jpeg", "gps.jpg", image("gps.jpg", "", gps + xmp)},
      {"jpeg", "prog.jpg", image("prog.jpg", "-interlace JPEG ", gps + xmp)},
      {"jpeg", "exif.jpg", image("exif.jpg", "", gps)},
      {"jpeg", "xmp.jpg", image("xmp.jpg", "", xmp)},
      {"jpeg", "iptc.jpg", image("iptc.jpg", "", iptc)},
      {"jpeg", "full.jpg", image("full.jpg", "", gps + xmp + iptc)},
      {"png", "gps.png", image("gps.png", "", gps + xmp)},
      {"png", "im.png", "convert gps.jpg im.png"},
      {"png", "imfull.png", "convert full.jpg imfull.png"},
      {"png", "text.png", img + "text.png"},  // + tEXt chunks (AddPngText)
      {"tiff", "le.tif", image("le.tif", "-endian LSB ", gps + xmp)},
      {"tiff", "be.tif", image("be.tif", "-endian MSB ", gps + xmp)},
      {"tiff", "exif.tif", image("exif.tif", "-endian MSB ", gps)},
      {"tiff", "iptc.tif", image("iptc.tif", "", iptc)},
      {"gif", "gps.gif",
       image("gps.gif", "", xmp + "'-Comment=Paris 48.8584 2.2945' ")},
      {"webp", "gps.webp", image("gps.webp", "", gps + xmp)},
      {"heic", "gps.heic", image("gps.heic", "", gps + xmp)},
      {"avif", "gps.avif", image("gps.avif", "", gps + xmp)},
      {"bmp", "plain.bmp", img + "plain.bmp"},
      {"mp4", "gps.mp4", ff + "-c:v mpeg4 " + loc + "gps.mp4 && " + et + qt + xmp + "gps.mp4"},
      {"mp4", "fast.mp4",
       ff + "-c:v mpeg4 -movflags +faststart " + loc + "fast.mp4 && " + et +
           qt + xmp + "fast.mp4"},
      {"mp4", "xyz.mp4", ff + "-c:v mpeg4 " + loc + "xyz.mp4"},
      {"mov", "gps.mov", ff + "-c:v mpeg4 " + loc + "gps.mov && " + et + qt + xmp + "gps.mov"},
      {"mov", "keys.mov", ff + "-c:v mpeg4 keys.mov && " + et + qt + "keys.mov"},
      {"3gp", "gps.3gp",
       ff + "-c:v mpeg4 " + loc + "gps.3gp && " + et + qt + xmp + "gps.3gp"},
      {"mkv", "gps.mkv", ff + "-c:v mpeg4 " + loc + "gps.mkv"},
      {"mkv", "stream.mkv",
       ff + "-c:v mpeg4 -metadata:s:v:0 location=+48.8584+002.2945/ stream.mkv"},
      {"webm", "gps.webm", ff + "-c:v libvpx -b:v 200k " + loc + "gps.webm"},
      {"webm", "stream.webm",
       ff + "-c:v libvpx -b:v 200k -metadata:s:v:0 "
            "location=+48.8584+002.2945/ stream.webm"},
      {"avi", "gps.avi", ff + "-c:v mpeg4 " + loc + "gps.avi"},  // + _PMX
  };
}

std::vector<std::pair<std::string, TransformFn>> TransformsFor(
    const std::string& format) {
  if (format == "jpeg") return JpegTransforms();
  if (format == "png") return PngTransforms();
  if (format == "tiff") return TiffTransforms();
  if (format == "gif") return GifTransforms();
  if (format == "webp" || format == "avi") return RiffTransforms();
  if (format == "bmp") return BmpTransforms();
  if (format == "mkv" || format == "webm") return MatroskaTransforms();
  return BmffTransforms();  // mp4, mov, 3gp, heic, avif
}

std::string Ext(const std::string& file) {
  return file.substr(file.rfind('.'));
}

}  // namespace

const std::vector<std::string>& MediaFormats() {
  static const auto* k = new std::vector<std::string>{
      "jpeg", "png", "tiff", "gif", "webp", "heic", "avif",
      "bmp",  "mp4", "mov",  "3gp", "mkv",  "webm", "avi"};
  return *k;
}

bool IsVideoFormat(const std::string& f) {
  return f == "mp4" || f == "mov" || f == "3gp" || f == "mkv" ||
         f == "webm" || f == "avi";
}

const std::vector<std::string>& LocationSecrets() {
  static const auto* k = new std::vector<std::string>{
      "48.858", "2.294", "Paris", "France", "48,51", "2,17"};
  return *k;
}

std::string DescribeTransforms(const MediaVariant& v) {
  return absl::StrJoin(v.transforms, " ");
}

bool HaveMediaTools(std::string* missing) {
  for (const char* tool : {"convert", "identify", "exiftool", "ffmpeg", "ffprobe"}) {
    if (RunShell(absl::StrCat("command -v ", tool, " >/dev/null 2>&1")).status !=
        0) {
      *missing = tool;
      return false;
    }
  }
  return true;
}

bool GenerateMediaVariants(const std::string& dir, int per_format,
                           uint32_t seed, std::vector<MediaVariant>* out,
                           std::string* error) {
  const std::string base = dir + "/base";
  RunShell("rm -rf '" + base + "' && mkdir -p '" + base + "'");
  std::map<std::string, std::vector<std::string>> bases;  // format -> files
  std::string script;
  for (const BaseSpec& b : BaseSpecs()) {
    script += "(" + b.command + ") >/dev/null 2>&1 || echo \"FAILED " + b.file +
              "\"\n";
  }
  WriteFile(base + "/make.sh", script);
  const ShellResult made = RunShell("cd '" + base + "' && sh make.sh");
  for (const BaseSpec& b : BaseSpecs()) {
    const std::string path = base + "/" + b.file;
    std::string data = ReadFile(path);
    if (data.empty()) {
      *error = absl::StrCat("could not make ", b.file, ": ", b.command, "\n",
                            made.output);
      return false;
    }
    if (b.file == "text.png") {
      AddPngText(&data);
      WriteFile(path, data);
    }
    if (b.file == "gps.avi") {
      Riff r;
      if (ParseRiff(data, &r)) {
        r.chunks.push_back({"_PMX", kXmpPacket});
        WriteFile(path, BuildRiff(r));
      }
    }
    bases[b.format].push_back(b.file);
  }
  for (size_t fi = 0; fi < MediaFormats().size(); ++fi) {
    const std::string& format = MediaFormats()[fi];
    Rng rng(seed * 1000003u + fi * 7919u);
    const auto transforms = TransformsFor(format);
    const std::vector<std::string>& files = bases[format];
    for (int i = 0; i < per_format; ++i) {
      MediaVariant v;
      v.format = format;
      v.name = absl::StrCat(format, "-", i < 10 ? "00" : i < 100 ? "0" : "", i);
      const std::string& file = i < static_cast<int>(files.size())
                                    ? files[i]
                                    : files[Pick(&rng, files.size())];
      v.transforms.push_back("base=" + file);
      std::string data = ReadFile(base + "/" + file);
      if (i >= static_cast<int>(files.size())) {
        // Half the variants with one transform (clear attribution), a
        // quarter with two, a quarter with three.
        const size_t r = Pick(&rng, 4);
        const int n = r < 2 ? 1 : static_cast<int>(r);
        for (int k = 0; k < n; ++k) {
          const auto& t = transforms[Pick(&rng, transforms.size())];
          std::string label;
          std::string copy = data;
          if (t.second(&copy, &rng, &label)) {
            data = std::move(copy);
            v.transforms.push_back(label);
          }
        }
      }
      v.path = absl::StrCat(dir, "/", v.name, Ext(file));
      WriteFile(v.path, data);
      out->push_back(std::move(v));
    }
  }
  std::string manifest;
  for (const MediaVariant& v : *out) {
    absl::StrAppend(&manifest, v.path, " ", DescribeTransforms(v), "\n");
  }
  WriteFile(dir + "/variants.txt", manifest);
  return true;
}

std::map<std::string, std::vector<ExifTag>> ExiftoolBatch(
    const std::vector<std::string>& paths, const std::string& work_dir) {
  std::map<std::string, std::vector<ExifTag>> tags;
  if (paths.empty()) return tags;
  const std::string args = work_dir + "/exiftool.args";
  WriteFile(args, absl::StrJoin(paths, "\n") + "\n");
  const ShellResult r = RunShell("exiftool -a -G1 -s -n -m -ee -@ '" + args +
                                 "' 2>/dev/null");
  std::vector<ExifTag>* cur = nullptr;
  if (paths.size() == 1) cur = &tags[paths[0]];
  for (const std::string& p : paths) tags[p];
  for (absl::string_view line : absl::StrSplit(r.output, '\n')) {
    if (absl::ConsumePrefix(&line, "======== ")) {
      cur = &tags[std::string(line)];
      continue;
    }
    if (cur == nullptr || !absl::StartsWith(line, "[")) continue;
    const size_t close = line.find(']');
    const size_t colon = line.find(" : ");
    if (close == absl::string_view::npos || colon == absl::string_view::npos ||
        colon < close) {
      continue;
    }
    ExifTag t;
    t.group = std::string(line.substr(1, close - 1));
    t.name = std::string(
        absl::StripAsciiWhitespace(line.substr(close + 1, colon - close - 1)));
    t.value = std::string(line.substr(colon + 3));
    t.line = std::string(line);
    cur->push_back(std::move(t));
  }
  return tags;
}

bool IsLocationLeak(const ExifTag& tag) {
  if (tag.group == "System" || tag.group == "File" || tag.group == "ExifTool") {
    return false;
  }
  bool named = false;
  for (const char* s : {"GPS", "City", "Country", "Location", "State",
                        "Sublocation", "WorldRegion"}) {
    named |= absl::StrContains(tag.name, s);
  }
  // The GPS IFD's version ("2 3 0 0"; ImageMagick's text copy is
  // "ExifGPSVersionID"): not a position.
  if (!named || absl::EndsWith(tag.name, "GPSVersionID")) return false;
  // The GPS IFD's offset (ImageMagick's "exif:GPSInfo" text, exiftool's
  // "GPSInfo" pointer): a number that is not a position.
  if (absl::EndsWith(tag.name, "GPSInfo") &&
      tag.value.find_first_not_of("0123456789") == std::string::npos) {
    return false;
  }
  if (tag.group == "Composite" && absl::EndsWith(tag.name, "Ref")) return false;
  std::string value = tag.value;
  if (absl::StrContains(value, "Lat=")) {
    // A 3GPP loci box, "Name Role=shooting Lat=.. Lon=.. Alt=.. Body=..
    // Notes=..": exiftool's labels and the role are not a location.
    for (const char* label : {"(none)", "Role=shooting", "Role=real",
                              "Role=fictional", "Lat=", "Lon=", "Alt=",
                              "Body=", "Notes="}) {
      value = absl::StrReplaceAll(value, {{label, " "}});
    }
  }
  for (char c : value) {
    if (absl::ascii_isalpha(c) || (c >= '1' && c <= '9')) return true;
  }
  return false;
}

std::map<std::string, DecodeResult> DecodeBatch(
    const std::vector<std::pair<std::string, bool>>& path_is_video,
    const std::string& work_dir) {
  std::map<std::string, DecodeResult> out;
  if (path_is_video.empty()) return out;
  // One line per file: "R <status> <frames|x> <path>\t<first error line>".
  WriteFile(work_dir + "/decode.sh",
            "f=\"$2\"\n"
            "if [ \"$1\" = 1 ]; then\n"
            "  e=$(ffprobe -v error \"$f\" 2>&1 >/dev/null); a=$?\n"
            "  p=$(ffmpeg -nostdin -v error -progress pipe:1 -i \"$f\" "
            "-map 0:v:0 -f null - 2>/dev/null); b=$?\n"
            "  n=$(printf '%s\\n' \"$p\" | sed -n 's/^frame=//p' | tail -n 1)\n"
            "  s=\"$a$b\"\n"
            "else\n"
            "  e=$(identify \"$f\" 2>&1 >/dev/null); s=$?; n=x\n"
            "fi\n"
            "printf 'R %s %s %s\\t%s\\n' \"$s\" \"${n:-x}\" \"$f\" "
            "\"$(printf '%s' \"$e\" | head -n 1 | tr '\\t' ' ')\"\n");
  std::string list;
  for (const auto& [path, video] : path_is_video) {
    absl::StrAppend(&list, video ? "1 " : "0 ", path, "\n");
  }
  WriteFile(work_dir + "/decode.list", list);
  const ShellResult r =
      RunShell("xargs -P 2 -n 2 sh '" + work_dir + "/decode.sh' < '" +
               work_dir + "/decode.list'");
  for (absl::string_view line : absl::StrSplit(r.output, '\n')) {
    std::pair<std::string, std::string> msg =
        absl::StrSplit(line, absl::MaxSplits('\t', 1));
    std::vector<std::string> f =
        absl::StrSplit(msg.first, absl::MaxSplits(' ', 3));
    if (f.size() != 4 || f[0] != "R") continue;
    DecodeResult d;
    d.error = msg.second;
    d.ok = f[1] == "0" || f[1] == "00";
    long n;
    std::string frames = f[2];
    absl::StripSuffix(frames, ",");
    if (absl::SimpleAtoi(absl::StripSuffix(frames, ","), &n)) d.frames = n;
    out[f[3]] = d;
  }
  return out;
}

}  // namespace scopedfs::testing
