// blobcli: inspects and changes a blob store on a bdev, for people debugging one (like SPDK's
// blobcli). One command per run: blobcli COMMAND DEV [ARGUMENTS] [--flags]; see kCommands below or
// run with --help.
//
// Contract: DEV is a bdev spec (bdev/spec.h) or a plain path, taken as uring:PATH. IDs, offsets,
// lengths and cluster counts are decimal (k/M/G/T suffixes allowed) or 0x hex. Exit status 0 on
// success; 1 when the command failed (the Error is printed as "blobcli: ENOENT: ..."); 2 for bad
// usage — an unknown command, missing or extra arguments, an argument that is not a number, a
// flag with a bad value or one the command does not take — named in the message. Results go to
// stdout, problems and notes to stderr. What each command does is blobcli_commands.h's and
// blobcli_dump.h's.
#include <algorithm>
#include <charconv>
#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_format.h"
#include "blob/blob_store.h"
#include "common/error.h"
#include "common/string_util.h"
#include "common/units.h"
#include "gflags/gflags.h"
#include "glog/logging.h"
#include "tools/blobcli_commands.h"
#include "tools/blobcli_dump.h"
#include "tools/flag_syntax.h"

DEFINE_string(cluster_size, "1M",
              "init: bytes per cluster, a power of two from 4k to 1G (k/M/G suffixes allowed)");
DEFINE_uint64(md_pages, 0,
              "init: pages of the metadata region, each blob taking at least one (0 = one per "
              "cluster of the device, at least 64)");
DEFINE_string(bstype, "",
              "init: the store's label (at most 16 bytes); other store commands: refuse a store "
              "with another label");
DEFINE_bool(no_trim, false, "init: do not unmap the data area");
DEFINE_uint64(clusters, 0, "create: the blob's size in clusters");
DEFINE_bool(thin, false, "create: thin provisioning (clusters are allocated at their first write)");
DEFINE_bool(internal, false,
            "set-xattr, get-xattr, remove-xattr: the internal attributes (those of the layer "
            "above, which list marks) instead of the user's");
DEFINE_bool(grow, false, "write: resize the blob first when the data runs past its end");
DEFINE_bool(no_unload, false,
            "commands that change the store: skip the clean unload at the end, leaving the store "
            "dirty as a crash would (to test recovery)");
// --xattr=NAME=VALUE (create; repeatable) is taken off the command line before gflags sees it,
// since a gflags flag keeps only its last value.

namespace blobfs {
namespace {

constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;
constexpr std::string_view kXattrFlag = "xattr";

// A command line, checked: the positional arguments by their names in Command::arguments, and the
// flag values that needed parsing.
struct Invocation {
  std::map<std::string_view, std::string> text;
  std::map<std::string_view, uint64_t> numbers;
  uint32_t cluster_size = 0;
  std::map<std::string, std::string> xattrs;

