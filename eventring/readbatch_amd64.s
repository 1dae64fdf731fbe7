//go:build amd64 && !race

#include "go_asm.h"
#include "textflag.h"

// func readBatchAsm(descs unsafe.Pointer, mask, last uint64, dst *Descriptor, n int) (k int, seq uint64, torn bool)
//
// Per event: load the slot's seqno; if it is not last+1, stop (seq is what
// it held); copy the 64 bytes; load the seqno again (x86-64 never reorders
// loads with loads, so it is read after the copy): if it changed, the copy
// may be torn: stop (torn). A descriptor is 64 bytes (the ABI's; hence the
// shift by 6): two AVX2 moves each way where the CPU has AVX2 (useAVX2),
// else four SSE2 moves. The two loops share their exits; the AVX2 one
// clears the upper halves of the Y registers before it leaves (VZEROUPPER
// is an AVX instruction: the SSE2 loop must not run it).
TEXT ·readBatchAsm(SB), NOSPLIT, $0-57
	MOVQ descs+0(FP), R8
	MOVQ mask+8(FP), R9
	MOVQ last+16(FP), AX
	MOVQ dst+24(FP), DI
	MOVQ n+32(FP), CX
	XORL BX, BX
	MOVB $0, DX
	TESTQ CX, CX
	JEQ  exit
	CMPB ·useAVX2(SB), $0
	JNE  avx2

sse2:
	MOVQ AX, SI
	ANDQ R9, SI
	SHLQ $6, SI
	ADDQ R8, SI          // the slot of event last+1
	INCQ AX              // want
	MOVQ Descriptor_Seqno(SI), BX
	CMPQ BX, AX
	JNE  exit
	MOVOU 0(SI), X0
	MOVOU 16(SI), X1
	MOVOU 32(SI), X2
	MOVOU 48(SI), X3
	MOVOU X0, 0(DI)
	MOVOU X1, 16(DI)
	MOVOU X2, 32(DI)
	MOVOU X3, 48(DI)
	CMPQ Descriptor_Seqno(SI), BX
	JNE  torn
	ADDQ $Descriptor__size, DI
	DECQ CX
	JNZ  sse2
	JMP  exit

avx2:
	MOVQ AX, SI
	ANDQ R9, SI
	SHLQ $6, SI
	ADDQ R8, SI
	INCQ AX
	MOVQ Descriptor_Seqno(SI), BX
	CMPQ BX, AX
	JNE  avx2exit
	VMOVDQU 0(SI), Y0
	VMOVDQU 32(SI), Y1
	VMOVDQU Y0, 0(DI)
	VMOVDQU Y1, 32(DI)
	CMPQ Descriptor_Seqno(SI), BX
	JNE  avx2torn
	ADDQ $Descriptor__size, DI
	DECQ CX
	JNZ  avx2
	VZEROUPPER
	JMP  exit

avx2torn:
	VZEROUPPER

torn:
	XORL BX, BX
	MOVB $1, DX
	JMP  exit

avx2exit:
	VZEROUPPER

exit:
	// k = n - CX; seq = BX (what the slot held, at a stop; 0 otherwise
	// is not promised); torn = DX.
	MOVQ n+32(FP), AX
	SUBQ CX, AX
	MOVQ AX, k+40(FP)
	MOVQ BX, seq+48(FP)
	MOVB DX, torn+56(FP)
	RET
