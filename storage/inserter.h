// Writes capture events into an open capture file with one prepared statement per table. The
// caller owns the transaction (the writer thread batches many events into one); an event that
// SQLite refuses (a CHECK constraint, a duplicate id) fails alone and leaves the transaction
// usable, because SQLite's default ABORT conflict resolution undoes only that statement.
#pragma once

#include <memory>

#include "protocol/result.h"
#include "storage/database.h"
#include "storage/model.h"

namespace wa::store {

class Inserter {
 public:
  // Prepares every statement on `db`, which must outlive the Inserter.
  static Result<Inserter> prepare(Database& db);
  Inserter(Inserter&&) noexcept;
  Inserter& operator=(Inserter&&) noexcept;
  ~Inserter();

  // Writes one event of recording `recording_id` (which overrides the event's own field).
  // Ids must already be assigned (non-zero).
  Result<void> write(const CaptureEvent& event, Id recording_id);

  Result<void> insert_recording(const Recording& recording);
  Result<void> end_recording(Id recording_id, Micros ended_us);

 private:
  struct Statements;
  explicit Inserter(Database& db, std::unique_ptr<Statements> s);

  Result<void> run(Statement& stmt, const char* what);
  Result<void> write_one(const Connection& e, Id rec);
  Result<void> write_one(const ConnectionClosed& e, Id rec);
  Result<void> write_one(const Exchange& e, Id rec);
  Result<void> write_one(const WsMessage& e, Id rec);
  Result<void> write_one(const EioSession& e, Id rec);
  Result<void> write_one(const SocketPacket& e, Id rec);
  Result<void> write_one(const CookieEvent& e, Id rec);
  Result<void> write_one(const SseEvent& e, Id rec);

  Database* db_;
  std::unique_ptr<Statements> s_;
};

}  // namespace wa::store
