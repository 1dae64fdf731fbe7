//go:build linux && amd64

package eventring

import "syscall"

type syscallStat = syscall.Stat_t
