// Matroska / WebM allowlist redactor.
//
// EBML: every element is a variable-length ID (1-4 bytes, the marker bit
// included in the ID), a variable-length size (1-8 bytes; all value bits
// set means "unknown size", used by live streams for Segment and Cluster)
// and the payload. The view keeps every element header and zeroes the
// payload of elements outside the allowlist:
//   * top level: the EBML header and Segments kept; Void, CRC-32 and
//     unknown elements with a known size have their payload zeroed and the
//     walk goes on; from undecodable bytes, an element overrunning the file
//     or an unknown size on anything but a Segment to the end of the file:
//     zeroed.
//   * Segment: SeekHead, Cues, CRC-32 kept; Info, Tracks, Cluster walked;
//     Void and unknown elements zeroed; in Tags, Attachments and Chapters
//     the master elements stay (readers parse them) and every leaf payload
//     is zeroed.
//   * Info: TimecodeScale, Duration, SegmentUID, CRC-32 kept; everything
//     else (Title, DateUTC, MuxingApp, WritingApp, file names, ...) zeroed.
//   * Tracks: TrackEntry kept but for its Name.
//   * Cluster: children walked (headers only): blocks and timing kept,
//     Void and unknown children zeroed. An unknown-size Cluster ends where
//     an element that cannot be a Cluster child starts (a Matroska reader's
//     rule), so metadata written after it is still seen. An unknown-size
//     Segment extends to the end of the file.
// An element that cannot be followed (bad ID or size, claiming more than
// its parent, unknown size where not allowed) zeroes the rest of its parent
// from its first byte.
#include "redact/matroska.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace scopedfs::redact {
namespace {

constexpr uint64_t kMaxElements = 10'000'000;  // headers visited per file

constexpr uint32_t kEbml = 0x1A45DFA3;
constexpr uint32_t kSegment = 0x18538067;
constexpr uint32_t kSeekHead = 0x114D9B74;
constexpr uint32_t kInfo = 0x1549A966;
constexpr uint32_t kTracks = 0x1654AE6B;
constexpr uint32_t kCluster = 0x1F43B675;
constexpr uint32_t kCues = 0x1C53BB6B;
constexpr uint32_t kTags = 0x1254C367;
constexpr uint32_t kAttachments = 0x1941A469;
constexpr uint32_t kChapters = 0x1043A770;
constexpr uint32_t kVoid = 0xEC;
constexpr uint32_t kCrc32 = 0xBF;
constexpr uint32_t kTimecodeScale = 0x2AD7B1;
constexpr uint32_t kDuration = 0x4489;
constexpr uint32_t kSegmentUid = 0x73A4;
constexpr uint32_t kTrackEntry = 0xAE;
constexpr uint32_t kTrackName = 0x536E;

struct Element {
  uint32_t id = 0;
  uint64_t offset = 0;        // first byte of the ID
  uint64_t data = 0;          // first payload byte
  uint64_t end = 0;           // one past the payload (clamped)
  bool unknown_size = false;  // size said "unknown": end is the parent's
  bool truncated = false;     // size ran past the file: end clamped to it
};

bool IsSegmentChild(uint32_t id) {
  return id == kSeekHead || id == kInfo || id == kTracks || id == kCluster ||
         id == kCues || id == kTags || id == kAttachments || id == kChapters;
}

constexpr int kMaxMetadataDepth = 12;  // SimpleTags and ChapterAtoms nest

// Master elements inside Tags, Chapters and Attachments.
bool IsMetadataMaster(uint32_t id) {
  switch (id) {
    case 0x7373:  // Tag
    case 0x63C0:  // Targets
    case 0x67C8:  // SimpleTag
    case 0x45B9:  // EditionEntry
    case 0xB6:    // ChapterAtom
    case 0x8F:    // ChapterTrack
    case 0x80:    // ChapterDisplay
    case 0x6944:  // ChapProcess
    case 0x6911:  // ChapProcessCommand
    case 0x61A7:  // AttachedFile
      return true;
    default:
      return false;
  }
}

// Leaf elements of Tags, Chapters and Attachments (their payloads are
// zeroed; their headers are schema IDs and sizes).
bool IsMetadataLeaf(uint32_t id) {
  switch (id) {
    // Tags
    case 0x45A3:
    case 0x447A:
    case 0x447B:
    case 0x4484:
    case 0x44B4:
    case 0x4487:
    case 0x4485:
    case 0x68CA:
    case 0x63CA:
    case 0x63C5:
    case 0x63C9:
    case 0x63C4:
    case 0x63C6:
    // Chapters
    case 0x45BC:
    case 0x45BD:
    case 0x45DB:
    case 0x45DD:
    case 0x4520:
    case 0x4521:
    case 0x45E4:
    case 0x73C4:
    case 0x5654:
    case 0x91:
    case 0x92:
    case 0x98:
    case 0x4598:
    case 0x6E67:
    case 0x4588:
    case 0x6EBC:
    case 0x63C3:
    case 0x89:
    case 0x85:
    case 0x437C:
    case 0x437D:
    case 0x437E:
    case 0x6955:
    case 0x450D:
    case 0x6922:
    case 0x6933:
    // Attachments
    case 0x467E:
    case 0x466E:
    case 0x4660:
    case 0x465C:
    case 0x46AE:
    case 0x4675:
    case 0x4661:
    case 0x4662:
    // Anywhere
    case kCrc32:
    case kVoid:
      return true;
    default:
      return false;
  }
}

bool IsClusterChild(uint32_t id) {
  switch (id) {
    case 0xE7:    // Timestamp
    case 0x5854:  // SilentTracks
    case 0xA7:    // Position
    case 0xAB:    // PrevSize
    case 0xA3:    // SimpleBlock
    case 0xA0:    // BlockGroup
    case 0xAF:    // EncryptedBlock
    case kCrc32:
      return true;
    default:
      return false;
  }
}

class MatroskaWalker {
 public:
  MatroskaWalker(const Source& source, std::vector<ByteRange>* out)
      : source_(source), out_(out) {}

