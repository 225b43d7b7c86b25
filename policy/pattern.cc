#include "policy/pattern.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace scopedfs::policy {
namespace {

bool IsBadComponent(absl::string_view c) {
  return c.empty() || c == "." || c == "..";
}

}  // namespace

bool SplitRequestPath(absl::string_view path, PathParts* parts) {
  parts->clear();
  if (path.empty()) return true;
  size_t start = 0;
  while (true) {
    size_t slash = path.find('/', start);
    absl::string_view comp = path.substr(
        start, slash == absl::string_view::npos ? absl::string_view::npos : slash - start);
    if (IsBadComponent(comp)) return false;
    parts->push_back(comp);
    if (slash == absl::string_view::npos) return true;
    start = slash + 1;
  }
}

bool Pattern::Compile(absl::string_view text, Pattern* out, std::string* error) {
  *out = Pattern();
  out->text_ = std::string(text);
  if (text.empty()) return true;  // the root only
  if (text.find('\0') != absl::string_view::npos) {
    *error = "NUL character in pattern";
    return false;
  }
  if (text.front() == '/') {
    *error = "absolute path: patterns are relative to the mount root";
    return false;
  }
  bool prefix = false;
  if (text.back() == '/') {
    prefix = true;
    text.remove_suffix(1);
  }
  size_t start = 0;
  bool literal_run = true;
  while (true) {
    size_t slash = text.find('/', start);
    absl::string_view s = text.substr(
        start, slash == absl::string_view::npos ? absl::string_view::npos : slash - start);
    if (s.empty()) {
      *error = "empty path component";
      return false;
    }
    if (s == "." || s == "..") {
      *error = absl::StrCat("'", s, "' component");
      return false;
    }
    Component comp;
    if (s == "**") {
      comp.kind = Component::kDoubleStar;
    } else {
      bool meta = false;
      for (size_t i = 0; i < s.size(); ++i) {
        char ch = s[i];
        if (ch == '*') {
          if (i + 1 < s.size() && s[i + 1] == '*') {
            *error = "'**' must be a whole component";
            return false;
          }
          comp.atoms.push_back({Atom::kStar});
          meta = true;
        } else if (ch == '?') {
          comp.atoms.push_back({Atom::kAny});
          meta = true;
        } else if (ch == '[') {
          size_t j = i + 1;
          bool negate = false;
          if (j < s.size() && (s[j] == '!' || s[j] == '^')) {
            negate = true;
            ++j;
          }
          std::bitset<256> set;
          bool first = true;
          bool closed = false;
          while (j < s.size()) {
            unsigned char lo = static_cast<unsigned char>(s[j]);
            if (lo == ']' && !first) {
              closed = true;
              break;
            }
            first = false;
            if (j + 2 < s.size() && s[j + 1] == '-' && s[j + 2] != ']') {
              unsigned char hi = static_cast<unsigned char>(s[j + 2]);
              if (hi < lo) {
                *error = absl::StrCat("bad character range '", s.substr(j, 3), "'");
                return false;
              }
              for (unsigned v = lo; v <= hi; ++v) set.set(v);
              j += 3;
            } else {
              set.set(lo);
              ++j;
            }
          }
          if (!closed) {
            *error = "unbalanced '['";
            return false;
          }
          if (negate) set.flip();
          set.reset('/');
          set.reset(0);
          Atom a{Atom::kClass};
          a.cls = static_cast<uint16_t>(out->classes_.size());
          out->classes_.push_back(set);
          comp.atoms.push_back(a);
          meta = true;
          i = j;  // at the closing ']'
        } else if (ch == '{') {
          size_t close = s.find('}', i + 1);
          if (close == absl::string_view::npos) {
            *error = "unbalanced '{'";
            return false;
          }
          absl::string_view name = s.substr(i + 1, close - i - 1);
          if (name == "app") {
            comp.atoms.push_back({Atom::kApp});
            out->uses_app_ = true;
          } else if (name == "user") {
            comp.atoms.push_back({Atom::kUser});
            out->uses_user_ = true;
          } else {
            *error = absl::StrCat("unknown placeholder '{", name, "}'");
            return false;
          }
          comp.has_placeholder = true;
          meta = true;
          i = close;
        } else if (ch == '}') {
          *error = "unbalanced '}'";
          return false;
        } else {
          Atom a{Atom::kChar};
          a.c = ch;
          comp.atoms.push_back(a);
        }
      }
      if (meta) {
        comp.kind = Component::kGlob;
      } else {
        comp.kind = Component::kLiteral;
        comp.literal = std::string(s);
        comp.atoms.clear();
      }
    }
    if (literal_run && comp.kind == Component::kLiteral) {
      ++out->literal_prefix_;
    } else {
      literal_run = false;
    }
    out->comps_.push_back(std::move(comp));
    if (slash == absl::string_view::npos) break;
    start = slash + 1;
  }
  if (prefix) {
    Component ds;
    ds.kind = Component::kDoubleStar;
    out->comps_.push_back(std::move(ds));
  }
  return true;
}

