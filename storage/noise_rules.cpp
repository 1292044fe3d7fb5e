#include "storage/noise_rules.h"

#include <sqlite3.h>

#include <nlohmann/json.hpp>

namespace wa::store {

Result<std::vector<NoiseRule>> load_noise_rules(Database& db, Id recording_id) {
  auto stmt = db.prepare(
      "SELECT id, recording_id, scope, kind, pattern, origin, created_us, evidence FROM "
      "noise_rules "
      "WHERE recording_id = ?1 OR recording_id IS NULL ORDER BY id");
  if (!stmt) return stmt.error();
  stmt->bind(1, recording_id);
  std::vector<NoiseRule> rules;
  int rc;
  while ((rc = stmt->step()) == SQLITE_ROW) {
    NoiseRule r;
    r.id = stmt->int64(0);
    r.recording_id = stmt->optional_int64(1);
    r.scope = stmt->text(2);
    std::string kind = stmt->text(3);
    if (kind == "header") {
      r.kind = NoiseKind::header;
    } else if (kind == "json_pointer") {
      r.kind = NoiseKind::json_pointer;
    } else if (kind == "regex") {
      r.kind = NoiseKind::regex;
    } else {
      return fail(Errc::setup,
                  db.path() + ": corrupt capture file (noise rule kind '" + kind + "')");
    }
    r.pattern = stmt->text(4);
    r.origin = stmt->text(5) == "user" ? RuleOrigin::user : RuleOrigin::calibrate;
    r.created_us = stmt->int64(6);
    auto evidence = nlohmann::json::parse(stmt->text(7), nullptr, false);
    if (evidence.is_array()) {
      for (const auto& v : evidence)
        if (v.is_string()) r.evidence.push_back(v.get<std::string>());
    }
    rules.push_back(std::move(r));
  }
  if (rc != SQLITE_DONE) return db.failure("cannot read noise rules");
  return rules;
}

Result<void> replace_noise_rules(Database& db, std::optional<Id> recording_id, RuleOrigin origin,
                                 const std::vector<NoiseRule>& rules) {
  auto erase = db.prepare("DELETE FROM noise_rules WHERE recording_id IS ?1 AND origin = ?2");
  if (!erase) return erase.error();
  auto insert = db.prepare(
      "INSERT INTO noise_rules (recording_id, scope, kind, pattern, origin, created_us, evidence) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
  if (!insert) return insert.error();
  if (auto r = db.exec("BEGIN IMMEDIATE"); !r) return r;
  auto abort = [&](const char* doing) {
    Failure f = db.failure(doing);
    (void)db.exec("ROLLBACK");
    return f;
  };
  erase->bind(1, recording_id);
  erase->bind_text(2, to_string(origin));
  int rc = erase->step();
  erase->reset();
  if (rc != SQLITE_DONE) return abort("cannot replace noise rules");
  for (const NoiseRule& rule : rules) {
    // Bound without a copy (SQLITE_STATIC): it must outlive step().
    const std::string evidence = nlohmann::json(rule.evidence).dump();
    insert->bind(1, recording_id);
    insert->bind_text(2, rule.scope);
    insert->bind_text(3, to_string(rule.kind));
    insert->bind_text(4, rule.pattern);
    insert->bind_text(5, to_string(origin));
    insert->bind(6, rule.created_us);
    insert->bind_text(7, evidence);
    rc = insert->step();
    insert->reset();
    if (rc != SQLITE_DONE) return abort("cannot write a noise rule");
  }
  return db.exec("COMMIT");
}

}  // namespace wa::store
