// The directory of providers and advocates, in plain code: checking a
// directory (every problem at once, as field violations) and what a caller
// may see of a provider. Loading the directory file is in directory_file.h.
// Thread-safe (pure).
#pragma once

#include <optional>
#include <string>

#include "common/errors/errors.h"
#include "common/ids/ids.h"
#include "signpost/v1/advocacy.pb.h"

namespace signpost::advocacy {

// Every problem at once, as field violations (e.g. "advocates[2].capacity").
errors::FieldErrors ValidateDirectory(const v1::Directory& directory);
// One advocate (for UpsertAdvocate); `prefix` names it in violations.
void ValidateAdvocate(const v1::Advocate& a, const std::string& prefix,
                      errors::FieldErrors& errors);

// `provider` with its services in one order (by kind, areas sorted and
// unique), as the store returns them, so two records compare equal.
v1::Provider Normalized(v1::Provider provider);

// A confidential address (a refuge, say) is shown only to the provider
// itself (`caller_provider`, the calling agency's provider id); anyone else
// sees it withheld.
v1::Provider ProviderAsSeenBy(v1::Provider provider,
                              const std::optional<ProviderId>& caller_provider);

}  // namespace signpost::advocacy
