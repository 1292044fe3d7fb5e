// Write-behind for a file that grows by appending and is not read back while it grows: the
// capture file while recording.
//
// Every page the kernel caches for a growing file is a page of memory it has to find, and on
// virtual machines that hand free memory back to the host a page not touched for a few
// seconds costs a fault in the host when it is touched again. Measured on the project's 2-core
// machines: appending 64 KiB to a file costs ~120 µs of CPU when the page cache keeps growing,
// and ~19 µs when the pages written a moment ago are written out and dropped so that the next
// writes reuse them (the same pages, still warm). A recording of large bodies grows the file by
// hundreds of MB/s, so this is most of the recorder's CPU per request at 64 KiB.
//
// So after each commit: start writing out what the commit added (without waiting), and drop
// from the page cache what the commit before added, once it is on disk. Nothing here affects
// what is in the file, only how long the kernel keeps a copy of it in memory; SQLite keeps the
// pages it needs in its own cache. On systems without sync_file_range it does nothing.
#pragma once

#include <sys/types.h>

namespace wa::store {

class WriteBehind {
 public:
  // `fd` is any descriptor of the file, kept open by the caller. What the file holds now (its
  // header, schema and earlier recordings) is left alone.
  explicit WriteBehind(int fd);
  // After a commit: the file's new size is read from `fd`.
  void after_commit();

 private:
  int fd_;
  off_t started_ = 0;  // writeback has been started for [dropped_, started_)
  off_t dropped_ = 0;  // [.., dropped_) is no longer ours to care about
};

}  // namespace wa::store
