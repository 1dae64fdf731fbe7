#include "textflag.h"

// func cpuPause()
TEXT ·cpuPause(SB), NOSPLIT|NOFRAME, $0-0
	YIELD
	RET

// func loadFence()
TEXT ·loadFence(SB), NOSPLIT|NOFRAME, $0-0
	DMB $0x9 // ISHLD
	RET

// func storeFence()
TEXT ·storeFence(SB), NOSPLIT|NOFRAME, $0-0
	DMB $0xb // ISH
	RET
