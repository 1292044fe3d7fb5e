#include "protocol/socketio_json.h"

#include <cmath>
#include <cstddef>
#include <exception>
#include <unordered_map>
#include <utility>
#include <vector>

namespace wa::sio {
namespace {

// Builds an ordered_json through nlohmann's SAX events. Containers under construction are
// kept on a stack of pointers; a pointer stays valid while its container is open because
// nothing is appended to the parent until the child closes.
class Builder {
 public:
  using number_integer_t = Json::number_integer_t;
  using number_unsigned_t = Json::number_unsigned_t;
  using number_float_t = Json::number_float_t;
  using string_t = Json::string_t;
  using binary_t = Json::binary_t;

  explicit Builder(size_t max_depth) : max_depth_(max_depth) {}

  bool null() { return put(Json(nullptr)); }
  bool boolean(bool v) { return put(Json(v)); }
  bool number_integer(number_integer_t v) { return put(Json(v)); }
  bool number_unsigned(number_unsigned_t v) { return put(Json(v)); }
  bool number_float(number_float_t v, const string_t&) {
    // 1e400: JavaScript reads Infinity and writes it back as null, so the value would change
    // shape on its way through; refuse it instead.
    if (!std::isfinite(v)) {
      out_of_range_ = true;
      return false;
    }
    return put(Json(v));
  }
  bool string(string_t& v) { return put(Json(std::move(v))); }
  bool binary(binary_t&) { return false; }  // JSON text has no binary values

  bool start_object(size_t) { return open(Json::object()); }
  bool start_array(size_t) { return open(Json::array()); }
  bool end_object() { return close(); }
  bool end_array() { return close(); }

  bool key(string_t& k) {
    Frame& f = stack_.back();
    auto& members = f.value->get_ref<Json::object_t&>();
    // Small objects (nearly all of them) are searched in place; the index is built once an
    // object grows past kIndexFrom members, so its cost is paid only where it saves time.
    if (members.size() < kIndexFrom) {
      for (size_t i = 0; i < members.size(); ++i) {
        if ((members.begin() + std::ptrdiff_t(i))->first == k) {
          f.slot = i;
          return true;
        }
      }
    } else {
      if (f.index.empty()) {
        for (size_t i = 0; i < members.size(); ++i) {
          f.index.emplace((members.begin() + std::ptrdiff_t(i))->first, i);
        }
      }
      auto [it, fresh] = f.index.try_emplace(k, members.size());
      if (!fresh) {
        f.slot = it->second;
        return true;
      }
    }
    f.slot = members.size();
    members.emplace_back(std::move(k), nullptr);
    return true;
  }

  bool parse_error(size_t position, const std::string&, const nlohmann::detail::exception& e) {
    position_ = position;
    // nlohmann's text is "[json.exception…] parse error at …: <what> - <detail>; last read:
    // '…'"; keep "<what> - <detail>" only, since "last read" may hold invalid UTF-8.
    std::string_view what = e.what();
    if (auto colon = what.find(": "); colon != std::string_view::npos)
      what.remove_prefix(colon + 2);
    if (auto last = what.find("; last read"); last != std::string_view::npos) {
      what = what.substr(0, last);
    }
    detail_ = std::string(what.substr(0, 120));
    return false;
  }

  bool too_deep() const { return too_deep_; }
  bool out_of_range() const { return out_of_range_; }
  size_t position() const { return position_; }
  const std::string& detail() const { return detail_; }
  Json take() { return std::move(root_); }

 private:
  static constexpr size_t kIndexFrom = 16;

  struct Frame {
    Json* value;
    // Key → member position, for large objects only: JSON.parse semantics for duplicate keys
    // without ordered_map's linear search per insertion.
    std::unordered_map<std::string, size_t> index;
    size_t slot = 0;
  };

  // Places a finished value in the open container (or at the root) and returns where it lives.
  Json* place(Json&& v) {
    if (stack_.empty()) {
      root_ = std::move(v);
      return &root_;
    }
    Frame& f = stack_.back();
    if (f.value->is_array()) {
      auto& items = f.value->get_ref<Json::array_t&>();
      items.push_back(std::move(v));
      return &items.back();
    }
    auto& members = f.value->get_ref<Json::object_t&>();
    // ordered_map hides vector's operator[] behind its key lookup; index through iterators.
    auto member = members.begin() + std::ptrdiff_t(f.slot);
    member->second = std::move(v);
    return &member->second;
  }

  bool put(Json&& v) {
    place(std::move(v));
    return true;
  }

  bool open(Json&& container) {
    if (stack_.size() >= max_depth_) {
      too_deep_ = true;
      return false;
    }
    stack_.push_back(Frame{place(std::move(container)), {}, 0});
    return true;
  }

  bool close() {
    stack_.pop_back();
    return true;
  }

  size_t max_depth_;
  Json root_;
  std::vector<Frame> stack_;
  bool too_deep_ = false;
  bool out_of_range_ = false;
  size_t position_ = 0;
  std::string detail_;
};

}  // namespace

Result<Json> parse_json(std::string_view text, Errc malformed, size_t max_depth) {
  Builder builder(max_depth);
  bool ok = false;
  try {
    ok = Json::sax_parse(text.begin(), text.end(), &builder);
  } catch (const std::exception& e) {
    // The SAX parser reports errors through parse_error(); this is only for allocation failure.
    return fail(malformed, std::string("JSON not parsed: ") + e.what());
  }
  if (builder.too_deep()) {
    return fail(Errc::limit, "JSON nested deeper than " + std::to_string(max_depth));
  }
  if (builder.out_of_range()) return fail(malformed, "JSON number out of range");
  if (!ok) {
    return fail(malformed,
                "invalid JSON at byte " + std::to_string(builder.position()) +
                    (builder.detail().empty() ? std::string() : ": " + builder.detail()));
  }
  return builder.take();
}

std::string dump_json(const Json& value) {
  return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace wa::sio
