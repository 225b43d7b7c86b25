// scopedctl's command table: the one description of every command, its flags
// and examples. `scopedctl --help` (the overview), `scopedctl COMMAND --help`
// (one command), the flags each command accepts, the bash completion script
// (`scopedctl completion bash`) and the man page (`scopedctl help --man`)
// are all generated from it.
#ifndef SCOPEDFS_TOOLS_HELP_H_
#define SCOPEDFS_TOOLS_HELP_H_

#include <set>
#include <string>
#include <vector>

namespace scopedfs::tools {

// What a flag's value or a command's argument is, for completion.
enum class ValueKind {
  kNone,    // A boolean flag / no argument.
  kText,    // Anything: no completion.
  kFile,    // A file name ("-": standard input).
  kDir,     // A directory name.
  kChoice,  // One of `choices`.
  kFilter,  // Audit filter terms (see FilterKeys()).
};

struct FlagDoc {
  std::string name;        // As shown: "expect-generation", "state_dir" (absl name: '-' -> '_').
  std::string short_name;  // "f" for -f, or empty.
  std::string value;       // Value placeholder, e.g. "N"; empty for a boolean flag.
  std::string help;        // One line.
  ValueKind kind = ValueKind::kNone;
  std::vector<std::string> choices;  // kChoice.
};

struct CommandDoc {
  std::string name;      // "policy apply", "status".
  std::string synopsis;  // After the name: "FILE [--expect-generation=N]".
  std::string summary;   // One line, for the overview.
  std::string description;  // Paragraphs, no indentation, lines <= 74 columns.
  std::vector<FlagDoc> flags;  // Besides the global flags.
  ValueKind args = ValueKind::kNone;  // Positional arguments after the name.
  std::vector<std::string> args_choices;  // args == kChoice.
  std::vector<std::string> examples;  // Full command lines, "  # comment" allowed.
  bool needs_daemon = true;  // false: completion, help.
};

// An audit filter key (KEY=VALUE terms of audit tail/query).
struct FilterKeyDoc {
  std::string key;
  std::string value;  // Placeholder.
  std::vector<std::string> choices;  // Enum values, if any.
};

// Every command, in the overview's order.
const std::vector<CommandDoc>& Commands();
// nullptr if there is no such command ("policy apply", "audit tail", ...).
const CommandDoc* FindCommand(const std::string& name);
// The first words of commands: "policy", "explain", ...; and whether `word`
// is a group of commands ("policy", "audit").
std::vector<std::string> CommandWords();
bool IsCommandGroup(const std::string& word);
// The second words of a group's commands: "get", "validate", ..., "shadow"
// (once, though "policy shadow report" and "policy shadow stop" exist too).
std::vector<std::string> GroupVerbs(const std::string& group);
// The words that make longer commands of a command: "report" and "stop" for
// "policy shadow"; none for most.
std::vector<std::string> SubVerbs(const std::string& command);
// "a, b or c".
std::string JoinOr(const std::vector<std::string>& words);

const std::vector<FlagDoc>& GlobalFlags();
const std::vector<FilterKeyDoc>& FilterKeys();

// absl names ("expect_generation") of the global flags / of a command's own.
std::set<std::string> GlobalFlagNames();
std::set<std::string> CommandFlagNames(const std::string& command);
// Every flag name of every command and the global ones.
bool IsKnownFlagName(const std::string& absl_name);
// Long absl name of a single-letter flag ("f" -> "follow"), else `name`.
std::string LongFlagName(const std::string& name);

// `scopedctl --help`.
std::string OverviewHelp();
// `scopedctl COMMAND --help` / `scopedctl help COMMAND`.
std::string CommandHelp(const CommandDoc& command);
// `scopedctl policy --help`: the group's commands, each in full.
std::string GroupHelp(const std::string& group);

// `scopedctl completion bash`.
std::string BashCompletionScript();

// `scopedctl help --man`: scopedctl(8) in roff (man(7) macros), for
// packaging/man/build.sh.
std::string ManPage();

}  // namespace scopedfs::tools

#endif  // SCOPEDFS_TOOLS_HELP_H_
