//go:build amd64 && !race

#include "go_asm.h"
#include "textflag.h"

// func readBatchSSE2(descs unsafe.Pointer, mask, last uint64, dst *Descriptor, n int) (k int, seq uint64, torn bool)
//
// Per event: load the slot's seqno; if it is not last+1, stop (seq is what
// it held); copy the 64 bytes; load the seqno again (x86-64 never reorders
// loads with loads, so it is read after the copy): if it changed, the
// copy may be torn: stop (torn). A descriptor is 64 bytes (the ABI's;
// hence the shift by 6), four SSE2 moves each way.
TEXT ·readBatchSSE2(SB), NOSPLIT, $0-57
	MOVQ descs+0(FP), R8
	MOVQ mask+8(FP), R9
	MOVQ last+16(FP), AX
	MOVQ dst+24(FP), DI
	MOVQ n+32(FP), CX

loop:
	MOVQ AX, SI
	ANDQ R9, SI
	SHLQ $6, SI
	ADDQ R8, SI          // the slot of event last+1
	INCQ AX              // want
	MOVQ Descriptor_Seqno(SI), BX
	CMPQ BX, AX
	JNE  stop
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
	JNZ  loop
	MOVQ n+32(FP), AX
	MOVQ AX, k+40(FP)
	MOVQ $0, seq+48(FP)
	MOVB $0, torn+56(FP)
	RET

stop:
	MOVQ n+32(FP), AX
	SUBQ CX, AX
	MOVQ AX, k+40(FP)
	MOVQ BX, seq+48(FP)
	MOVB $0, torn+56(FP)
	RET

torn:
	MOVQ n+32(FP), AX
	SUBQ CX, AX
	MOVQ AX, k+40(FP)
	MOVQ $0, seq+48(FP)
	MOVB $1, torn+56(FP)
	RET

// func readBatchAVX2(descs unsafe.Pointer, mask, last uint64, dst *Descriptor, n int) (k int, seq uint64, torn bool)
//
// readBatch with two 32-byte AVX2 moves each way per descriptor.
TEXT ·readBatchAVX2(SB), NOSPLIT, $0-57
	MOVQ descs+0(FP), R8
	MOVQ mask+8(FP), R9
	MOVQ last+16(FP), AX
	MOVQ dst+24(FP), DI
	MOVQ n+32(FP), CX

loop:
	MOVQ AX, SI
	ANDQ R9, SI
	SHLQ $6, SI
	ADDQ R8, SI          // the slot of event last+1
	INCQ AX              // want
	MOVQ Descriptor_Seqno(SI), BX
	CMPQ BX, AX
	JNE  stop
	VMOVDQU 0(SI), Y0
	VMOVDQU 32(SI), Y1
	VMOVDQU Y0, 0(DI)
	VMOVDQU Y1, 32(DI)
	CMPQ Descriptor_Seqno(SI), BX
	JNE  torn
	ADDQ $Descriptor__size, DI
	DECQ CX
	JNZ  loop
	MOVQ n+32(FP), AX
	MOVQ AX, k+40(FP)
	MOVQ $0, seq+48(FP)
	MOVB $0, torn+56(FP)
	VZEROUPPER
	RET

stop:
	MOVQ n+32(FP), AX
	SUBQ CX, AX
	MOVQ AX, k+40(FP)
	MOVQ BX, seq+48(FP)
	MOVB $0, torn+56(FP)
	VZEROUPPER
	RET

torn:
	MOVQ n+32(FP), AX
	SUBQ CX, AX
	MOVQ AX, k+40(FP)
	MOVQ $0, seq+48(FP)
	MOVB $1, torn+56(FP)
	VZEROUPPER
	RET
