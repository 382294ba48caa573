// CheckFlagSyntax: finds the command-line mistakes gflags would report by exiting with status 1
// (an unknown flag, a flag without its value, a value its type cannot hold), so that a tool can
// report them its own way — bdevperf exits 2 for every bad flag.
//
// Contract: call before gflags::ParseCommandLineFlags with the same argv. Returns EINVAL naming the
// first offending flag, or OK. Follows gflags' syntax: -flag and --flag, =value or the next
// argument as the value, --noflag for booleans, "--" ends the flags. Flag values are left as they
// were (trial assignments are undone); string values are not inspected, so --flagfile and friends
// take effect only in the real parse.
#ifndef BLOBFS_TOOLS_FLAG_SYNTAX_H_
#define BLOBFS_TOOLS_FLAG_SYNTAX_H_

#include "common/error.h"

namespace blobfs {

Status CheckFlagSyntax(int argc, char** argv);

// Rewrites each flag spelled with dashes (--cluster-size=4k) to gflags' underscores
// (--cluster_size=4k), in place; values, positional arguments and everything after "--" are left.
void AcceptDashedFlagNames(int argc, char** argv);

}  // namespace blobfs

#endif  // BLOBFS_TOOLS_FLAG_SYNTAX_H_
