#include "storage/write_behind.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "tests/storage/sample.h"

using namespace wa::store;
using wa::store::testing::ScratchDir;

namespace {

// How many of the pages of [offset, offset + length) the kernel holds in its page cache.
std::size_t resident_pages(int fd, off_t offset, std::size_t length) {
  void* map = ::mmap(nullptr, length, PROT_READ, MAP_SHARED, fd, offset);
  REQUIRE(map != MAP_FAILED);
  long page = ::sysconf(_SC_PAGESIZE);
  std::vector<unsigned char> in_core((length + page - 1) / page);
  REQUIRE(::mincore(map, length, in_core.data()) == 0);
  ::munmap(map, length);
  std::size_t n = 0;
  for (unsigned char c : in_core)
    n += c & 1;
  return n;
}

std::string block_of(int i, std::size_t size) {
  std::string block(size, char('a' + i % 26));
  block[0] = char(i);
  return block;
}

}  // namespace

TEST_CASE("write-behind drops what earlier commits wrote from the page cache, not from the file") {
  ScratchDir dir;
  std::string path = dir.file("growing.bin");
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  REQUIRE(fd >= 0);
  struct statfs fs {};
  REQUIRE(::fstatfs(fd, &fs) == 0);
  if (fs.f_type == TMPFS_MAGIC) {
    // tmpfs has no disk behind its pages: there is nothing to write out and nothing to drop.
    MESSAGE("skipped: " << dir.path() << " is on tmpfs");
    ::close(fd);
    return;
  }
  // A file that already holds something: that part is left alone.
  const std::size_t kHead = 256 * 1024, kCommit = 2 * 1024 * 1024;
  REQUIRE(::write(fd, block_of(0, kHead).data(), kHead) == static_cast<ssize_t>(kHead));
  // The capture writer hands it a read-only descriptor (its lock's): that must be enough.
  int lock_fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE(lock_fd >= 0);
  WriteBehind behind(lock_fd);
  for (int i = 1; i <= 4; ++i) {
    std::string block = block_of(i, kCommit);
    REQUIRE(::write(fd, block.data(), block.size()) == static_cast<ssize_t>(block.size()));
    behind.after_commit();
  }
  const std::size_t pages = kCommit / ::sysconf(_SC_PAGESIZE);
  // Commits 1 to 3 have been written out and dropped; the last one is on its way to disk and
  // still cached; the part before is untouched.
  for (int i = 1; i <= 3; ++i) {
    CAPTURE(i);
    CHECK(resident_pages(fd, kHead + (i - 1) * kCommit, kCommit) < pages / 8);
  }
  CHECK(resident_pages(fd, kHead + 3 * kCommit, kCommit) == pages);
  CHECK(resident_pages(fd, 0, kHead) == kHead / ::sysconf(_SC_PAGESIZE));

  // Every byte reads back.
  for (int i = 0; i <= 4; ++i) {
    std::size_t size = i == 0 ? kHead : kCommit;
    std::string back(size, '\0');
    off_t at = i == 0 ? 0 : kHead + (i - 1) * kCommit;
    REQUIRE(::pread(fd, back.data(), size, at) == static_cast<ssize_t>(size));
    CHECK(back == block_of(i, size));
  }
  ::close(lock_fd);
  ::close(fd);
}
