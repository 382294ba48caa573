// CheckFlagSyntax (see flag_syntax.h).
#include "tools/flag_syntax.h"

#include <cerrno>
#include <string>
#include <string_view>

#include "gflags/gflags.h"

namespace blobfs {

Status CheckFlagSyntax(int argc, char** argv) {
  gflags::FlagSaver saver;  // undoes the trial assignments below
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--") break;
    if (arg.size() < 2 || arg[0] != '-') continue;  // a positional argument
    arg.remove_prefix(arg[1] == '-' ? 2 : 1);
    const size_t equals = arg.find('=');
    const std::string name(arg.substr(0, equals));
    gflags::CommandLineFlagInfo info;
    if (!gflags::GetCommandLineFlagInfo(name.c_str(), &info)) {
      const bool negated_bool = name.starts_with("no") && equals == std::string_view::npos &&
                                gflags::GetCommandLineFlagInfo(name.c_str() + 2, &info) &&
                                info.type == "bool";
      if (negated_bool) continue;
      return MakeError(EINVAL, "unknown flag --%s (see --help)", name);
    }
    std::string value;
    if (equals != std::string_view::npos) {
      value = std::string(arg.substr(equals + 1));
    } else if (info.type == "bool") {
      continue;
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      return MakeError(EINVAL, "--%s needs a value", name);
    }
    // A trial assignment parses the value as gflags will; strings accept anything.
    const bool parses =
        info.type == "string" || !gflags::SetCommandLineOption(name.c_str(), value.c_str()).empty();
    if (!parses) return MakeError(EINVAL, "--%s: '%s' is not a valid %s", name, value, info.type);
  }
  return OkStatus();
}

void AcceptDashedFlagNames(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    char* arg = argv[i];
    if (std::string_view(arg) == "--") break;
    if (arg[0] != '-') continue;
    char* name = arg + (arg[1] == '-' ? 2 : 1);
    for (char* c = name; *c != '\0' && *c != '='; ++c) {
      if (*c == '-') *c = '_';
    }
  }
}

}  // namespace blobfs
