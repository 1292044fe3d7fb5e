#include "protocol/secret_names.h"

#include <doctest/doctest.h>

using wa::secrets::credential_name;

TEST_CASE("credential_name: headers that carry credentials") {
  CHECK(credential_name("Authorization"));
  CHECK(credential_name("Proxy-Authorization"));
  CHECK(credential_name("Cookie"));
  CHECK(credential_name("Set-Cookie"));
  CHECK(credential_name("X-Api-Key"));
  CHECK(credential_name("X-Auth-Token"));
  CHECK(credential_name("X-CSRF-Token"));
  CHECK(credential_name("X-XSRF-TOKEN"));
  CHECK(credential_name("Sec-WebSocket-Key"));
}

TEST_CASE("credential_name: query, form and JSON field names") {
  CHECK(credential_name("token"));
  CHECK(credential_name("access_token"));
  CHECK(credential_name("apiKey"));
  CHECK(credential_name("password"));
  CHECK(credential_name("Passwd"));
  CHECK(credential_name("client_secret"));
  CHECK(credential_name("sessionId"));
  CHECK(credential_name("_csrf"));
  CHECK(credential_name("sid"));
  CHECK(credential_name("connect.sid"));
  CHECK(credential_name("PHPSESSID"));
  CHECK_FALSE(credential_name("inside"));
}

TEST_CASE("credential_name: ordinary names stay readable") {
  CHECK_FALSE(credential_name(""));
  CHECK_FALSE(credential_name("Content-Type"));
  CHECK_FALSE(credential_name("Accept"));
  CHECK_FALSE(credential_name("username"));
  CHECK_FALSE(credential_name("author"));
  CHECK_FALSE(credential_name("keywords"));
  CHECK_FALSE(credential_name("message"));
  CHECK_FALSE(credential_name("EIO"));
  CHECK_FALSE(credential_name("transport"));
  CHECK_FALSE(credential_name("t"));
  // A look-alike does not hide a real part next to it.
  CHECK(credential_name("author_token"));
}
