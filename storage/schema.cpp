#include "storage/schema.h"

#include "storage/schema_sql.h"  // generated from schema.sql into the build tree

namespace wa::store {

std::string_view schema_sql() {
  return generated::kSchemaSql;
}

std::span<const Migration> migrations() {
  return {};
}

}  // namespace wa::store
