#include "replay/copy_run.h"

#include <algorithm>
#include <optional>

#include "protocol/text.h"
#include "protocol/url.h"

namespace wa::replay::run_detail {

std::string CopyRun::cookie_header(int client, std::string_view recorded,
                                   const std::string& live_url) {
  std::vector<cookie::Cookie> live;
  if (cookie::CookieJar& jar = clients_[size_t(client)].jar; jar.size() != 0) {
    if (auto u = url::parse(live_url)) live = jar.cookies_for(*u, wall_ms());
  }
  std::vector<char> used(live.size(), 0);
  std::string out;
  auto add = [&](std::string_view name, std::string_view value) {
    if (!out.empty()) out += "; ";
    if (!name.empty()) {
      out += name;
      out += '=';
    }
    out += value;
  };
  for (const auto& [name, value] : cookie_pairs(recorded)) {
    bool found = false;
    for (size_t k = 0; k < live.size() && !found; ++k) {
      if (used[k] || live[k].name != name) continue;
      used[k] = 1;
      found = true;
      add(name, live[k].value);
    }
    // Gone from the live jar (the server deleted it): not sent. Never set by the server
    // (a script set it, or the browser held it): sent as recorded.
    if (!found && !p_.server_cookie_names.count(name))
      add(name, values_.substitute(value, Place(Part::header, "Cookie")));
  }
  for (size_t k = 0; k < live.size(); ++k)
    if (!used[k]) add(live[k].name, live[k].value);
  return out;
}

void CopyRun::remember_cookies(int client, std::string_view request_url,
                               const http::Headers& headers) {
  std::optional<url::Url> u;  // parsed for the first Set-Cookie only: most responses have none
  for (const http::Header& h : headers) {
    if (!text::iequals(h.name, "set-cookie")) continue;
    if (!u) {
      auto parsed = url::parse(request_url);
      if (!parsed) return;
      u = std::move(*parsed);
    }
    (void)clients_[size_t(client)].jar.set_from_response(*u, h.value, wall_ms());
  }
}

std::string recorded_cookies(const store::Exchange& x) {
  std::string out;
  for (const store::Header& h : x.request_headers) {
    if (!text::iequals(h.name, "cookie")) continue;
    if (!out.empty()) out += "; ";
    out += h.value;
  }
  return out;
}

http::Headers CopyRun::live_headers(const store::Exchange& x,
                                    const std::function<bool(std::string_view)>& also_skip) {
  http::Headers out;
  for (const store::Header& h : x.request_headers) {
    if (is_own_header(h.name) || (also_skip && also_skip(h.name))) continue;
    std::string value =
        values_.substitute(h.value, Place(Part::header, h.name, Use::Owner::exchange, x.id));
    if (text::iequals(h.name, "origin") || text::iequals(h.name, "referer"))
      value = p_.origins.map_or_keep(value);
    if (text::iequals(h.name, "origin") && value.size() > 1 && value.back() == '/')
      value.pop_back();
    out.push_back({h.name, std::move(value)});
  }
  return out;
}

void CopyRun::start_http(size_t i) {
  const Action& a = s_.actions[i];
  const store::Exchange& x = *a.exchange;
  HttpRequest request;
  request.method = x.method;
  std::string url = values_.substitute(x.url, Place(Part::url, {}, Use::Owner::exchange, x.id));
  request.url = p_.origins.map_or_keep(url);
  request.headers = live_headers(x);
  if (is_conditional(request.headers)) {
    // The validators of the live answers for this resource, not the recorded ones.
    if (auto it = resources_.find(x.url); it != resources_.end())
      follow_validators(request.headers, it->second.validators);
    conditional_sent_[i] = request.headers;
  }
  std::string recorded_cookie = recorded_cookies(x);
  std::string cookies = cookie_header(a.client, recorded_cookie, request.url);
  if (!cookies.empty()) request.headers.push_back({"Cookie", std::move(cookies)});
  request.body = x.request_encoding.empty()
                     ? values_.substitute(x.request_body.bytes,
                                          Place(Part::body, {}, Use::Owner::exchange, x.id))
                     : x.request_body.bytes;
  if (x.request_body.is_unknown())
    result_.warnings.push_back(x.method + " " + x.url +
                               ": the recording does not hold the request body (an imported "
                               "HAR without it); sent empty");
  if (x.request_body.truncated())
    result_.warnings.push_back(x.method + " " + x.url +
                               ": the recorded request body was cut; sent as far as kept");
  // A recorded slow answer gets its time, three times over.
  int64_t took_ms = x.ended_us ? (*x.ended_us - x.started_us) / 1000 : 0;
  request.timeout_ms =
      std::max<uint64_t>(options_.timeout_ms, uint64_t(std::max<int64_t>(0, took_ms)) * 3);
  ++result_.exchanges;
  std::string live_url = request.url;
  calls_[i] = http_.send(std::move(request), [this, i, live_url](ClientResult<HttpResponse> r) {
    on_http(i, live_url, std::move(r));
  });
}

void CopyRun::on_http(size_t i, std::string live_url, ClientResult<HttpResponse> r) {
  calls_.erase(i);  // safe: the client's last act is this callback
  const Action& a = s_.actions[i];
  const store::Exchange& x = *a.exchange;
  size_t e = size_t(a.expectation);
  if (!r) {
    const ClientFailure& f = r.error();
    if (is_setup_failure(f.kind)) {
      add_error(f.why);
    } else {
      Difference d;
      d.where = where_of(x);
      d.scope = endpoint_of(x);
      d.outcome = int(e);
      d.kind = DiffKind::status;
      d.path = "status";
      d.expected = std::to_string(x.status);
      d.actual = "(no response: " + f.why + ")";
      http_diffs_.push_back(std::move(d));
    }
    actual_[e] = "(" + std::string(failure_kind_name(f.kind)) + ")";
    meet(e, 2);
    advance();
    return;
  }
  HttpResponse& response = *r;
  remember_cookies(a.client, live_url, response.headers);
  store::Exchange live;
  live.id = 0;
  live.method = x.method;
  live.url = live_url;
  live.status = response.status;
  live.reason = response.reason;
  for (http::Header& h : response.headers) {
    if (text::iequals(h.name, "content-encoding")) live.response_encoding = h.value;
    live.response_headers.push_back({std::move(h.name), std::move(h.value)});
  }
  // A body over the client's cap arrives cut, with the whole one's length and hash.
  live.response_body.full_length =
      std::int64_t(std::max<uint64_t>(response.body_length, response.body.size()));
  live.response_body.sha256 = std::move(response.body_sha256);
  live.response_body.bytes = std::move(response.body);
  live.started_us = response.timings.started_us;
  live.first_byte_us = response.timings.first_byte_us;
  live.ended_us = response.timings.ended_us;
  values_.on_response(x, live);
  for (std::string& w : values_.take_warnings())
    result_.warnings.push_back(std::move(w));
  HttpMatchOptions mo;
  mo.map_url = [this](std::string_view url) { return p_.origins.map_or_keep(url); };
  // A conditional request answered 304 on one side and in full on the other because the
  // validators changed: the full answers are compared, where both are known.
  const store::Exchange* expected = &x;
  const store::Exchange* actual = &live;
  bool compare = true;
  if (auto sent = conditional_sent_.extract(i)) {
    if (conditional_outcome(x, sent.mapped(), live.status, live.response_headers) ==
        ConditionalOutcome::validators_changed) {
      if (x.status == 304) {
        expected = recorded_full_answer(x);
      } else if (auto it = resources_.find(x.url); it != resources_.end() && it->second.full) {
        actual = &*it->second.full;
      } else {
        actual = nullptr;
      }
      compare = expected && actual;
    }
  }
  if (compare) {
    for (Difference& d : compare_response(*expected, *actual, context(), mo)) {
      d.outcome = int(e);
      http_diffs_.push_back(std::move(d));
    }
  }
  remember_resource(x, live);
  latencies_[endpoint_of(x)].push_back(response.timings.ended_us - response.timings.started_us);
  actual_[e] = std::to_string(live.status);
  live_.responses[e] = std::move(live);
  meet(e);
  advance();
}

const store::Exchange* CopyRun::recorded_full_answer(const store::Exchange& x) const {
  const store::Exchange* found = nullptr;
  for (const store::Exchange& r : s_.data.exchanges) {
    if (r.started_us >= x.started_us) continue;
    if (r.url == x.url && r.method == x.method && r.status >= 200 && r.status < 300) {
      if (!found || r.started_us > found->started_us) found = &r;
    }
  }
  return found;
}

void CopyRun::remember_resource(const store::Exchange& x, const store::Exchange& live) {
  if (!p_.conditional_urls.count(x.url)) return;  // never revalidated: nothing to keep
  Validators v = validators_of(live.response_headers);
  bool full = live.status >= 200 && live.status < 300;
  if (v.empty() || !(full || live.status == 304)) return;
  LiveResource& r = resources_[x.url];
  r.validators = std::move(v);
  if (full) r.full = live;
}

}  // namespace wa::replay::run_detail
