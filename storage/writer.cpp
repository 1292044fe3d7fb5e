#include "storage/writer.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <unistd.h>

#include <vector>

#include "storage/inserter.h"

namespace wa::store {

namespace {

// What an event costs in queue memory: its payloads plus a fixed overhead for the struct.
std::size_t event_bytes(const CaptureEvent& event) {
  struct Size {
    std::size_t operator()(const Connection& c) const {
      return c.client_addr.size() + c.server_host.size() + c.sni.size() + c.alpn.size();
    }
    std::size_t operator()(const ConnectionClosed& c) const { return c.error.size(); }
    std::size_t operator()(const Exchange& e) const {
      std::size_t n = e.url.size() + e.request_body.bytes.size() + e.response_body.bytes.size();
      for (const Header& h : e.request_headers)
        n += h.name.size() + h.value.size() + 16;
      for (const Header& h : e.response_headers)
        n += h.name.size() + h.value.size() + 16;
      return n + e.error.size();
    }
    std::size_t operator()(const WsMessage& m) const { return m.payload.bytes.size(); }
    std::size_t operator()(const EioSession& s) const { return s.sid.size(); }
    std::size_t operator()(const SocketPacket& p) const {
      std::size_t n = p.raw.size() + p.args.size() + p.event.size() + p.namespace_.size();
      for (const std::string& a : p.attachments)
        n += a.size();
      return n;
    }
    std::size_t operator()(const CookieEvent& c) const {
      return c.name.size() + c.value.size() + c.raw.size() + c.domain.size() + c.path.size();
    }
    std::size_t operator()(const SseEvent& e) const {
      return e.data.size() + e.event.size() + (e.event_id ? e.event_id->size() : 0);
    }
  };
  return sizeof(CaptureEvent) + std::visit(Size{}, event);
}

// Events taken from the queue per step of a transaction: about a millisecond of writing. The
// byte bound matters for large bodies: 512 events of 64 KiB took well over 100 ms to write,
// and a producer blocked on a full queue waited for all of them before any room came back
// (the proxy's p99 latency was that wait).
constexpr std::size_t kChunk = 512;
constexpr std::size_t kChunkBytes = 1u << 20;
// A transaction ends at the commit interval, or sooner once it has written this much: what it
// changed must fit in SQLite's page cache (32 MB, database.cpp), or SQLite spills pages to the
// file mid-transaction and writes them again at commit.
constexpr std::size_t kTransactionBytes = 24u << 20;

Result<Id> max_id(Database& db, const char* table) {
  std::string sql = std::string("SELECT coalesce(max(id), 0) FROM ") + table;
  return db.query_int(sql.c_str());
}

}  // namespace

Result<std::unique_ptr<CaptureWriter>> CaptureWriter::open(const std::string& path,
                                                           Recording recording,
                                                           WriterOptions options) {
  auto db = open_capture(path, Access::write);
  if (!db) return db.error();

  // An flock of our own, on a descriptor kept open until SQLite has closed the file: closing
  // any descriptor of a file drops the process's POSIX locks on it, which SQLite relies on
  // (sqlite.org/howtocorrupt.html §2.2), so this descriptor is closed last.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 || ::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (fd >= 0) ::close(fd);
    return fail(Errc::setup, path + ": another workalready process is recording into it");
  }

  std::unique_ptr<CaptureWriter> writer(
      new CaptureWriter(path, std::move(*db), fd, std::move(recording), options));
  Database& d = writer->db_;
  struct Counter {
    std::atomic<Id>* next;
    const char* table;
  } counters[] = {
      {&writer->next_connection_, "connections"}, {&writer->next_exchange_, "exchanges"},
      {&writer->next_ws_message_, "ws_messages"}, {&writer->next_session_, "eio_sessions"},
      {&writer->next_packet_, "socket_packets"},  {&writer->next_cookie_, "cookies"},
      {&writer->next_sse_event_, "sse_events"}};
  for (Counter& c : counters) {
    auto top = max_id(d, c.table);
    if (!top) return top.error();
    c.next->store(*top);
  }
  auto top = max_id(d, "recordings");
  if (!top) return top.error();
  writer->recording_.id = *top + 1;
  writer->recording_.ended_us.reset();

  auto inserter = Inserter::prepare(d);
  if (!inserter) return inserter.error();
  if (auto r = inserter->insert_recording(writer->recording_); !r) return r.error();

  writer->thread_ = std::thread([w = writer.get()] { w->run(); });
  return writer;
}

