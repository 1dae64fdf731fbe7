// Minimal hermetic <sys/types.h> for linux/amd64 (LP64).
#pragma once
#include <stddef.h>
typedef long ssize_t;
typedef long off_t;
typedef int pid_t;
typedef unsigned int uid_t;
typedef unsigned int gid_t;
typedef unsigned int mode_t;
