#include "daemon/policy_store.h"

#include <unistd.h>

#include <algorithm>

#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "policy/grants.h"
#include "policy/validate.h"

#include "absl/strings/str_cat.h"
#include "daemon/log.h"
#include "daemon/text_file.h"
#include "policy/default_policy.h"
#include "policy/policy_text.h"

namespace scopedfs {
namespace {

// Parses and compiles `text`; errors name `origin`.
absl::StatusOr<std::shared_ptr<const policy::Engine>> CompileText(
    const std::string& text, const std::string& origin, uint64_t generation) {
  auto parsed = policy::ParsePolicyText(text);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(origin, ": ", parsed.status().message()));
  }
  parsed->set_generation(generation);
  auto engine = policy::Engine::Compile(*parsed, generation);
  if (!engine.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(origin, ": ", engine.status().message()));
  }
  return engine;
}

}  // namespace

absl::StatusOr<PolicyStore::Initial> PolicyStore::ReadInitial(
    const std::string& state_path, const LoadOptions& options) {
  const std::string stored_path = absl::StrCat(state_path, "/", kPolicyFile);
  auto stored = ReadTextFile(stored_path, "a policy file");
  if (stored.ok()) {
    auto parsed = policy::ParsePolicyText(*stored);
    const uint64_t generation =
        parsed.ok() && parsed->generation() > 0 ? parsed->generation() : 1;
    auto engine = CompileText(*stored, stored_path, generation);
    if (engine.ok()) return Initial{*std::move(engine), stored_path, true};
    if (!options.fallback_to_default) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the stored policy is invalid: ", engine.status().message(),
          " (fix or remove it, or start with --fallback_to_default_policy)"));
    }
    SFS_LOG(kError, "the stored policy is invalid (%s); using the embedded "
                    "default as --fallback_to_default_policy asks",
            engine.status().message());
  }
  std::string text(policy::DefaultPolicyText());
  std::string origin = "embedded default policy";
  if (!stored.ok() && !options.seed_file.empty()) {
    auto seed = ReadTextFile(options.seed_file, "a policy file");
    if (!seed.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("--policy: ", seed.status().message()));
    }
    text = *std::move(seed);
    origin = options.seed_file;
  }
  auto engine = CompileText(text, origin, 1);
  if (!engine.ok()) return engine.status();
  return Initial{*std::move(engine), origin, false};
}

absl::StatusOr<int64_t> ExpiryAfter(int64_t now_unix_nanos,
                                    uint64_t duration_seconds) {
  if (duration_seconds == 0) return 0;
  if (duration_seconds > kMaxDurationSeconds) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a duration of ", duration_seconds, " s is longer than ",
        kMaxDurationSeconds / 86400, " days: give none for no end"));
  }
  return now_unix_nanos + static_cast<int64_t>(duration_seconds) * 1000000000;
}

absl::Status PolicyStore::SetShadow(const v1::Policy& source,
                                    uint64_t duration_seconds,
                                    int64_t now_unix_nanos) {
  if (auto errors = policy::ValidatePolicy(source); !errors.empty()) {
    return absl::InvalidArgumentError(policy::FormatPolicyErrors(errors));
  }
  auto expires = ExpiryAfter(now_unix_nanos, duration_seconds);
  if (!expires.ok()) return expires.status();
  // Under the lock: no grant change slips between its grants and its
  // install (Install regrants it after every one).
  absl::MutexLock lock(&apply_mu_);
  return shadow_.Install(source, grants_, now_unix_nanos, *expires);
}

absl::StatusOr<v1::GrantList> PolicyStore::ReadGrants(
    const std::string& state_path) {
  v1::GrantList grants;
  const std::string path = absl::StrCat(state_path, "/", kGrantsFile);
  if (access(path.c_str(), F_OK) != 0) return grants;  // none yet
  auto text = ReadTextFile(path, "a grants file");
  if (!text.ok()) return text.status();
  if (absl::Status st =
          policy::TextFormatStatus(policy::ParseTextFormat(*text, &grants));
      !st.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, ": ", st.message(), " (fix or remove it)"));
  }
  return grants;
}

