// Path patterns of policy rules (internal to //policy; exposed for tests).
//
// Syntax (see Rule.paths in proto/scopedfs/v1/policy.proto):
//   - relative to the mount root, components separated by '/', no leading
//     '/', no empty, "." or ".." components;
//   - a trailing '/' makes a prefix pattern: "DCIM/" matches DCIM itself and
//     everything below it (it is the same as "DCIM/**");
//   - in a component: '*' any run of characters (also none), '?' one
//     character, [abc] [a-z] [!a-z] [^a-z] a character class (a ']' right after
//     '[' or '[!' is a literal), {app} the caller's app name, {user} its
//     Android user number; every other character is literal (no escapes: use
//     a class like [*] or [[] for a literal metacharacter). '*' matches dot
//     files too;
//   - a component that is exactly "**" matches zero or more components;
//     '**' anywhere else is an error;
//   - "" matches only the root directory itself.
#ifndef SCOPEDFS_POLICY_PATTERN_H_
#define SCOPEDFS_POLICY_PATTERN_H_

#include <bitset>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/strings/string_view.h"

namespace scopedfs::policy {

// A request path split into components.
using PathParts = absl::InlinedVector<absl::string_view, 24>;

// Splits a request path ("" is the root; no leading or trailing '/', no empty,
// "." or ".." components). Returns false for a malformed path.
bool SplitRequestPath(absl::string_view path, PathParts* parts);

// What the placeholders stand for, for one caller.
struct PatternContext {
  absl::string_view app;   // empty: not an identified app; {app} never matches
  absl::string_view user;  // decimal Android user number
};

class Pattern {
 public:
  // Compiles `text`. On error returns false and sets *error (e.g.
  // "unbalanced '['"); `out` is then unspecified.
  static bool Compile(absl::string_view text, Pattern* out, std::string* error);

  bool Matches(const PathParts& parts, const PatternContext& ctx) const {
    return MatchesFrom(parts, ctx, 0);
  }
  // The same, when the caller knows that the first `skip` components (at most
  // literal_prefix_size() of them) are equal to parts[0..skip).
  bool MatchesFrom(const PathParts& parts, const PatternContext& ctx, size_t skip) const;

  // Whether the pattern can match `parts` or any path below it, for some
  // caller (placeholders are assumed to match). Conservative: true if unsure.
  bool MayMatchAtOrBelow(const PathParts& parts) const;

  // Whether the pattern matches `parts` and every path below it, for every
  // caller. Conservative: false if unsure.
  bool MatchesAllAtOrBelow(const PathParts& parts) const;

  // Whether MatchesAllAtOrBelow can be true for some path.
  bool CanMatchAllBelow() const;

  // Whether the pattern can match some direct child of the directory `dir`
  // (`dir` plus one component), for some caller (placeholders are assumed to
  // match, and so is any component against the child's name).
  // Conservative: true if unsure.
  bool MayMatchChildOf(const PathParts& dir) const;

  // Whether the pattern matches every direct child of `dir`, whatever its
  // name, for every caller (no placeholder takes part; the child's component
  // is matched by "*" or "**"). Conservative: false if unsure.
  bool MatchesAllChildrenOf(const PathParts& dir) const;

  const std::string& text() const { return text_; }
  bool uses_app() const { return uses_app_; }
  bool uses_user() const { return uses_user_; }
  // The leading components that are plain literals (no metacharacters, no
  // placeholders): every path the pattern matches starts with them.
  size_t literal_prefix_size() const { return literal_prefix_; }
  absl::string_view component_literal(size_t i) const { return comps_[i].literal; }

 private:
  struct Atom {
    enum Kind : uint8_t { kChar, kAny, kStar, kClass, kApp, kUser };
    Kind kind;
    char c = 0;
    uint16_t cls = 0;  // index into classes_
  };
  struct Component {
    enum Kind : uint8_t { kLiteral, kGlob, kDoubleStar };
    Kind kind = kLiteral;
    bool has_placeholder = false;
    std::string literal;      // kLiteral
    std::vector<Atom> atoms;  // kGlob
  };

  bool MatchComponent(const Component& comp, absl::string_view name,
                      const PatternContext& ctx) const;
  // The "**"-aware alignment of components to `np` path components (both
  // from index `skip`), with `pred(component, part_index)` deciding each
  // single component: MatchesFrom, and the child queries with their own
  // per-component relations.
  template <typename Pred>
  bool MatchWith(size_t np, size_t skip, Pred pred) const;
  bool MatchAtoms(const std::vector<Atom>& atoms, absl::string_view name,
                  const PatternContext& ctx) const;

  std::string text_;
  std::vector<Component> comps_;
  std::vector<std::bitset<256>> classes_;
  bool uses_app_ = false;
  bool uses_user_ = false;
  size_t literal_prefix_ = 0;
};

}  // namespace scopedfs::policy

#endif  // SCOPEDFS_POLICY_PATTERN_H_
