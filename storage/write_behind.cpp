#include "storage/write_behind.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>

namespace wa::store {

namespace {

// Below this much, dropping is not worth its system calls; it waits for the next commit.
constexpr off_t kDropAtLeast = 1 << 20;

off_t size_of(int fd) {
  struct stat st {};
  return ::fstat(fd, &st) == 0 ? st.st_size : -1;
}

}  // namespace

WriteBehind::WriteBehind(int fd) : fd_(fd) {
  off_t size = size_of(fd);
  started_ = dropped_ = std::max<off_t>(size, 0);
}

void WriteBehind::after_commit() {
#if defined(__linux__)
  off_t size = size_of(fd_);
  if (size < 0) return;
  if (size < dropped_) {  // the file shrank (vacuum): start again from its end
    started_ = dropped_ = size;
    return;
  }
  // What the previous commits added has been on its way to disk since then: wait for it, and
  // let the kernel reuse its pages.
  if (started_ - dropped_ >= kDropAtLeast) {
    off_t length = started_ - dropped_;
    if (::sync_file_range(fd_, dropped_, length,
                          SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
                              SYNC_FILE_RANGE_WAIT_AFTER) == 0) {
      (void)::posix_fadvise(fd_, dropped_, length, POSIX_FADV_DONTNEED);
    }
    dropped_ = started_;
  }
  // What this commit added: on its way now.
  if (size > started_) {
    (void)::sync_file_range(fd_, started_, size - started_, SYNC_FILE_RANGE_WRITE);
    started_ = size;
  }
#endif
}

}  // namespace wa::store