absl::StatusOr<std::unique_ptr<PolicyStore>> PolicyStore::Load(
    StateDir* state, const LoadOptions& options) {
  auto initial = ReadInitial(state->path(), options);
  if (!initial.ok()) return initial.status();
  absl::StatusOr<v1::GrantList> grants = ReadGrants(state->path());
  if (!grants.ok()) return grants.status();
  std::unique_ptr<PolicyStore> store(new PolicyStore(state));
  absl::MutexLock lock(&store->apply_mu_);
  const uint64_t generation =
      std::max(initial->engine->generation(), grants->generation());
  v1::Policy policy = initial->engine->policy();
  // A grant whose app the stored policy lost (edited by hand) is left out,
  // and said so; Apply refuses to get there.
  auto installed = store->Install(std::move(policy), *std::move(grants),
                                  /*grants_changed=*/false, nullptr,
                                  /*refuse_unfit_grants=*/false, generation,
                                  /*persist_policy=*/!initial->stored);
  if (!installed.ok()) return installed.status();
  SFS_LOG(kInfo, "policy generation %d %s %s, %d grants", generation,
          initial->stored ? "loaded from" : "from", initial->origin,
          store->grants_.grants_size());
  return store;
}

v1::Policy PolicyStore::policy() const {
  absl::MutexLock lock(&apply_mu_);
  return policy_;
}

v1::GrantList PolicyStore::grants() const {
  absl::MutexLock lock(&apply_mu_);
  return grants_;
}

absl::StatusOr<uint64_t> PolicyStore::Install(
    v1::Policy policy, v1::GrantList grants, bool grants_changed,
    const Check& check, bool refuse_unfit_grants, uint64_t generation,
    bool persist_policy, bool persist_best_effort) {
  const int64_t now = absl::ToUnixNanos(absl::Now());
  policy.set_generation(generation);
  policy::EffectivePolicy effective = policy::WithGrants(policy, grants, now);
  if (!effective.skipped.empty()) {
    const std::string which = absl::StrJoin(effective.skipped, "; ");
    if (refuse_unfit_grants) {
      return absl::FailedPreconditionError(absl::StrCat(
          "grants would no longer fit the policy (revoke them first): ", which));
    }
    SFS_LOG(kWarning, "grants left out: they do not fit the policy: %s", which);
  }
  auto engine = policy::Engine::Compile(effective.policy(), generation,
                                        effective.grant_rules);
  if (!engine.ok()) return engine.status();
  if (check) {
    if (absl::Status st = check(**engine); !st.ok()) return st;
  }
  // Each file carries the generation of its last change, so a restart
  // goes on from the larger: a grant change does not rewrite the policy
  // (megabytes for a large one).
  absl::Status stored = absl::OkStatus();
  if (grants_changed) {
    grants.set_generation(generation);
    stored = state_->ReplaceFile(kGrantsFile, policy::MessageToText(grants),
                                 /*durable=*/true);
  }
  if (stored.ok() && persist_policy) stored = Persist(policy);
  if (!stored.ok()) {
    if (!persist_best_effort) return stored;
    SFS_LOG_EVERY_SEC(kWarning, "in force, but not stored yet: %s", stored.message());
  }
  auto hits = policy::RuleHits::For(effective.policy(), generation, hits_.get(), now);
  // Counters first: a decision of the new engine then always finds its own.
  std::atomic_store(&hits_, std::move(hits));
  std::atomic_store(&engine_, *std::move(engine));
  if (grants_changed) shadow_.Regrant(grants, now);
  policy_ = std::move(policy);
  grants_ = std::move(grants);
  return generation;
}

absl::Status PolicyStore::Persist(const v1::Policy& policy) {
  return state_->ReplaceFile(kPolicyFile, policy::PolicyToText(policy),
                             /*durable=*/true);
}

absl::StatusOr<uint64_t> PolicyStore::Apply(const v1::Policy& policy,
                                            uint64_t expected_generation,
                                            const Check& check) {
  uint64_t generation;
  {
    absl::MutexLock lock(&apply_mu_);
    const uint64_t running = engine_->generation();
    if (expected_generation != 0 && expected_generation != running) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the policy or the grants changed since generation ",
          expected_generation, " (now ", running, "): fetch it again and retry"));
    }
    // With grants in front, the compile's errors would name shifted rule
    // indices: the admin's own policy first, then (without grants the
    // compile validates it as given: no second pass over a large policy).
    if (grants_.grants_size() > 0) {
      if (auto errors = policy::ValidatePolicy(policy); !errors.empty()) {
        return absl::InvalidArgumentError(policy::FormatPolicyErrors(errors));
      }
    }
    auto installed = Install(policy, grants_, /*grants_changed=*/false, check,
                             /*refuse_unfit_grants=*/true, running + 1,
                             /*persist_policy=*/true);
    if (!installed.ok()) return installed.status();
    generation = *installed;
  }
  SFS_LOG(kInfo, "policy generation %d applied", generation);
  RunCallbacks();
  return generation;
}

