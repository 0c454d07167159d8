// The one error idiom: propagate a failed absl::Status or absl::StatusOr
// without writing `if (!x.ok()) return x.status();` by hand.
//
//   RETURN_IF_ERROR(tx.Exec("..."));
//   ASSIGN_OR_RETURN(Statement stmt, tx.Prepare("..."));
//   ASSIGN_OR_RETURN(auto row, LoadRow(tx, id));
//
// Both work in functions returning absl::Status or absl::StatusOr<T>.
#pragma once

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace signpost::status_internal {

inline const absl::Status& AsStatus(const absl::Status& status) {
  return status;
}
template <typename T>
const absl::Status& AsStatus(const absl::StatusOr<T>& status_or) {
  return status_or.status();
}

}  // namespace signpost::status_internal

#define SIGNPOST_STATUS_CONCAT_INNER(a, b) a##b
#define SIGNPOST_STATUS_CONCAT(a, b) SIGNPOST_STATUS_CONCAT_INNER(a, b)

// Evaluates `expr` (an absl::Status or absl::StatusOr) once and returns its
// status from the enclosing function when it is not OK.
#define RETURN_IF_ERROR(expr)                              \
  do {                                                     \
    if (absl::Status signpost_status_ =                    \
            ::signpost::status_internal::AsStatus((expr)); \
        !signpost_status_.ok()) {                          \
      return signpost_status_;                             \
    }                                                      \
  } while (false)

// Evaluates `expr` (an absl::StatusOr<T>); on error returns its status,
// otherwise moves the value into `lhs` (a declaration or an lvalue).
#define ASSIGN_OR_RETURN(lhs, expr) \
  SIGNPOST_ASSIGN_OR_RETURN_IMPL(   \
      SIGNPOST_STATUS_CONCAT(signpost_status_or_, __LINE__), lhs, expr)

#define SIGNPOST_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                   \
  if (!tmp.ok()) return std::move(tmp).status();       \
  lhs = std::move(tmp).value()
