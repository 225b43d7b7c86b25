#include "tools/rule_commands.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "tools/output.h"

namespace scopedfs::tools {
namespace {

uint64_t Total(const v1::RuleHits& h) {
  return h.allowed() + h.redacted() + h.denied() + h.hidden();
}

void AddRow(const OutputOptions& out, const v1::RuleHits& h, bool default_action, Table* table) {
  std::vector<std::string> notes;
  if (h.grant()) notes.push_back("grant");
  if (Total(h) == 0) {
    // Counting starts when the rule (this id with this body) was applied:
    // "never" is only as strong as that is old.
    notes.push_back(Paint(out.color,
                          h.since_unix_nanos() == 0
                              ? "never matched"
                              : "never matched since " + FormatUnixNanos(h.since_unix_nanos()),
                          Color::kYellow));
  }
  const std::string id = default_action ? "(default)" : (h.rule_id().empty() ? "-" : h.rule_id());
  std::vector<std::string> row = {
      id, ActionWord(out, h.action()), absl::StrCat(h.allowed()), absl::StrCat(h.redacted()),
      absl::StrCat(h.denied()), absl::StrCat(h.hidden()),
      h.last_hit_unix_nanos() == 0 ? "never" : FormatUnixNanos(h.last_hit_unix_nanos())};
  // No empty last cell: it would leave the row with trailing blanks.
  if (!notes.empty()) row.push_back(absl::StrJoin(notes, "; "));
  table->AddRow(std::move(row));
}

}  // namespace

std::string RenderRuleHits(const OutputOptions& out, const v1::GetRuleHitsResponse& hits) {
  Table table({false, false, true, true, true, true, false, false});
  table.AddRow(
      {"RULE", "ACTION", "ALLOWED", "REDACTED", "DENIED", "HIDDEN", "LAST HIT", "NOTE"});
  for (const v1::RuleHits& h : hits.rules()) AddRow(out, h, h.rule_index() < 0, &table);
  if (hits.has_default_action()) AddRow(out, hits.default_action(), true, &table);
  return absl::StrCat("generation ", hits.generation(), "\n", table.Render());
}

int PolicyRules(AdminClient& client, const OutputOptions& out) {
  v1::GetRuleHitsResponse response;
  if (grpc::Status st = client.GetRuleHits(&response); !st.ok()) {
    return Fail(client.Describe(st, "GetRuleHits"));
  }
  for (v1::RuleHits& h : *response.mutable_rules()) h.set_rule_id(Safe(h.rule_id()));
  if (response.has_default_action()) {
    response.mutable_default_action()->set_rule_id(Safe(response.default_action().rule_id()));
  }
  if (out.json) {
    Print(ToJson(response) + "\n");
    return kExitOk;
  }
  Print(RenderRuleHits(out, response));
  return kExitOk;
}

}  // namespace scopedfs::tools
