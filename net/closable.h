// Ownership of objects that hold libuv handles or requests.
//
// libuv's rule (docs/src/design.rst, "Handles and requests"): a handle's memory may be reclaimed
// only in or after its close callback, which runs on a later loop turn than uv_close(). So the
// objects of net/ are never deleted by their owner: the owner holds an Owned<T>, and dropping it
// (or net::close(std::move(owned), done)) starts closing. The object then deletes itself once
// every close callback has run, and calls `done` after that.
//
// Guarantees every Closable gives:
//  - closing never frees memory synchronously, so closing (or dropping the Owned) from inside
//    one of the object's own callbacks is safe;
//  - once closing has started, none of the object's callbacks runs again, except `done`;
//  - no callback runs synchronously from inside a method the owner calls (start, write, resume,
//    ...): they run from the loop, so the owner never sees re-entrant calls.
// Callbacks must not throw: they are called from C code.
#pragma once

#include <functional>
#include <memory>

namespace wa::net {

using CloseCallback = std::function<void()>;

class Closable;

struct Closer {
  void operator()(Closable* object) const;
};

template <class T>
using Owned = std::unique_ptr<T, Closer>;

// Closes the object and calls `done` once it is freed; an empty `owned` is a no-op.
template <class T>
void close(Owned<T>&& owned, CloseCallback done = {});

class Closable {
 public:
  Closable(const Closable&) = delete;
  Closable& operator=(const Closable&) = delete;

 protected:
  Closable() = default;
  virtual ~Closable() = default;

  // Starts closing; a second call does nothing. `done` (may be empty) runs after the object is
  // freed.
  virtual void close(CloseCallback done) = 0;

  friend struct Closer;
  template <class T>
  friend void close(Owned<T>&& owned, CloseCallback done);
};

inline void Closer::operator()(Closable* object) const {
  object->close({});
}

template <class T>
void close(Owned<T>&& owned, CloseCallback done) {
  if (Closable* object = owned.release()) object->close(std::move(done));
}

}  // namespace wa::net