  StoreTarget Target() const {
    return {.device = text.at("DEV"), .bstype = FLAGS_bstype, .unload = !FLAGS_no_unload};
  }
  uint64_t Id() const { return numbers.at("ID"); }
};

struct Command {
  std::string_view name;
  // The positional arguments after the name; ID, OFFSET, LENGTH and CLUSTERS are numbers.
  std::string_view arguments;
  std::vector<std::string_view> flags;
  std::string_view summary;
  Status (*run)(const Invocation&);
};

XattrKind KindFromFlag() { return FLAGS_internal ? XattrKind::kInternal : XattrKind::kUser; }

const std::vector<Command> kCommands = {
    {"init", "DEV", {"cluster_size", "md_pages", "bstype", "no_trim", "no_unload"},
     "format DEV as an empty blob store",
     [](const Invocation& in) {
       return InitCommand(in.Target(), {.cluster_size = in.cluster_size,
                                        .md_pages = FLAGS_md_pages,
                                        .trim = !FLAGS_no_trim});
     }},
    {"list", "DEV", {"bstype"}, "every blob: size, allocation, flags, xattrs",
     [](const Invocation& in) { return ListCommand(in.Target()); }},
    {"stats", "DEV", {"bstype"}, "the store's statistics and super block summary",
     [](const Invocation& in) { return StatsCommand(in.Target()); }},
    {"dump-super", "DEV", {}, "every super block field, read raw (no load)",
     [](const Invocation& in) { return DumpSuperCommand(in.text.at("DEV")); }},
    {"dump-blob", "DEV ID", {}, "the blob's metadata pages and descriptors, read raw (no load)",
     [](const Invocation& in) { return DumpBlobCommand(in.text.at("DEV"), in.Id()); }},
    {"create", "DEV", {"clusters", "thin", kXattrFlag, "bstype", "no_unload"},
     "create a blob and print its id",
     [](const Invocation& in) {
       return CreateCommand(in.Target(), {.num_clusters = FLAGS_clusters,
                                          .thin = FLAGS_thin,
                                          .xattrs = in.xattrs});
     }},
    {"delete", "DEV ID", {"bstype", "no_unload"}, "delete a blob",
     [](const Invocation& in) { return DeleteCommand(in.Target(), in.Id()); }},
    {"resize", "DEV ID CLUSTERS", {"bstype", "no_unload"}, "resize a blob",
     [](const Invocation& in) {
       return ResizeCommand(in.Target(), in.Id(), in.numbers.at("CLUSTERS"));
     }},
    {"set-xattr", "DEV ID NAME VALUE", {"internal", "bstype", "no_unload"}, "set an xattr",
     [](const Invocation& in) {
       return SetXattrCommand(in.Target(), in.Id(), KindFromFlag(), in.text.at("NAME"),
                              in.text.at("VALUE"));
     }},
    {"get-xattr", "DEV ID NAME", {"internal", "bstype"}, "print an xattr's value (escaped)",
     [](const Invocation& in) {
       return GetXattrCommand(in.Target(), in.Id(), KindFromFlag(), in.text.at("NAME"));
     }},
    {"remove-xattr", "DEV ID NAME", {"internal", "bstype", "no_unload"}, "remove an xattr",
     [](const Invocation& in) {
       return RemoveXattrCommand(in.Target(), in.Id(), KindFromFlag(), in.text.at("NAME"));
     }},
    {"write", "DEV ID OFFSET FILE", {"grow", "bstype", "no_unload"},
     "write FILE at OFFSET (io-unit aligned; the tail is zero-padded)",
     [](const Invocation& in) {
       return WriteCommand(in.Target(), in.Id(), in.numbers.at("OFFSET"), in.text.at("FILE"),
                           FLAGS_grow);
     }},
    {"read", "DEV ID OFFSET LENGTH FILE", {"bstype"},
     "copy LENGTH bytes at OFFSET into FILE (LENGTH 0: to the blob's end)",
     [](const Invocation& in) {
       return ReadCommand(in.Target(), in.Id(), in.numbers.at("OFFSET"), in.numbers.at("LENGTH"),
                          in.text.at("FILE"));
     }},
};

// The gflags flags of blobcli: each is refused by the commands that do not list it.
constexpr std::string_view kGflagsFlags[] = {"cluster_size", "md_pages", "bstype",
                                             "no_trim",      "clusters", "thin",
                                             "internal",     "grow",     "no_unload"};

std::string CommandLineOf(const Command& command) {
  std::string line = absl::StrFormat("%s %s", command.name, command.arguments);
  for (std::string_view flag : command.flags) {
    absl::StrAppendFormat(&line, " [--%s%s]", flag, flag == kXattrFlag ? "=NAME=VALUE ..." : "");
  }
  return line;
}

std::string UsageText() {
  std::string text =
      "inspects and changes a blob store on a bdev.\n"
      "usage: blobcli COMMAND DEV [ARGUMENTS] [--flags]\n"
      "DEV is a bdev spec (uring:PATH[,size=SIZE], malloc:SIZE, error:SPEC) or a path "
      "(uring:PATH).\n"
      "ID, OFFSET, LENGTH and CLUSTERS are decimal (k/M/G/T suffixes allowed) or 0x hex.\n"
      "commands:\n";
  for (const Command& command : kCommands) {
    absl::StrAppendFormat(&text, "  %s\n      %s\n", CommandLineOf(command), command.summary);
  }
  return text;
}

Error UsageError(std::string message) { return Error(EINVAL, std::move(message)); }

// Decimal with an optional k/M/G/T suffix, or 0x hex.
Result<uint64_t> ParseNumber(std::string_view name, std::string_view text) {
  std::optional<uint64_t> number;
  if (text.starts_with("0x") || text.starts_with("0X")) {
    const std::string_view digits = text.substr(2);
    uint64_t value = 0;
    auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value, 16);
    if (error == std::errc() && end == digits.data() + digits.size() && !digits.empty()) {
      number = value;
    }
  } else if (Result<uint64_t> size = ParseSize(text); size.ok()) {
    number = *size;
  }
  if (!number.has_value()) {
    return UsageError(absl::StrFormat(
        "%s '%s' is not a number (decimal, with an optional k/M/G/T suffix, or 0x hex)", name,
        text));
  }
  return *number;
}

// Takes every --xattr=NAME=VALUE or --xattr NAME=VALUE (one dash or two) off the command line,
// up to a "--", and returns the NAME=VALUE texts.
Result<std::vector<std::string>> TakeXattrFlags(int& argc, char** argv) {
  std::vector<std::string> values;
  int kept = 1;
  int i = 1;
  for (; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--") break;
    if (arg.starts_with("--")) {
      arg.remove_prefix(2);
    } else if (arg.starts_with("-")) {
      arg.remove_prefix(1);
    } else {
      argv[kept++] = argv[i];
      continue;
    }
    if (arg == kXattrFlag) {
      if (++i == argc) return UsageError("--xattr needs a value, NAME=VALUE");
      values.emplace_back(argv[i]);
    } else if (arg.starts_with(kXattrFlag) && arg.substr(kXattrFlag.size()).starts_with("=")) {
      values.emplace_back(arg.substr(kXattrFlag.size() + 1));
    } else {
      argv[kept++] = argv[i];
    }
  }
  while (i < argc) argv[kept++] = argv[i++];
  argc = kept;
  return values;
}

Result<const Command*> FindCommand(std::string_view name) {
  for (const Command& command : kCommands) {
    if (command.name == name) return &command;
  }
  return UsageError(absl::StrFormat("unknown command '%s' (see --help)", name));
}

// Checks the command's arguments and flags and parses them into an Invocation.
Result<Invocation> Parse(const Command& command, const std::vector<std::string_view>& arguments,
                         const std::vector<std::string>& xattr_flags) {
  for (std::string_view flag : kGflagsFlags) {
    const bool set = !gflags::GetCommandLineFlagInfoOrDie(std::string(flag).c_str()).is_default;
    if (set && std::find(command.flags.begin(), command.flags.end(), flag) == command.flags.end()) {
      return UsageError(absl::StrFormat("%s does not take --%s", command.name, flag));
    }
  }
  const std::vector<std::string_view> names = SplitString(command.arguments, ' ');
  if (arguments.size() != names.size()) {
    return UsageError(absl::StrFormat("%s takes %s, got %d argument%s (usage: blobcli %s)",
                                      command.name, command.arguments, arguments.size(),
                                      arguments.size() == 1 ? "" : "s", CommandLineOf(command)));
  }
  Invocation in;
  for (size_t i = 0; i < names.size(); ++i) {
    const std::string_view name = names[i];
    if (name == "ID" || name == "OFFSET" || name == "LENGTH" || name == "CLUSTERS") {
      ASSIGN_OR_RETURN(in.numbers[name], ParseNumber(name, arguments[i]));
    } else {
      in.text[name] = std::string(arguments[i]);
    }
  }
  Result<uint64_t> cluster_size = ParseSize(FLAGS_cluster_size);
  if (!cluster_size.ok() || *cluster_size > UINT32_MAX) {
    return UsageError(
        absl::StrFormat("--cluster_size '%s' is not a size in bytes below 4G (k/M/G suffixes "
                        "allowed)",
                        FLAGS_cluster_size));
  }
  in.cluster_size = static_cast<uint32_t>(*cluster_size);
  if (!xattr_flags.empty() &&
      std::find(command.flags.begin(), command.flags.end(), kXattrFlag) == command.flags.end()) {
    return UsageError(absl::StrFormat("%s does not take --xattr", command.name));
  }
  for (const std::string& flag : xattr_flags) {
    const std::vector<std::string_view> name_value = SplitString(flag, '=', 2);
    if (name_value.size() != 2) {
      return UsageError(absl::StrFormat("--xattr wants NAME=VALUE, got '%s'", flag));
    }
    if (!in.xattrs.emplace(name_value[0], name_value[1]).second) {
      return UsageError(absl::StrFormat("--xattr names '%s' twice", name_value[0]));
    }
  }
  return in;
}

int Run(const std::vector<std::string_view>& positional,
        const std::vector<std::string>& xattr_flags) {
  if (positional.empty()) {
    std::fprintf(stderr, "blobcli: missing command\n%s", UsageText().c_str());
    return kExitUsage;
  }
  Result<const Command*> command = FindCommand(positional[0]);
  if (!command.ok()) {
    std::fprintf(stderr, "blobcli: %s\n", command.error().message().c_str());
    return kExitUsage;
  }
  const std::vector<std::string_view> arguments(positional.begin() + 1, positional.end());
  Result<Invocation> invocation = Parse(**command, arguments, xattr_flags);
  if (!invocation.ok()) {
    std::fprintf(stderr, "blobcli: %s\n", invocation.error().message().c_str());
    return kExitUsage;
  }
  Status status = (*command)->run(*invocation);
  std::fflush(stdout);
  if (!status.ok()) {
    std::fprintf(stderr, "blobcli: %s\n", status.error().ToString().c_str());
    return kExitFailed;
  }
  return 0;
}

}  // namespace
}  // namespace blobfs

