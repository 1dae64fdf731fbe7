//go:build amd64 && !race

#include "textflag.h"

// func copyRun(base, payload unsafe.Pointer, maskP uint64, descs *Descriptor, offs *int, i, n int) int
//
// For i up to n: copies the payload of descs[i] (PayloadSize bytes at
// payload + PayloadBufOffset&maskP) to base + offs[i]. It stops at the
// first payload larger than runMaxInline bytes and returns its index (n
// when done): the caller copies that one with memmove and calls again.
// Source and destination never overlap. Sizes up to 64 bytes take two
// overlapping loads and stores of 8, 16 or 32 bytes; larger ones a loop of
// 64-byte blocks and one overlapping 64-byte tail. SSE2 only (GOAMD64=v1).
// R14 and X15, fixed in Go's internal ABI, are left alone.
TEXT ·copyRun(SB), NOSPLIT, $0-64
	MOVQ base+0(FP), R8
	MOVQ payload+8(FP), R9
	MOVQ maskP+16(FP), R10
	MOVQ descs+24(FP), R11
	MOVQ offs+32(FP), R12
	MOVQ i+40(FP), R13
	MOVQ n+48(FP), BX

loop:
	CMPQ R13, BX
	JGE  done
	MOVQ R13, AX
	SHLQ $6, AX
	ADDQ R11, AX
	MOVLQZX 12(AX), CX // PayloadSize
	MOVQ 24(AX), SI    // PayloadBufOffset
	ANDQ R10, SI
	ADDQ R9, SI
	MOVQ (R12)(R13*8), DI
	ADDQ R8, DI
	CMPQ CX, $16
	JBE  le16
	CMPQ CX, $32
	JBE  le32
	CMPQ CX, $64
	JBE  le64
	CMPQ CX, $2048
	JA   done

	// 65..2048 bytes: the last 64 bytes first, then 64-byte blocks from
	// the start while more than 64 bytes remain.
	MOVOU -64(SI)(CX*1), X4
	MOVOU -48(SI)(CX*1), X5
	MOVOU -32(SI)(CX*1), X6
	MOVOU -16(SI)(CX*1), X7
	MOVOU X4, -64(DI)(CX*1)
	MOVOU X5, -48(DI)(CX*1)
	MOVOU X6, -32(DI)(CX*1)
	MOVOU X7, -16(DI)(CX*1)

block:
	MOVOU 0(SI), X0
	MOVOU 16(SI), X1
	MOVOU 32(SI), X2
	MOVOU 48(SI), X3
	MOVOU X0, 0(DI)
	MOVOU X1, 16(DI)
	MOVOU X2, 32(DI)
	MOVOU X3, 48(DI)
	ADDQ  $64, SI
	ADDQ  $64, DI
	SUBQ  $64, CX
	CMPQ  CX, $64
	JA    block
	JMP   next

le64: // 33..64
	MOVOU 0(SI), X0
	MOVOU 16(SI), X1
	MOVOU -32(SI)(CX*1), X2
	MOVOU -16(SI)(CX*1), X3
	MOVOU X0, 0(DI)
	MOVOU X1, 16(DI)
	MOVOU X2, -32(DI)(CX*1)
	MOVOU X3, -16(DI)(CX*1)
	JMP   next

le32: // 17..32
	MOVOU 0(SI), X0
	MOVOU -16(SI)(CX*1), X1
	MOVOU X0, 0(DI)
	MOVOU X1, -16(DI)(CX*1)
	JMP   next

le16:
	CMPQ CX, $8
	JB   lt8
	MOVQ 0(SI), AX
	MOVQ -8(SI)(CX*1), DX
	MOVQ AX, 0(DI)
	MOVQ DX, -8(DI)(CX*1)
	JMP  next

lt8:
	CMPQ CX, $4
	JB   lt4
	MOVL 0(SI), AX
	MOVL -4(SI)(CX*1), DX
	MOVL AX, 0(DI)
	MOVL DX, -4(DI)(CX*1)
	JMP  next

lt4:
	TESTQ CX, CX
	JEQ   next
	MOVB  0(SI), AX
	MOVB  -1(SI)(CX*1), DX
	MOVB  AX, 0(DI)
	MOVB  DX, -1(DI)(CX*1)
	SHRQ  $1, CX
	MOVB  (SI)(CX*1), AX
	MOVB  AX, (DI)(CX*1)

next:
	INCQ R13
	JMP  loop

done:
	MOVQ R13, ret+56(FP)
	RET
