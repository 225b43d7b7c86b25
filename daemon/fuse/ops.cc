#include "daemon/fuse/ops.h"

namespace scopedfs {

fuse_lowlevel_ops MakeFuseOps() {
  fuse_lowlevel_ops ops = {};
  AddLifecycleOps(ops);
  AddEntryOps(ops);
  AddAttrOps(ops);
  AddDirOps(ops);
  AddFileOps(ops);
  AddXattrOps(ops);
  return ops;
}

}  // namespace scopedfs
