#include "net/descriptors.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <climits>

namespace wa::net {
namespace {

// Descriptors numbered at or above this are the reserve's.
std::atomic<int> g_ceiling{INT_MAX};

}  // namespace

DescriptorBudget reserve_descriptors(uint64_t reserve, uint64_t cap) {
  DescriptorBudget budget;
  rlimit limits{};
  if (::getrlimit(RLIMIT_NOFILE, &limits) != 0) return budget;
  const rlim_t wanted =
      limits.rlim_max == RLIM_INFINITY ? rlim_t(cap) : std::min<rlim_t>(limits.rlim_max, cap);
  if (limits.rlim_cur != RLIM_INFINITY && limits.rlim_cur < wanted) {
    rlimit raised = limits;
    raised.rlim_cur = wanted;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) {
      limits = raised;
      budget.raised = true;
    }
  }
  budget.limit = limits.rlim_cur == RLIM_INFINITY ? cap : uint64_t(limits.rlim_cur);
  budget.reserve = std::min<uint64_t>(reserve, budget.limit / 4);
  g_ceiling.store(int(std::min<uint64_t>(budget.limit - budget.reserve, INT_MAX)));
  return budget;
}

bool within_budget(int fd) {
  return fd < g_ceiling.load(std::memory_order_relaxed);
}

bool descriptor_available() {
  if (g_ceiling.load(std::memory_order_relaxed) == INT_MAX) return true;
  int probe = ::fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 0);
  if (probe < 0) probe = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (probe < 0) return false;
  bool ok = within_budget(probe);
  ::close(probe);
  return ok;
}

std::string describe(const DescriptorBudget& budget) {
  return std::to_string(budget.limit) + " descriptors, " + std::to_string(budget.reserve) +
         " kept in reserve";
}

}  // namespace wa::net