// Glob matching with a single backtrack point (the last '*'): every other
// atom matches a fixed string at a given position, so moving the last star
// forward is enough (the classic wildcard algorithm).
bool Pattern::MatchAtoms(const std::vector<Atom>& atoms, absl::string_view name,
                         const PatternContext& ctx) const {
  const size_t n = atoms.size();
  size_t ai = 0, ni = 0;
  size_t star_ai = n, star_ni = 0;  // star_ai == n: no star seen yet
  while (true) {
    if (ai < n) {
      const Atom& a = atoms[ai];
      if (a.kind == Atom::kStar) {
        star_ai = ai++;
        star_ni = ni;
        continue;
      }
      size_t len = 0;
      bool ok = false;
      switch (a.kind) {
        case Atom::kChar:
          ok = ni < name.size() && name[ni] == a.c;
          len = 1;
          break;
        case Atom::kAny:
          ok = ni < name.size();
          len = 1;
          break;
        case Atom::kClass:
          ok = ni < name.size() &&
               classes_[a.cls].test(static_cast<unsigned char>(name[ni]));
          len = 1;
          break;
        case Atom::kApp:
        case Atom::kUser: {
          absl::string_view v = a.kind == Atom::kApp ? ctx.app : ctx.user;
          if (v.empty()) return false;  // no app: never matches
          ok = name.substr(ni, v.size()) == v;
          len = v.size();
          break;
        }
        case Atom::kStar:
          break;
      }
      if (ok) {
        ++ai;
        ni += len;
        continue;
      }
    } else if (ni == name.size()) {
      return true;
    }
    if (star_ai == n || star_ni >= name.size()) return false;
    ai = star_ai + 1;
    ni = ++star_ni;
  }
}

bool Pattern::MatchComponent(const Component& comp, absl::string_view name,
                             const PatternContext& ctx) const {
  if (comp.kind == Component::kLiteral) return comp.literal == name;
  return MatchAtoms(comp.atoms, name, ctx);
}

// The same algorithm one level up: "**" is the star, components the atoms.
bool Pattern::MatchesFrom(const PathParts& parts, const PatternContext& ctx,
                          size_t skip) const {
  if (uses_app_ && ctx.app.empty()) return false;
  return MatchWith(parts.size(), skip, [&](const Component& c, size_t pi) {
    return MatchComponent(c, parts[pi], ctx);
  });
}

bool Pattern::MayMatchAtOrBelow(const PathParts& parts) const {
  const PatternContext none;
  size_t ci = 0;
  for (size_t pi = 0; pi < parts.size(); ++pi, ++ci) {
    if (ci == comps_.size()) return false;  // the path is longer
    const Component& c = comps_[ci];
    if (c.kind == Component::kDoubleStar) return true;
    if (c.has_placeholder) continue;  // could be anything: assume a match
    if (!MatchComponent(c, parts[pi], none)) return false;
  }
  // The path is consumed: what is left matches the path itself (nothing
  // left) or some path below it (every component matches some name).
  return true;
}

bool Pattern::CanMatchAllBelow() const {
  if (comps_.empty() || comps_.back().kind != Component::kDoubleStar) return false;
  for (size_t i = 0; i + 1 < comps_.size(); ++i) {
    if (comps_[i].kind == Component::kDoubleStar || comps_[i].has_placeholder) return false;
  }
  return true;
}

bool Pattern::MatchesAllAtOrBelow(const PathParts& parts) const {
  if (comps_.empty() || comps_.back().kind != Component::kDoubleStar) return false;
  const size_t n = comps_.size() - 1;
  if (n > parts.size()) return false;
  const PatternContext none;
  for (size_t i = 0; i < n; ++i) {
    const Component& c = comps_[i];
    if (c.kind == Component::kDoubleStar || c.has_placeholder) return false;
    if (!MatchComponent(c, parts[i], none)) return false;
  }
  return true;
}

template <typename Pred>
bool Pattern::MatchWith(size_t np, size_t skip, Pred pred) const {
  const size_t nc = comps_.size();
  size_t ci = skip, pi = skip;
  size_t star_ci = nc, star_pi = 0;
  while (true) {
    if (ci < nc) {
      const Component& c = comps_[ci];
      if (c.kind == Component::kDoubleStar) {
        star_ci = ci++;
        star_pi = pi;
        continue;
      }
      if (pi < np && pred(c, pi)) {
        ++ci;
        ++pi;
        continue;
      }
    } else if (pi == np) {
      return true;
    }
    if (star_ci == nc || star_pi >= np) return false;
    ci = star_ci + 1;
    pi = ++star_pi;
  }
}

bool Pattern::MayMatchChildOf(const PathParts& dir) const {
  const PatternContext none;
  const size_t n = dir.size();
  // Over-approximates each component match: the alignment search itself is
  // exact for any per-component relation, so the result over-approximates.
  return MatchWith(n + 1, 0, [&](const Component& c, size_t pi) {
    if (pi == n || c.has_placeholder) return true;
    return MatchComponent(c, dir[pi], none);
  });
}

bool Pattern::MatchesAllChildrenOf(const PathParts& dir) const {
  if (uses_app_) return false;  // never matches a caller that is no app
  const PatternContext none;
  const size_t n = dir.size();
  // Under-approximates each component match: an alignment found holds for
  // every name and every caller.
  return MatchWith(n + 1, 0, [&](const Component& c, size_t pi) {
    if (c.has_placeholder) return false;
    if (pi == n) {
      if (c.kind != Component::kGlob) return false;
      for (const Atom& a : c.atoms)
        if (a.kind != Atom::kStar) return false;
      return true;
    }
    return MatchComponent(c, dir[pi], none);
  });
}

}  // namespace scopedfs::policy