CaptureWriter::CaptureWriter(std::string path, Database db, int lock_fd, Recording recording,
                             WriterOptions options)
    : path_(std::move(path)),
      db_(std::move(db)),
      lock_fd_(lock_fd),
      write_behind_(lock_fd),
      recording_(std::move(recording)),
      options_(options) {}

CaptureWriter::~CaptureWriter() {
  (void)close(std::nullopt);
  db_ = Database();  // SQLite closes the file first; then the lock goes (see open())
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

Id CaptureWriter::assign_id(CaptureEvent& event) {
  struct Assign {
    CaptureWriter* w;
    Id pick(Id& id, std::atomic<Id>& next) const { return id != 0 ? id : (id = ++next); }
    Id operator()(Connection& c) const { return pick(c.id, w->next_connection_); }
    Id operator()(ConnectionClosed& c) const { return c.connection_id; }
    Id operator()(Exchange& e) const { return pick(e.id, w->next_exchange_); }
    Id operator()(WsMessage& m) const { return pick(m.id, w->next_ws_message_); }
    Id operator()(EioSession& s) const { return pick(s.id, w->next_session_); }
    Id operator()(SocketPacket& p) const { return pick(p.id, w->next_packet_); }
    Id operator()(CookieEvent& c) const { return pick(c.id, w->next_cookie_); }
    Id operator()(SseEvent& e) const { return pick(e.id, w->next_sse_event_); }
  };
  return std::visit(Assign{this}, event);
}

Result<Id> CaptureWriter::push(CaptureEvent event) {
  std::size_t bytes = event_bytes(event);
  std::unique_lock lock(mutex_);
  // An event larger than the whole budget still goes in once the queue is empty, or it would
  // wait forever.
  auto room = [&] {
    return closing_ || failure_ ||
           (queued_events_ < options_.max_queued_events &&
            (queued_bytes_ + bytes <= options_.max_queued_bytes || queued_events_ == 0));
  };
  if (!room()) {
    // The thread may be inside a transaction waiting for its deadline: it should write now.
    ++blocked_producers_;
    has_work_.notify_one();
    has_space_.wait(lock, room);
    --blocked_producers_;
  }
  if (failure_) return *failure_;
  if (closing_) return fail(Errc::setup, path_ + ": the capture writer is closed");
  Id id = assign_id(event);
  queue_.push_back(Queued{std::move(event), bytes});
  queued_bytes_ += bytes;
  unclaimed_bytes_ += bytes;
  ++queued_events_;
  ++stats_.pushed;
  bool wake = idle_ || chunk_waiting();
  lock.unlock();
  if (wake) has_work_.notify_one();
  return id;
}

// Waking the thread costs a futex call here and a context switch there; once per event it
// was a large part of the proxy's CPU per small request. So the thread is woken for the first
// event of a transaction, and then only when a chunk is waiting; otherwise it takes what has
// accumulated at the commit deadline, which bounds the delay the same way.
bool CaptureWriter::chunk_waiting() const {
  return queue_.size() >= kChunk || unclaimed_bytes_ >= kChunkBytes || blocked_producers_ > 0 ||
         queued_events_ >= options_.max_queued_events || queued_bytes_ >= options_.max_queued_bytes;
}

Result<std::optional<Id>> CaptureWriter::try_push(CaptureEvent& event) {
  std::size_t bytes = event_bytes(event);
  std::unique_lock lock(mutex_);
  if (failure_) return *failure_;
  if (closing_) return fail(Errc::setup, path_ + ": the capture writer is closed");
  if (queued_events_ >= options_.max_queued_events ||
      (queued_bytes_ + bytes > options_.max_queued_bytes && queued_events_ != 0)) {
    return std::optional<Id>();
  }
  Id id = assign_id(event);
  queue_.push_back(Queued{std::move(event), bytes});
  queued_bytes_ += bytes;
  unclaimed_bytes_ += bytes;
  ++queued_events_;
  ++stats_.pushed;
  bool wake = idle_ || chunk_waiting();
  lock.unlock();
  if (wake) has_work_.notify_one();
  return std::optional<Id>(id);
}

Result<void> CaptureWriter::flush() {
  std::unique_lock lock(mutex_);
  std::uint64_t target = stats_.pushed;
  progressed_.wait(
      lock, [&] { return failure_ || stats_.committed + stats_.rejected >= target || closed_; });
  if (failure_) return *failure_;
  return {};
}

Result<void> CaptureWriter::close(std::optional<Micros> ended_us) {
  {
    std::lock_guard lock(mutex_);
    if (closing_ && !thread_.joinable()) return failure_ ? Result<void>(*failure_) : Result<void>();
    closing_ = true;
  }
  has_work_.notify_all();
  has_space_.notify_all();
  if (thread_.joinable()) thread_.join();

  std::lock_guard lock(mutex_);
  if (!failure_ && ended_us) {
    auto inserter = Inserter::prepare(db_);
    auto r = inserter ? inserter->end_recording(recording_.id, *ended_us)
                      : Result<void>(inserter.error());
    if (!r) {
      failure_ = r.error();
    } else {
      recording_.ended_us = ended_us;
    }
  }
  // journal_mode=TRUNCATE keeps an empty journal file between transactions; leaving it for
  // DELETE removes it, so that a finished capture is one file again.
  if (!failure_) (void)db_.exec("PRAGMA journal_mode=DELETE");
  closed_ = true;
  progressed_.notify_all();
  return failure_ ? Result<void>(*failure_) : Result<void>();
}

WriterStats CaptureWriter::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

bool CaptureWriter::fatal(const Failure& f) {
  std::lock_guard lock(mutex_);
  failure_ = f;
  stats_.last_error = f.why;
  // Whatever is queued will never be written: release the producers and flush() callers.
  queue_.clear();
  queued_events_ = 0;
  queued_bytes_ = 0;
  unclaimed_bytes_ = 0;
  has_space_.notify_all();
  progressed_.notify_all();
  return false;
}

// The thread: wait for events, open a transaction, write whatever arrives until the commit
// interval is over or the queue stays dry, commit, repeat.
void CaptureWriter::run() {
  auto inserter = Inserter::prepare(db_);
  if (!inserter) {
    fatal(inserter.error());
    return;
  }
  std::vector<Queued> batch;
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      idle_ = true;
      has_work_.wait(lock, [&] { return !queue_.empty() || closing_ || failure_; });
      idle_ = false;
      if (failure_ || queue_.empty()) return;  // closing with nothing left
    }
    if (auto r = db_.exec("BEGIN"); !r) {
      fatal(r.error());
      return;
    }
    auto deadline = std::chrono::steady_clock::now() + options_.commit_interval;
    std::uint64_t written = 0, rejected = 0;
    std::size_t written_bytes = 0, transaction_bytes = 0;
    std::string last_error;
    for (;;) {
      {
        std::unique_lock lock(mutex_);
        // Wait for more only while the transaction is young; closing drains without waiting.
        // Producers wake the thread only once a chunk is waiting (chunk_waiting()); what came
        // short of that is taken at the deadline.
        has_work_.wait_until(lock, deadline, [&] { return chunk_waiting() || closing_; });
        if (queue_.empty()) break;
        // A chunk at a time, so that the deadline is looked at every few milliseconds of
        // work even when the queue is long, and room is given back to producers as it goes.
        batch.clear();
        std::size_t batch_bytes = 0;
        while (!queue_.empty() && batch.size() < kChunk && batch_bytes < kChunkBytes) {
          batch_bytes += queue_.front().bytes;
          unclaimed_bytes_ -= queue_.front().bytes;
          batch.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
      }
      for (Queued& q : batch) {
        if (auto r = inserter->write(q.event, recording_.id); !r) {
          // SQLITE_FULL, SQLITE_IOERR and friends end the writer; a refused row is skipped.
          int code = sqlite3_extended_errcode(db_.handle()) & 0xff;
          if (code != SQLITE_CONSTRAINT && code != SQLITE_MISMATCH && code != SQLITE_TOOBIG) {
            (void)db_.exec("ROLLBACK");
            fatal(r.error());
            return;
          }
          ++rejected;
          last_error = r.error().why;
        } else {
          ++written;
        }
        written_bytes += q.bytes;
      }
      transaction_bytes += written_bytes;
      std::size_t count = batch.size();
      batch.clear();  // frees the payloads before the budget is given back
      {
        std::lock_guard lock(mutex_);
        queued_events_ -= count;
        queued_bytes_ -= std::min(queued_bytes_, written_bytes);
        written_bytes = 0;
      }
      has_space_.notify_all();
      if (transaction_bytes >= kTransactionBytes || std::chrono::steady_clock::now() >= deadline)
        break;
    }
    if (auto r = db_.exec("COMMIT"); !r) {
      (void)db_.exec("ROLLBACK");
      fatal(r.error());
      return;
    }
    write_behind_.after_commit();
    {
      std::lock_guard lock(mutex_);
      stats_.committed += written;
      stats_.rejected += rejected;
      ++stats_.batches;
      if (!last_error.empty()) stats_.last_error = last_error;
    }
    progressed_.notify_all();
  }
}

}  // namespace wa::store
