#include "redact/xmp.h"

#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"

namespace scopedfs::redact {
namespace {

// Bounds: larger or deeper packets are zeroed whole.
constexpr uint64_t kMaxPacket = 16 << 20;
constexpr size_t kMaxTags = 200000;
constexpr size_t kMaxAttrs = 1000;  // per tag
constexpr size_t kMaxDepth = 256;

struct Attr {
  size_t begin, end;  // the whole name="value"
  absl::string_view name, value;
};

struct Tag {
  size_t begin, end;  // '<' to '>' inclusive
  absl::string_view name;
  bool closing = false;
  bool self_closing = false;
  std::vector<Attr> attrs;
};

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

bool IsNameChar(char c) {
  return !IsSpace(c) && c != '>' && c != '<' && c != '/' && c != '=' &&
         c != '"' && c != '\'' && c != '\0';
}

// A deliberately small tokenizer: tags with attributes, comments,
// processing instructions and CDATA; text is skipped. Returns false on
// anything else (a DOCTYPE could define entities; we do not expand them).
bool Tokenize(absl::string_view s, std::vector<Tag>* tags) {
  size_t i = 0;
  auto skip_past = [&](size_t from, absl::string_view end) {
    size_t e = s.find(end, from);
    if (e == absl::string_view::npos) return false;
    i = e + end.size();
    return true;
  };
  while ((i = s.find('<', i)) != absl::string_view::npos) {
    absl::string_view rest = s.substr(i);
    if (absl::StartsWith(rest, "<!--")) {
      if (!skip_past(i + 4, "-->")) return false;
      continue;
    }
    if (absl::StartsWith(rest, "<?")) {
      if (!skip_past(i + 2, "?>")) return false;
      continue;
    }
    if (absl::StartsWith(rest, "<![CDATA[")) {
      if (!skip_past(i + 9, "]]>")) return false;
      continue;
    }
    if (tags->size() == kMaxTags) return false;
    Tag tag;
    tag.begin = i;
    size_t j = i + 1;
    if (j < s.size() && s[j] == '/') {
      tag.closing = true;
      ++j;
    }
    size_t name_begin = j;
    while (j < s.size() && IsNameChar(s[j])) ++j;
    if (j == name_begin) return false;  // also "<!DOCTYPE" is caught below
    tag.name = s.substr(name_begin, j - name_begin);
    if (tag.name[0] == '!') return false;
    for (;;) {
      while (j < s.size() && IsSpace(s[j])) ++j;
      if (j >= s.size()) return false;
      if (s[j] == '>') break;
      if (s[j] == '/' && !tag.closing && j + 1 < s.size() && s[j + 1] == '>') {
        tag.self_closing = true;
        ++j;
        break;
      }
      if (tag.closing || tag.attrs.size() == kMaxAttrs) return false;
      Attr attr;
      attr.begin = j;
      while (j < s.size() && IsNameChar(s[j])) ++j;
      if (j == attr.begin) return false;
      attr.name = s.substr(attr.begin, j - attr.begin);
      while (j < s.size() && IsSpace(s[j])) ++j;
      if (j >= s.size() || s[j] != '=') return false;
      ++j;
      while (j < s.size() && IsSpace(s[j])) ++j;
      if (j >= s.size() || (s[j] != '"' && s[j] != '\'')) return false;
      size_t close = s.find(s[j], j + 1);
      if (close == absl::string_view::npos) return false;
      attr.value = s.substr(j + 1, close - j - 1);
      attr.end = close + 1;
      j = close + 1;
      tag.attrs.push_back(attr);
    }
    tag.end = j + 1;
    i = tag.end;
    tags->push_back(std::move(tag));
  }
  return true;
}

struct Namespace {
  absl::string_view uri;
  absl::string_view prefix;  // the conventional one
  bool (*is_location)(absl::string_view local);
};

const Namespace kNamespaces[] = {
    {"http://ns.adobe.com/exif/1.0/", "exif",
     [](absl::string_view l) { return absl::StartsWith(l, "GPS"); }},
    {"http://ns.adobe.com/photoshop/1.0/", "photoshop",
     [](absl::string_view l) {
       return l == "City" || l == "State" || l == "Country";
     }},
    {"http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/", "Iptc4xmpCore",
     [](absl::string_view l) { return l == "Location" || l == "CountryCode"; }},
    {"http://iptc.org/std/Iptc4xmpExt/2008-02-29/", "Iptc4xmpExt",
     [](absl::string_view l) {
       for (absl::string_view n :
            {"LocationShown", "LocationCreated", "City", "CountryName",
             "CountryCode", "ProvinceState", "Sublocation", "WorldRegion",
             "LocationName", "LocationId"}) {
         if (l == n) return true;
       }
       return absl::StartsWith(l, "GPS");
     }},
    {"http://www.dji.com/drone-dji/1.0/", "drone-dji",
     [](absl::string_view l) {
       return absl::StartsWith(l, "Gps") || l == "AbsoluteAltitude";
     }},
};

// Whether the qualified name `qname` is a location property. `uris` maps a
// prefix to every URI some xmlns declaration in the packet binds it to:
// scoping is ignored, so a prefix rebound elsewhere over-redacts at worst.
bool IsLocation(
    absl::string_view qname,
    const absl::flat_hash_map<absl::string_view,
                              std::vector<absl::string_view>>& uris,
    bool is_attribute) {
  size_t colon = qname.find(':');
  if (colon == absl::string_view::npos && is_attribute) return false;
  absl::string_view prefix =
      colon == absl::string_view::npos ? "" : qname.substr(0, colon);
  absl::string_view local =
      colon == absl::string_view::npos ? qname : qname.substr(colon + 1);
  auto bound = uris.find(prefix);
  for (const Namespace& ns : kNamespaces) {
    bool match = prefix == ns.prefix;
    if (bound != uris.end()) {
      for (absl::string_view uri : bound->second) match |= uri == ns.uri;
    }
    if (match && ns.is_location(local)) return true;
  }
  return false;
}

}  // namespace

void FindXmpLocationSpans(absl::string_view packet,
                          std::vector<ByteRange>* out) {
  const ByteRange whole = {0, packet.size()};
  // Some writers pad the segment with NULs after the packet.
  while (!packet.empty() && packet.back() == '\0') packet.remove_suffix(1);
  std::vector<Tag> tags;
  // UTF-16/32 packets (legal, rare) contain NULs: not ours to tokenize.
  if (packet.find('\0') != absl::string_view::npos ||
      !Tokenize(packet, &tags)) {
    out->push_back(whole);
    return;
  }
  absl::flat_hash_map<absl::string_view, std::vector<absl::string_view>> uris;
  for (const Tag& tag : tags) {
    for (const Attr& a : tag.attrs) {
      if (a.name == "xmlns") uris[""].push_back(a.value);
      if (absl::StartsWith(a.name, "xmlns:")) {
        uris[a.name.substr(6)].push_back(a.value);
      }
    }
  }
  std::vector<ByteRange> found;
  std::vector<const Tag*> open;
  for (const Tag& tag : tags) {
    if (tag.closing) {
      if (open.empty() || open.back()->name != tag.name) {
        out->push_back(whole);
        return;
      }
      if (IsLocation(tag.name, uris, false)) {
        found.push_back({open.back()->begin, tag.end - open.back()->begin});
      }
      open.pop_back();
      continue;
    }
    for (const Attr& a : tag.attrs) {
      if (IsLocation(a.name, uris, true)) {
        found.push_back({a.begin, a.end - a.begin});
      }
    }
    if (tag.self_closing) {
      if (IsLocation(tag.name, uris, false)) {
        found.push_back({tag.begin, tag.end - tag.begin});
      }
    } else {
      if (open.size() == kMaxDepth) {
        out->push_back(whole);
        return;
      }
      open.push_back(&tag);
    }
  }
  if (!open.empty()) {  // truncated packet
    out->push_back(whole);
    return;
  }
  out->insert(out->end(), found.begin(), found.end());
}

absl::Status FindXmpLocationRanges(const Source& source, uint64_t offset,
                                   uint64_t length,
                                   std::vector<ByteRange>* out) {
  if (offset > source.size() || length > source.size() - offset) {
    return absl::OutOfRangeError("XMP packet outside the file");
  }
  if (length > kMaxPacket) {
    out->push_back({offset, length});
    return absl::OkStatus();
  }
  std::string packet;
  if (absl::Status s = source.Read(offset, length, &packet); !s.ok()) {
    return s;
  }
  std::vector<ByteRange> spans;
  FindXmpLocationSpans(packet, &spans);
  for (const ByteRange& r : spans) out->push_back({offset + r.offset, r.length});
  return absl::OkStatus();
}

}  // namespace scopedfs::redact
