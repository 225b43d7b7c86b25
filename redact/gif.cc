// GIF allowlist redactor.
//
// A GIF is a header, a logical screen descriptor (with an optional global
// colour table), then a sequence of blocks until the trailer 0x3B: image
// descriptors (0x2C, optional local colour table, LZW code size, data
// sub-blocks) and extensions (0x21, label, data sub-blocks). A sub-block is
// a length byte followed by that many data bytes; a zero length ends the
// sequence. Only data bytes are zeroed (those of extensions outside the
// allowlist, and of allowlisted ones beyond what their format defines): the
// length bytes are the structure decoders walk to skip them.
//
// XMP in GIF is an Application extension whose raw packet is followed by a
// 258-byte "magic trailer" built so that walking it as sub-blocks lands on
// the terminator; walking it as sub-blocks therefore zeroes every byte but
// the ones a decoder reads as lengths (a scattered byte per up to 256: see
// redact/README.md).
#include "redact/gif.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace scopedfs::redact {
namespace {

constexpr uint64_t kChunk = 64 << 10;  // read window
constexpr uint64_t kHeader = 6 + 7;    // "GIF89a" + screen descriptor

// Sequential bytes of a source through a bounded window, so walking
// sub-blocks costs one read per 64 KiB instead of one per block.
class ByteReader {
 public:
  explicit ByteReader(const Source& source) : source_(source) {}

  // The byte at `pos`; false at the end of the source or on a read error
  // (then status() says which).
  bool Byte(uint64_t pos, uint8_t* out) {
    if (pos >= source_.size()) return false;
    if (pos < begin_ || pos - begin_ >= window_.size()) {
      uint64_t n = std::min<uint64_t>(kChunk, source_.size() - pos);
      status_ = source_.Read(pos, n, &window_);
      if (!status_.ok()) return false;
      begin_ = pos;
    }
    *out = static_cast<uint8_t>(window_[pos - begin_]);
    return true;
  }
  const absl::Status& status() const { return status_; }

 private:
  const Source& source_;
  std::string window_;
  uint64_t begin_ = 0;
  absl::Status status_;
};

class GifWalker {
 public:
  GifWalker(const Source& source, std::vector<ByteRange>* out)
      : source_(source), reader_(source), out_(out) {}

  absl::Status Run() {
    const uint64_t size = source_.size();
    if (size < kHeader) return absl::DataLossError("GIF: truncated header");
    std::string head;
    absl::Status s = source_.Read(0, kHeader, &head);
    if (!s.ok()) return s;
    uint64_t pos = kHeader + ColourTableSize(static_cast<uint8_t>(head[10]));
    while (pos < size) {
      uint8_t introducer = 0;
      if (!reader_.Byte(pos, &introducer)) return reader_.status();
      if (introducer == 0x3B) {  // trailer: nothing after it is GIF
        Zero(pos + 1, size);
        return absl::OkStatus();
      }
      bool ok = false;
      if (introducer == 0x2C) {
        s = Image(pos, &pos, &ok);
      } else if (introducer == 0x21) {
        s = Extension(pos, &pos, &ok);
      } else {
        // Not a block: decoders stop here; nothing after it is vouched for.
        Zero(pos, size);
        return absl::OkStatus();
      }
      if (!s.ok()) return s;
      if (!ok) return absl::OkStatus();  // truncated: handled by the block
    }
    return absl::OkStatus();
  }

 private:
  // Bytes of the colour table a packed-fields byte announces (bit 7).
  static uint64_t ColourTableSize(uint8_t flags) {
    return (flags & 0x80) ? 3ull << ((flags & 7) + 1) : 0;
  }

  void Zero(uint64_t begin, uint64_t end) {
    if (end > begin) out_->push_back(ByteRange{begin, end - begin});
  }