absl::StatusOr<v1::Grant> PolicyStore::AddGrant(v1::Grant grant,
                                                uint64_t duration_seconds,
                                                int64_t now_unix_nanos,
                                                uint64_t* generation) {
  {
    absl::MutexLock lock(&apply_mu_);
    if (absl::Status st = policy::CheckGrant(grant, policy_); !st.ok()) return st;
    v1::GrantList grants = grants_;
    const uint64_t number = std::max<uint64_t>(grants.next_id(), 1);
    grant.set_id(absl::StrCat("g", number));
    grants.set_next_id(number + 1);
    grant.set_created_unix_nanos(now_unix_nanos);
    auto expires = ExpiryAfter(now_unix_nanos, duration_seconds);
    if (!expires.ok()) return expires.status();
    grant.set_expires_unix_nanos(*expires);
    *grants.add_grants() = grant;
    auto installed = Install(policy_, std::move(grants), /*grants_changed=*/true,
                             nullptr, /*refuse_unfit_grants=*/true,
                             engine_->generation() + 1, /*persist_policy=*/false);
    if (!installed.ok()) return installed.status();
    *generation = *installed;
  }
  SFS_LOG(kInfo, "grant %s added: generation %d", grant.id(), *generation);
  RunCallbacks();
  return grant;
}

absl::StatusOr<v1::Grant> PolicyStore::RevokeGrant(const std::string& id,
                                                   uint64_t* generation,
                                                   const Check& check) {
  v1::Grant removed;
  {
    absl::MutexLock lock(&apply_mu_);
    v1::GrantList grants = grants_;
    auto* list = grants.mutable_grants();
    auto it = std::find_if(list->begin(), list->end(),
                           [&](const v1::Grant& g) { return g.id() == id; });
    if (it == list->end()) {
      return absl::NotFoundError(absl::StrCat("no grant '", id, "'"));
    }
    removed = *it;
    list->erase(it);
    auto installed = Install(policy_, std::move(grants), /*grants_changed=*/true,
                             check, /*refuse_unfit_grants=*/false,
                             engine_->generation() + 1, /*persist_policy=*/false);
    if (!installed.ok()) return installed.status();
    *generation = *installed;
  }
  SFS_LOG(kInfo, "grant %s revoked: generation %d", id, *generation);
  RunCallbacks();
  return removed;
}

std::vector<v1::Grant> PolicyStore::ExpireGrants(int64_t now_unix_nanos,
                                                 const Check& check) {
  std::vector<v1::Grant> expired;
  uint64_t generation = 0;
  {
    absl::MutexLock lock(&apply_mu_);
    v1::GrantList grants = grants_;
    auto* list = grants.mutable_grants();
    for (auto it = list->begin(); it != list->end();) {
      if (it->expires_unix_nanos() != 0 && it->expires_unix_nanos() <= now_unix_nanos) {
        expired.push_back(*it);
        it = list->erase(it);
      } else {
        ++it;
      }
    }
    if (expired.empty()) return expired;
    // Taken out of force even when the files cannot be written now (a full
    // disk): stored grants that expired are never in force at a start
    // either, so the stale file gives nothing back.
    auto installed = Install(policy_, std::move(grants), /*grants_changed=*/true,
                             check, /*refuse_unfit_grants=*/false,
                             engine_->generation() + 1, /*persist_policy=*/false,
                             /*persist_best_effort=*/true);
    if (!installed.ok()) {
      SFS_LOG_EVERY_SEC(kWarning, "cannot end expired grants: %s",
                        installed.status().message());
      return {};
    }
    generation = *installed;
  }
  SFS_LOG(kInfo, "%d grants expired: generation %d", expired.size(), generation);
  RunCallbacks();
  return expired;
}

int64_t PolicyStore::NextGrantExpiry() const {
  absl::MutexLock lock(&apply_mu_);
  int64_t next = 0;
  for (const v1::Grant& g : grants_.grants()) {
    const int64_t e = g.expires_unix_nanos();
    if (e != 0 && (next == 0 || e < next)) next = e;
  }
  return next;
}

void PolicyStore::RunCallbacks() {
  std::vector<std::function<void()>> callbacks;
  {
    absl::MutexLock lock(&apply_mu_);
    callbacks = callbacks_;
  }
  for (const auto& cb : callbacks) cb();
}

void PolicyStore::OnChange(std::function<void()> callback) {
  absl::MutexLock lock(&apply_mu_);
  callbacks_.push_back(std::move(callback));
}

}  // namespace scopedfs
