package eventring

// cpuPause executes the x86 PAUSE spin-loop hint, as the C reader does
// between polls.
func cpuPause()