  absl::Status Run() {
    const uint64_t size = source_.size();
    uint64_t pos = 0;
    bool header_seen = false;
    while (pos < size) {
      Element e;
      bool ok = false;
      absl::Status s = ReadElement(pos, size, &e, &ok);
      if (!s.ok()) return s;
      // Only a Segment may have an unknown size here (it then runs to the
      // end of the file); any other element whose end cannot be told, and
      // bytes that are no element, end the walk: the rest is zeroed.
      if (!ok || (e.unknown_size && e.id != kSegment) ||
          (!header_seen && e.id != kEbml && e.id != kSegment)) {
        break;
      }
      header_seen = true;
      if (e.truncated && e.id != kEbml && e.id != kSegment) {
        break;  // overruns the file: no Segment can follow it
      }
      if (e.id == kSegment) {
        s = Segment(e);
        if (!s.ok()) return s;
      } else if (e.id != kEbml) {
        // Void, CRC-32 or an unknown top-level element (muxers and editors
        // pad between the EBML header and the Segment): readers skip it by
        // its size, so only its payload goes and the walk goes on to the
        // Segment. Zeroing from here to the end instead would take the
        // Segment's header too and leave an undecodable file.
        ZeroPayload(e);
      }
      pos = e.end;
    }
    if (pos == 0) return absl::DataLossError("Matroska: no EBML header");
    Zero(pos, size);
    return absl::OkStatus();
  }

 private:
  void Zero(uint64_t begin, uint64_t end) {
    if (end > begin) out_->push_back(ByteRange{begin, end - begin});
  }
  void ZeroPayload(const Element& e) { Zero(e.data, e.end); }

  // The element at `pos` inside a parent ending at `parent_end`. *ok is
  // false if its header is not valid EBML or its size runs past the parent
  // (a parent that ends with the file is a truncated download: its last
  // element is clamped to the file instead).
  absl::Status ReadElement(uint64_t pos, uint64_t parent_end, Element* e,
                           bool* ok) {
    *ok = false;
    if (++elements_ > kMaxElements) {
      return absl::ResourceExhaustedError("Matroska: too many elements");
    }
    std::string h;
    absl::Status s =
        source_.Read(pos, std::min<uint64_t>(12, parent_end - pos), &h);
    if (!s.ok()) return s;
    int id_length = VintLength(h, 0, 4);
    if (id_length == 0) return absl::OkStatus();
    uint64_t id = 0;
    for (int i = 0; i < id_length; ++i) {
      id = (id << 8) | static_cast<uint8_t>(h[i]);
    }
    int size_length = VintLength(h, id_length, 8);
    if (size_length == 0) return absl::OkStatus();
    uint64_t size = static_cast<uint8_t>(h[id_length]) & (0xFFu >> size_length);
    bool all_ones = size == (0xFFu >> size_length);
    for (int i = 1; i < size_length; ++i) {
      uint8_t b = static_cast<uint8_t>(h[id_length + i]);
      size = (size << 8) | b;
      all_ones = all_ones && b == 0xFF;
    }
    e->id = static_cast<uint32_t>(id);
    e->offset = pos;
    e->data = pos + id_length + size_length;
    e->unknown_size = all_ones;
    if (all_ones) {
      e->end = parent_end;
    } else if (size > parent_end - e->data) {
      if (parent_end != source_.size()) return absl::OkStatus();
      e->end = parent_end;  // truncated file
      e->truncated = true;
    } else {
      e->end = e->data + size;
    }
    *ok = true;
    return absl::OkStatus();
  }

  // Bytes of the vint starting at h[at] (1..max), 0 if invalid or cut.
  static int VintLength(const std::string& h, size_t at, int max) {
    if (at >= h.size()) return 0;
    uint8_t first = static_cast<uint8_t>(h[at]);
    int length = 1;
    while (length <= max && !(first & (0x80u >> (length - 1)))) ++length;
    if (length > max || at + length > h.size()) return 0;
    return length;
  }

