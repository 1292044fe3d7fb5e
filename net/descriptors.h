// File descriptors as a budget. A recording proxy holds two sockets per relayed connection, and
// the recording itself needs descriptors to go on (SQLite opens its journal for every
// transaction; DNS lookups and the CA open files). Run out, and relaying may go on while
// nothing more reaches the capture. So: the soft limit is raised to the hard one at start, and
// a reserve at the top of the range is kept free; a connection (accepted or to an upstream)
// whose descriptor would fall into the reserve is refused at once. POSIX hands out the lowest
// free number, so a socket numbered inside the reserve means the rest are in use.
#pragma once

#include <cstdint>
#include <string>

namespace wa::net {

struct DescriptorBudget {
  uint64_t limit = 0;    // the soft RLIMIT_NOFILE now in force
  uint64_t reserve = 0;  // descriptors kept free for everything but new connections
  bool raised = false;   // the soft limit was raised to the hard one
};

// Raises the soft limit to the hard one (capped at `cap`, as a hard limit may be "unlimited")
// and keeps `reserve` descriptors (at most a quarter of the limit) free of new connections from
// then on, process-wide. Returns what is in force.
DescriptorBudget reserve_descriptors(uint64_t reserve, uint64_t cap = 1u << 20);

// Whether a new connection may hold descriptor `fd` (always, until reserve_descriptors()).
bool within_budget(int fd);

// Whether one more descriptor may be opened for a new connection: a probe of the lowest free
// number. false when none is free at all.
bool descriptor_available();

// "1024 descriptors, 64 kept in reserve" for messages.
std::string describe(const DescriptorBudget& budget);

}  // namespace wa::net
