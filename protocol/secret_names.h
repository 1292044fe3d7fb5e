// Which field names carry credentials: the one rule that the reports (replay/secret_book.h)
// and `har export --redact` (storage/har.h) share. A name is a header name, a cookie name, a URL
// query or form field name, or a JSON object key; the test is case-insensitive.
#pragma once

#include <string_view>

namespace wa::secrets {

// Whether a field of this name holds a secret: its name contains token, secret, key, auth,
// session, sessid, csrf, xsrf, passw, credential or signature, it ends in ".sid", "_sid" or
// "-sid", or it is one of sid, pass, pwd, jwt, otp, cookie, set-cookie. Words that only look alike
// are not: author, keyboard, keyword(s), monkey, turkey (so "author" or "keywords" stay readable).
// "" is not.
bool credential_name(std::string_view name);

}  // namespace wa::secrets
