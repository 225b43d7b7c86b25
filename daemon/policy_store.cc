#include "daemon/policy_store.h"


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

absl::StatusOr<std::unique_ptr<PolicyStore>> PolicyStore::Load(
    StateDir* state, const LoadOptions& options) {
  auto initial = ReadInitial(state->path(), options);
  if (!initial.ok()) return initial.status();
  std::unique_ptr<PolicyStore> store(new PolicyStore(state));
  store->engine_ = initial->engine;
  if (initial->stored) {
    SFS_LOG(kInfo, "policy generation %d loaded from %s",
            store->engine_->generation(), initial->origin);
    return store;
  }
  if (auto st = store->Persist(store->engine_->policy()); !st.ok()) return st;
  SFS_LOG(kInfo, "policy generation 1 from %s", initial->origin);
  return store;
}

absl::Status PolicyStore::Persist(const v1::Policy& policy) {
  return state_->ReplaceFile(kPolicyFile, policy::PolicyToText(policy),
                             /*durable=*/true);
}

absl::StatusOr<uint64_t> PolicyStore::Apply(const v1::Policy& policy,
                                            uint64_t expected_generation) {
  std::vector<std::function<void()>> callbacks;
  uint64_t generation;
  {
    absl::MutexLock lock(&apply_mu_);
    const uint64_t running = engine_->generation();
    if (expected_generation != 0 && expected_generation != running) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the policy changed since generation ", expected_generation,
          " (now ", running, "): fetch it again and retry"));
    }
    generation = running + 1;
    v1::Policy stamped = policy;
    stamped.set_generation(generation);
    auto engine = policy::Engine::Compile(stamped, generation);
    if (!engine.ok()) return engine.status();
    if (auto st = Persist(stamped); !st.ok()) return st;
    std::atomic_store(&engine_, *std::move(engine));
    callbacks = callbacks_;
  }
  SFS_LOG(kInfo, "policy generation %d applied", generation);
  for (const auto& cb : callbacks) cb();
  return generation;
}

void PolicyStore::OnChange(std::function<void()> callback) {
  absl::MutexLock lock(&apply_mu_);
  callbacks_.push_back(std::move(callback));
}

}  // namespace scopedfs