  // Walks the children of [begin, end) calling `child` on each; an element
  // that cannot be followed zeroes the rest of the parent.
  template <typename F>
  absl::Status Children(uint64_t begin, uint64_t end, F child) {
    uint64_t pos = begin;
    while (pos < end) {
      Element e;
      bool ok = false;
      absl::Status s = ReadElement(pos, end, &e, &ok);
      if (!s.ok()) return s;
      if (!ok) {
        Zero(pos, end);
        return absl::OkStatus();
      }
      uint64_t next = e.end;
      s = child(e, &next);
      if (!s.ok()) return s;
      pos = next;
    }
    return absl::OkStatus();
  }

  absl::Status Segment(const Element& segment) {
    return Children(segment.data, segment.end,
                    [this](const Element& e, uint64_t* next) {
                      return SegmentChild(e, next);
                    });
  }

  absl::Status SegmentChild(const Element& e, uint64_t* next) {
    if (e.unknown_size && e.id != kCluster) {
      ZeroPayload(e);  // cannot tell where it ends: the rest of the parent
      return absl::OkStatus();
    }
    switch (e.id) {
      case kSeekHead:
      case kCues:
      case kCrc32:
        return absl::OkStatus();
      case kCluster:
        return Cluster(e, next);
      case kInfo:
        return Info(e);
      case kTracks:
        return Tracks(e);
      case kTags:
      case kAttachments:
      case kChapters:
        return MetadataMaster(e, /*depth=*/0);
      default:  // Void, unknown: readers skip them unread
        ZeroPayload(e);
        return absl::OkStatus();
    }
  }

  // Tags, Attachments and Chapters: readers (ffmpeg via the SeekHead) parse
  // their children, and a zeroed child header is not valid EBML. So their
  // master elements stay and every leaf payload (names, strings, dates,
  // binaries, attached files) is zeroed: zero bytes read as empty strings,
  // 0 and empty binaries. An element outside their schema zeroes the rest
  // of its master, header included.
  absl::Status MetadataMaster(const Element& master, int depth) {
    if (depth >= kMaxMetadataDepth || master.unknown_size) {
      ZeroPayload(master);
      return absl::OkStatus();
    }
    return Children(master.data, master.end,
                    [this, depth, &master](const Element& e, uint64_t* next) {
                      if (IsMetadataMaster(e.id)) {
                        return MetadataMaster(e, depth + 1);
                      }
                      if (IsMetadataLeaf(e.id)) {
                        ZeroPayload(e);
                        return absl::OkStatus();
                      }
                      // Not this schema's: even its header bytes may be
                      // text. Zero the rest of the master.
                      Zero(e.offset, master.end);
                      *next = UINT64_MAX;
                      return absl::OkStatus();
                    });
  }

  absl::Status Info(const Element& info) {
    return Children(info.data, info.end, [this](const Element& e, uint64_t*) {
      if (e.unknown_size || (e.id != kTimecodeScale && e.id != kDuration &&
                             e.id != kSegmentUid && e.id != kCrc32)) {
        ZeroPayload(e);
      }
      return absl::OkStatus();
    });
  }

  absl::Status Tracks(const Element& tracks) {
    return Children(tracks.data, tracks.end,
                    [this](const Element& e, uint64_t*) {
                      if (e.id == kTrackEntry && !e.unknown_size) {
                        return TrackEntry(e);
                      }
                      if (e.id != kCrc32) ZeroPayload(e);
                      return absl::OkStatus();
                    });
  }

  absl::Status TrackEntry(const Element& entry) {
    return Children(entry.data, entry.end, [this](const Element& e, uint64_t*) {
      if (e.id == kTrackName || e.unknown_size) ZeroPayload(e);
      return absl::OkStatus();
    });
  }

  // A Cluster's children: blocks and timing kept (their payloads are not
  // read), Void and unknown children zeroed. An unknown-size Cluster ends
  // where a Segment-level (or top-level) element starts; *next is where the
  // Cluster ends.
  absl::Status Cluster(const Element& cluster, uint64_t* next) {
    *next = cluster.end;
    uint64_t stop = cluster.end;
    absl::Status s = Children(
        cluster.data, cluster.end,
        [this, &stop, &cluster](const Element& e, uint64_t* after) {
          if (cluster.unknown_size &&
              (IsSegmentChild(e.id) || e.id == kEbml || e.id == kSegment)) {
            stop = e.offset;
            *after = UINT64_MAX;  // ends the walk (past `end`)
            return absl::OkStatus();
          }
          if (e.unknown_size || !IsClusterChild(e.id)) ZeroPayload(e);
          return absl::OkStatus();
        });
    if (!s.ok()) return s;
    *next = stop;
    return absl::OkStatus();
  }

  const Source& source_;
  std::vector<ByteRange>* out_;
  uint64_t elements_ = 0;
};

}  // namespace

absl::Status FindMatroskaAllowlistRanges(const Source& source, const Profile&,
                                         std::vector<ByteRange>* out) {
  std::vector<ByteRange> found;
  absl::Status s = MatroskaWalker(source, &found).Run();
  if (!s.ok()) return s;
  out->insert(out->end(), found.begin(), found.end());
  return absl::OkStatus();
}

}  // namespace scopedfs::redact