int main(int argc, char** argv) {
  FLAGS_logtostderr = true;  // the store's notes belong on stderr, not in /tmp log files
  gflags::SetUsageMessage(blobfs::UsageText());
  blobfs::Result<std::vector<std::string>> xattr_flags = blobfs::TakeXattrFlags(argc, argv);
  if (!xattr_flags.ok()) {
    std::fprintf(stderr, "blobcli: %s\n", xattr_flags.error().message().c_str());
    return blobfs::kExitUsage;
  }
  // gflags sees only what comes before a "--" (it would move what follows ahead of the other
  // positional arguments); the rest is positional as it stands (a VALUE may start with '-').
  int flag_argc = static_cast<int>(std::find(argv, argv + argc, std::string_view("--")) - argv);
  const std::vector<std::string_view> after_dashes(argv + std::min(flag_argc + 1, argc),
                                                   argv + argc);
  if (blobfs::Status syntax = blobfs::CheckFlagSyntax(flag_argc, argv); !syntax.ok()) {
    std::fprintf(stderr, "blobcli: %s\n", syntax.error().message().c_str());
    return blobfs::kExitUsage;
  }
  gflags::ParseCommandLineFlags(&flag_argc, &argv, /*remove_flags=*/true);
  google::InitGoogleLogging(argv[0]);
  std::vector<std::string_view> positional(argv + 1, argv + flag_argc);
  positional.insert(positional.end(), after_dashes.begin(), after_dashes.end());
  return blobfs::Run(positional, *xattr_flags);
}
