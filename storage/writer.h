// The capture writer: the recording proxy's event loop pushes capture events; a thread of the
// writer's own writes them to the capture file in batches, one transaction per batch, with
// prepared statements, a rollback journal and synchronous=NORMAL (database.cpp says why).
//
// Guarantees:
// - Nothing pushed stays uncommitted for more than about `commit_interval` (50 ms) plus the
//   time to write the batch it is in, as long as the disk keeps up. A committed transaction
//   survives the recording process being killed (the transaction it cut short is rolled back
//   by whoever opens the file next), and the file stays sound across a power loss
//   (synchronous=NORMAL syncs the journal before the file is changed).
// - The queue is bounded (events and bytes): push() blocks while it is full, try_push() says
//   so, and the caller stops reading from its sockets. Memory never grows with a slow disk.
// - One writer per capture file at a time (an exclusive flock on the file), so that the ids it
//   hands out are the rows' ids. Readers (`workalready ls`) may read while it writes (a commit
//   waits for the reads in progress).
//
// Ids: new_*_id() hand out ids synchronously, in increasing order, starting after the largest
// id in the file; they become the rows' primary keys. An event pushed with id 0 is given the
// next id by push(). This lets the proxy refer to a connection or exchange (from a WebSocket
// message, a packet, a cookie) before its row is written, with no mapping table.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "protocol/result.h"
#include "storage/database.h"
#include "storage/model.h"
#include "storage/write_behind.h"

namespace wa::store {

struct WriterOptions {
  // Backpressure: push() waits while this many events, or this many payload bytes, are queued.
  std::size_t max_queued_events = 64 * 1024;
  std::size_t max_queued_bytes = 64u << 20;
  // A transaction is committed at most this long after it began (when the queue runs dry
  // earlier, it waits this long for more events to share the commit).
  std::chrono::milliseconds commit_interval{50};
};

struct WriterStats {
  std::uint64_t pushed = 0;     // events accepted by push()/try_push()
  std::uint64_t committed = 0;  // events whose transaction has committed
  std::uint64_t rejected = 0;   // events SQLite refused (each alone); see last_error
  std::uint64_t batches = 0;    // transactions committed
  std::string last_error;       // "" if none
};

class CaptureWriter {
 public:
  // Opens or creates the capture file at `path` (0600; see open_capture), takes the writer
  // lock, inserts `recording` (its id is assigned here; read it back with recording()) and
  // starts the writer thread.
  static Result<std::unique_ptr<CaptureWriter>> open(const std::string& path, Recording recording,
                                                     WriterOptions options = {});
  ~CaptureWriter();  // close() with the recording left open-ended if not closed yet

  CaptureWriter(const CaptureWriter&) = delete;
  CaptureWriter& operator=(const CaptureWriter&) = delete;

  const Recording& recording() const { return recording_; }
  const std::string& path() const { return path_; }

  // Ids for things that later events refer to. Thread-safe.
  Id new_connection_id() { return ++next_connection_; }
  Id new_exchange_id() { return ++next_exchange_; }
  Id new_ws_message_id() { return ++next_ws_message_; }
  Id new_session_id() { return ++next_session_; }
  Id new_packet_id() { return ++next_packet_; }
  Id new_cookie_id() { return ++next_cookie_; }
  Id new_sse_event_id() { return ++next_sse_event_; }

  // Queues an event, assigning its id if it is 0; returns that id. Blocks while the queue is
  // full. Fails once the writer is closed or has hit an error it cannot go on from (a full
  // disk, an I/O error): the file holds everything committed before that.
  Result<Id> push(CaptureEvent event);
  // The same without blocking: returns nullopt, leaving `event` as it was, when the queue is
  // full (the caller pauses reading and retries later).
  Result<std::optional<Id>> try_push(CaptureEvent& event);

  // Returns once everything pushed before the call is committed (or the writer failed).
  Result<void> flush();
  // Drains the queue, commits, sets the recording's end time and closes the file. Idempotent.
  Result<void> close(std::optional<Micros> ended_us);

  WriterStats stats() const;

 private:
  struct Queued {
    CaptureEvent event;
    std::size_t bytes;
  };

  CaptureWriter(std::string path, Database db, int lock_fd, Recording recording,
                WriterOptions options);
  Id assign_id(CaptureEvent& event);
  bool chunk_waiting() const;  // with mutex_ held: enough queued to be worth a wakeup
  void run();
  bool fatal(const Failure& f);  // records a failure that stops the writer; returns false

  const std::string path_;
  Database db_;
  int lock_fd_;
  WriteBehind write_behind_;  // used by the thread only
  Recording recording_;
  const WriterOptions options_;

  std::atomic<Id> next_connection_{0}, next_exchange_{0}, next_ws_message_{0}, next_session_{0},
      next_packet_{0}, next_cookie_{0}, next_sse_event_{0};

  mutable std::mutex mutex_;
  std::condition_variable has_work_;    // the thread waits for events or closing
  std::condition_variable has_space_;   // producers wait for room
  std::condition_variable progressed_;  // flush() waits for commits
  std::deque<Queued> queue_;
  std::size_t queued_bytes_ = 0;  // of the queue and of the batch being written
  std::size_t queued_events_ = 0;
  std::size_t unclaimed_bytes_ = 0;  // of the queue only: what the thread has not taken yet
  // The thread waits for a first event (no transaction open). Inside a transaction it is not
  // woken for every event but only once a chunk's worth is queued (see chunk_waiting()).
  bool idle_ = false;
  std::size_t blocked_producers_ = 0;  // push() calls waiting for room
  bool closing_ = false;
  bool closed_ = false;
  std::optional<Failure> failure_;  // sticky
  WriterStats stats_;
  std::thread thread_;
};

}  // namespace wa::store
