// The Admin API's size bound: part of the API contract (admin.proto), so
// scopedfsd (daemon/admin/) and scopedctl (tools/) take it from here rather
// than one depending on the other.
#ifndef SCOPEDFS_PROTO_ADMIN_LIMITS_H_
#define SCOPEDFS_PROTO_ADMIN_LIMITS_H_

#include <cstddef>
#include <cstdint>
#include <string>

namespace scopedfs {

// The largest request or answer either end sends or takes, in bytes.
// gRPC's default (4 MB) holds a policy of about 30,000 rules; one of
// 100,000 rules is about 10 MB as text, and GetPolicy sends the text and
// the parsed message together. 256 MB leaves room for far more, and fits
// gRPC's int-sized bound.
inline constexpr size_t kAdminMaxMessageBytes = size_t{256} << 20;

// `bytes` in words for messages about the bound: "300 MB" (MiB, rounded up,
// so a message just over the bound never reads "256 MB ... at most 256 MB").
inline std::string AdminMegabytes(uint64_t bytes) {
  return std::to_string((bytes + (uint64_t{1} << 20) - 1) >> 20) + " MB";
}

}  // namespace scopedfs

#endif  // SCOPEDFS_PROTO_ADMIN_LIMITS_H_
