//go:build linux

package eventring

import "syscall"

type syscallStat = syscall.Stat_t
