#include "textflag.h"

// func cpuPause()
TEXT ·cpuPause(SB), NOSPLIT|NOFRAME, $0-0
	PAUSE
	RET

// func storeRelease(addr *uint64, v uint64)
// A plain MOV: on x86-64 (TSO) every store has release semantics, which is
// exactly what the C recorder's atomic_store_explicit(..., release)
// compiles to. sync/atomic.StoreUint64 is sequentially consistent (XCHG)
// and stalls the writer until it owns the cache line a spinning reader
// keeps stealing.
TEXT ·storeRelease(SB), NOSPLIT|NOFRAME, $0-16
	MOVQ addr+0(FP), AX
	MOVQ v+8(FP), BX
	MOVQ BX, 0(AX)
	RET