  // How much of an extension's sub-blocks a decoder needs: the first
  // keep.size() sub-blocks keep up to keep[i] data bytes, the rest of their
  // data and every later sub-block's data are zeroed. Image data: all kept.
  struct Keep {
    bool all = false;
    std::vector<uint8_t> bytes;
  };

  // Walks the sub-blocks starting at `pos`, zeroing the data bytes `keep`
  // does not cover. *next is the byte after the terminator. *ok is false if
  // the file ends first: unless all is kept, the rest of the file from
  // `pos` is zeroed.
  absl::Status SubBlocks(uint64_t pos, const Keep& keep, uint64_t* next,
                         bool* ok) {
    const uint64_t size = source_.size();
    const uint64_t start = pos;
    *ok = false;
    for (size_t block = 0; pos < size; ++block) {
      uint8_t length = 0;
      if (!reader_.Byte(pos, &length)) return reader_.status();
      if (length == 0) {
        *next = pos + 1;
        *ok = true;
        return absl::OkStatus();
      }
      if (length > size - pos - 1) break;  // cut inside the data
      if (!keep.all) {
        uint8_t kept =
            block < keep.bytes.size() ? std::min(length, keep.bytes[block]) : 0;
        Zero(pos + 1 + kept, pos + 1 + length);
      }
      pos += 1 + length;
    }
    if (!keep.all) Zero(start, size);
    return absl::OkStatus();
  }

  // Image descriptor (10 bytes), local colour table, LZW minimum code size,
  // image data: all kept.
  absl::Status Image(uint64_t pos, uint64_t* next, bool* ok) {
    const uint64_t size = source_.size();
    *ok = false;
    if (size - pos < 11) return absl::OkStatus();  // truncated: no data left
    uint8_t flags = 0;
    if (!reader_.Byte(pos + 9, &flags)) return reader_.status();
    uint64_t data = pos + 10 + ColourTableSize(flags) + 1;
    if (data >= size) return absl::OkStatus();
    return SubBlocks(data, Keep{/*all=*/true, {}}, next, ok);
  }

  absl::Status Extension(uint64_t pos, uint64_t* next, bool* ok) {
    const uint64_t size = source_.size();
    *ok = false;
    if (size - pos < 2) return absl::OkStatus();
    uint8_t label = 0;
    if (!reader_.Byte(pos + 1, &label)) return reader_.status();
    Keep keep;
    if (label == 0xF9) {
      // Graphic Control: one 4-byte block (disposal, delay, transparency).
      keep.bytes = {4};
    } else if (label == 0xFF) {
      bool looping = false;
      absl::Status s = IsLoopingApplication(pos + 2, &looping);
      if (!s.ok()) return s;
      // The identifier, then a loop-count (3 bytes) or buffering (5 bytes)
      // block.
      if (looping) keep.bytes = {11, 5};
    }
    return SubBlocks(pos + 2, keep, next, ok);
  }

  // NETSCAPE2.0 / ANIMEXTS1.0: the animation loop count. Their first
  // sub-block is the 11-byte identifier.
  absl::Status IsLoopingApplication(uint64_t pos, bool* keep) {
    *keep = false;
    if (source_.size() - pos < 12) return absl::OkStatus();
    std::string id;
    absl::Status s = source_.Read(pos, 12, &id);
    if (!s.ok()) return s;
    *keep =
        id == absl::string_view("\x0bNETSCAPE2.0") || id == absl::string_view(
                                                                "\x0b"
                                                                "ANIMEXTS1.0");
    return absl::OkStatus();
  }

  const Source& source_;
  ByteReader reader_;
  std::vector<ByteRange>* out_;
};

}  // namespace

absl::Status FindGifAllowlistRanges(const Source& source, const Profile&,
                                    std::vector<ByteRange>* out) {
  std::vector<ByteRange> found;
  absl::Status s = GifWalker(source, &found).Run();
  if (!s.ok()) return s;
  out->insert(out->end(), found.begin(), found.end());
  return absl::OkStatus();
}

}  // namespace scopedfs::redact
