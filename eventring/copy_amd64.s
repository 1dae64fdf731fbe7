//go:build amd64 && !race

#include "go_asm.h"
#include "textflag.h"

// func copyRun(base, payload unsafe.Pointer, maskP uint64, descs *Descriptor, offs *int, n int,
//	o, dstLen, minOff, maxEnd uint64) (done int, oOut, minOut, maxOut uint64)
//
// batchCopy.run's loop: for each of the n descriptors from descs, while its
// payload is at most 2 KiB, its end does not overflow and it fits in
// dstLen-o: offs[i] = o, copy the PayloadSize bytes at payload +
// PayloadBufOffset&maskP to base+o, o = min(round_up(o+size, 16), dstLen),
// and track the lowest offset and the highest end. (2 KiB is far below the
// ring's largest possible payload, so that check is implied.) Returns how
// many it handled and the new state.
//
// Copies: up to 64 bytes two overlapping loads and stores of 1, 4, 8, 16
// or 32 bytes; larger ones 64-byte blocks and the last 64 bytes. Source
// and destination never overlap. SSE2 only (GOAMD64=v1); copyRunAVX2
// below is the same with AVX2 moves and a fast path. minOff and maxEnd
// live in R14 and R15 (free in ABI0 code: Go code that calls an ABI0
// function restores g in R14 after the call), not in the frame: a load,
// compare and store per event through memory made each event wait for the
// previous one's store.
TEXT ·copyRun(SB), NOSPLIT, $0-112
	MOVQ base+0(FP), R8
	MOVQ payload+8(FP), R9
	MOVQ maskP+16(FP), R10
	MOVQ descs+24(FP), R11
	MOVQ offs+32(FP), R12
	MOVQ n+40(FP), R13
	MOVQ o+48(FP), BX
	MOVQ minOff+64(FP), R14
	MOVQ maxEnd+72(FP), R15

loop:
	TESTQ R13, R13
	JEQ   done
	MOVLQZX Descriptor_PayloadSize(R11), CX
	MOVQ  Descriptor_PayloadBufOffset(R11), SI
	CMPQ  CX, $2048
	JA    done
	LEAQ  (SI)(CX*1), DX // end
	CMPQ  DX, SI
	JCS   done           // end overflows
	LEAQ  (BX)(CX*1), AX // o+size: no overflow, o <= dstLen < 2^63
	CMPQ  AX, dstLen+56(FP)
	JHI   done           // does not fit
	MOVQ  BX, (R12)      // offs[i] = o
	CMPQ  SI, R14
	CMOVQCS SI, R14      // minOff = min(minOff, offset)
	CMPQ  DX, R15
	CMOVQHI DX, R15      // maxEnd = max(maxEnd, end)
	LEAQ  (R8)(BX*1), DI // destination
	ADDQ  $15, AX
	ANDQ  $~15, AX
	MOVQ  dstLen+56(FP), BX
	CMPQ  AX, BX
	CMOVQLS AX, BX       // o = min(round_up(o+size, 16), dstLen)
	ANDQ  R10, SI
	ADDQ  R9, SI         // source
	CMPQ  CX, $16
	JBE   le16
	CMPQ  CX, $32
	JBE   le32
	CMPQ  CX, $64
	JBE   le64

	// 65..2048 bytes: 64-byte blocks from the start while more than 64
	// bytes remain, then the last 64 bytes (overlapping): ascending, as
	// the hardware prefetchers like it.
	LEAQ  -64(SI)(CX*1), AX
	LEAQ  -64(DI)(CX*1), DX

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
	JHI   block
	MOVOU 0(AX), X4
	MOVOU 16(AX), X5
	MOVOU 32(AX), X6
	MOVOU 48(AX), X7
	MOVOU X4, 0(DX)
	MOVOU X5, 16(DX)
	MOVOU X6, 32(DX)
	MOVOU X7, 48(DX)
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
	TESTQ CX, CX
	JEQ   next           // empty payloads are common
	CMPQ CX, $8
	JCS  lt8
	MOVQ 0(SI), AX
	MOVQ -8(SI)(CX*1), DX
	MOVQ AX, 0(DI)
	MOVQ DX, -8(DI)(CX*1)
	JMP  next

lt8:
	CMPQ CX, $4
	JCS  lt4
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
	ADDQ $Descriptor__size, R11
	ADDQ $8, R12
	DECQ R13
	JMP  loop

done:
	MOVQ n+40(FP), AX
	SUBQ R13, AX
	MOVQ AX, done+80(FP)
	MOVQ BX, oOut+88(FP)
	MOVQ R14, minOut+96(FP)
	MOVQ R15, maxOut+104(FP)
	RET

// func copyRunAVX2(base, payload unsafe.Pointer, maskP uint64, descs *Descriptor, offs *int, n int,
//	o, dstLen, minOff, maxEnd uint64) (done int, oOut, minOut, maxOut uint64)
//
// copyRun with 32-byte AVX2 moves, and a fast path for the common event.
// While dst has 256 bytes of room past o (o <= limit), every payload of at
// most 256 bytes (nine events in ten on emn-30b) is copied as 256 bytes,
// the same eight moves whatever its size: no branch on the size, whose
// mispredictions cost more than the extra moves. Such a payload cannot
// make o pass dstLen, and an offset below 2^63 cannot overflow with it, so
// the fast path tests only that: two fewer compares, no reload of dstLen
// and no min per event. Everything else (near the end of dst, larger
// payloads, impossible descriptors) takes the careful path: the checks of
// copyRun, then up to 256 bytes two, four or eight overlapping moves, or
// 128-byte blocks and the last 128 bytes.
TEXT ·copyRunAVX2(SB), NOSPLIT, $8-112
	MOVQ base+0(FP), R8
	MOVQ payload+8(FP), R9
	MOVQ maskP+16(FP), R10
	MOVQ descs+24(FP), R11
	MOVQ offs+32(FP), R12
	MOVQ n+40(FP), R13
	MOVQ o+48(FP), BX
	MOVQ minOff+64(FP), R14
	MOVQ maxEnd+72(FP), R15
	// limit: the last o with 256 bytes of room that round_up(o+size, 16)
	// keeps within dstLen for any size <= 256. Negative (dst under 256
	// bytes): no o takes the fast path (the compare is signed; o < 2^63).
	MOVQ dstLen+56(FP), AX
	ANDQ $~15, AX
	SUBQ $256, AX
	MOVQ AX, limit-8(SP)
	TESTQ R13, R13
	JEQ   done

loop:
	MOVLQZX Descriptor_PayloadSize(R11), CX
	MOVQ  Descriptor_PayloadBufOffset(R11), SI
	CMPQ  BX, limit-8(SP)
	JGT   careful
	CMPQ  CX, $256
	JA    careful
	TESTQ SI, SI
	JS    careful              // offset >= 2^63: let careful test for overflow
	LEAQ  (SI)(CX*1), DX       // end
	MOVQ  BX, (R12)            // offs[i] = o
	CMPQ  SI, R14
	CMOVQCS SI, R14            // minOff = min(minOff, offset)
	CMPQ  DX, R15
	CMOVQHI DX, R15            // maxEnd = max(maxEnd, end)
	LEAQ  (R8)(BX*1), DI       // destination
	LEAQ  15(BX)(CX*1), BX
	ANDQ  $~15, BX             // o = round_up(o+size, 16) <= dstLen
	ANDQ  R10, SI
	ADDQ  R9, SI               // source

copy256:
	// Payloads of 0..256 bytes: copy 256 bytes whatever the size (on
	// emn-30b a cascade of size tests mispredicted about 0.75 times per
	// event in cachegrind's branch simulation, this path 0.25; a whole
	// ringbench payload-batch pass 0.44). The extra bytes read follow the
	// payload in the buffer (mapped twice, so mapped: its offset is below
	// S, S >= 16 MiB) and are mostly the next payloads'; those written lie
	// in dst after this payload, inside dst's 256 bytes of room, where the
	// next goes.
	VMOVDQU 0(SI), Y0
	VMOVDQU 32(SI), Y1
	VMOVDQU 64(SI), Y2
	VMOVDQU 96(SI), Y3
	VMOVDQU 128(SI), Y4
	VMOVDQU 160(SI), Y5
	VMOVDQU 192(SI), Y6
	VMOVDQU 224(SI), Y7
	VMOVDQU Y0, 0(DI)
	VMOVDQU Y1, 32(DI)
	VMOVDQU Y2, 64(DI)
	VMOVDQU Y3, 96(DI)
	VMOVDQU Y4, 128(DI)
	VMOVDQU Y5, 160(DI)
	VMOVDQU Y6, 192(DI)
	VMOVDQU Y7, 224(DI)
	JMP     next

careful:
	CMPQ  CX, $2048
	JA    done
	LEAQ  (SI)(CX*1), DX // end
	CMPQ  DX, SI
	JCS   done           // end overflows
	LEAQ  (BX)(CX*1), AX // o+size: no overflow, o <= dstLen < 2^63
	CMPQ  AX, dstLen+56(FP)
	JHI   done           // does not fit
	MOVQ  BX, (R12)      // offs[i] = o
	CMPQ  SI, R14
	CMOVQCS SI, R14      // minOff = min(minOff, offset)
	CMPQ  DX, R15
	CMOVQHI DX, R15      // maxEnd = max(maxEnd, end)
	LEAQ  (R8)(BX*1), DI // destination
	MOVQ  dstLen+56(FP), DX
	SUBQ  BX, DX         // room left in dst
	ADDQ  $15, AX
	ANDQ  $~15, AX
	MOVQ  dstLen+56(FP), BX
	CMPQ  AX, BX
	CMOVQLS AX, BX       // o = min(round_up(o+size, 16), dstLen)
	ANDQ  R10, SI
	ADDQ  R9, SI         // source
	CMPQ  DX, $256
	JCS   exact          // under 256 bytes left in dst: copy exactly
	CMPQ  CX, $256
	JA    over256
	JMP   copy256

exact:
	CMPQ  CX, $16
	JBE   le16
	CMPQ  CX, $32
	JBE   le32
	CMPQ  CX, $64
	JBE   le64
	CMPQ  CX, $128
	JBE   le128

	CMPQ  CX, $256
	JBE   le256

over256:
	// 257..2048 bytes: 128-byte blocks from the start while more than 128
	// bytes remain, then the last 128 bytes (overlapping).
	LEAQ  -128(SI)(CX*1), AX
	LEAQ  -128(DI)(CX*1), DX

block:
	VMOVDQU 0(SI), Y0
	VMOVDQU 32(SI), Y1
	VMOVDQU 64(SI), Y2
	VMOVDQU 96(SI), Y3
	VMOVDQU Y0, 0(DI)
	VMOVDQU Y1, 32(DI)
	VMOVDQU Y2, 64(DI)
	VMOVDQU Y3, 96(DI)
	ADDQ    $128, SI
	ADDQ    $128, DI
	SUBQ    $128, CX
	CMPQ    CX, $128
	JHI     block
	VMOVDQU 0(AX), Y4
	VMOVDQU 32(AX), Y5
	VMOVDQU 64(AX), Y6
	VMOVDQU 96(AX), Y7
	VMOVDQU Y4, 0(DX)
	VMOVDQU Y5, 32(DX)
	VMOVDQU Y6, 64(DX)
	VMOVDQU Y7, 96(DX)
	JMP     next

le256: // 129..256
	VMOVDQU 0(SI), Y0
	VMOVDQU 32(SI), Y1
	VMOVDQU 64(SI), Y2
	VMOVDQU 96(SI), Y3
	VMOVDQU -128(SI)(CX*1), Y4
	VMOVDQU -96(SI)(CX*1), Y5
	VMOVDQU -64(SI)(CX*1), Y6
	VMOVDQU -32(SI)(CX*1), Y7
	VMOVDQU Y0, 0(DI)
	VMOVDQU Y1, 32(DI)
	VMOVDQU Y2, 64(DI)
	VMOVDQU Y3, 96(DI)
	VMOVDQU Y4, -128(DI)(CX*1)
	VMOVDQU Y5, -96(DI)(CX*1)
	VMOVDQU Y6, -64(DI)(CX*1)
	VMOVDQU Y7, -32(DI)(CX*1)
	JMP     next

le128: // 65..128
	VMOVDQU 0(SI), Y0
	VMOVDQU 32(SI), Y1
	VMOVDQU -64(SI)(CX*1), Y2
	VMOVDQU -32(SI)(CX*1), Y3
	VMOVDQU Y0, 0(DI)
	VMOVDQU Y1, 32(DI)
	VMOVDQU Y2, -64(DI)(CX*1)
	VMOVDQU Y3, -32(DI)(CX*1)
	JMP     next

le64: // 33..64
	VMOVDQU 0(SI), Y0
	VMOVDQU -32(SI)(CX*1), Y1
	VMOVDQU Y0, 0(DI)
	VMOVDQU Y1, -32(DI)(CX*1)
	JMP     next

le32: // 17..32
	MOVOU 0(SI), X0
	MOVOU -16(SI)(CX*1), X1
	MOVOU X0, 0(DI)
	MOVOU X1, -16(DI)(CX*1)
	JMP   next

le16:
	TESTQ CX, CX
	JEQ   next           // empty payloads are common
	CMPQ CX, $8
	JCS  lt8
	MOVQ 0(SI), AX
	MOVQ -8(SI)(CX*1), DX
	MOVQ AX, 0(DI)
	MOVQ DX, -8(DI)(CX*1)
	JMP  next

lt8:
	CMPQ CX, $4
	JCS  lt4
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
	ADDQ $Descriptor__size, R11
	ADDQ $8, R12
	DECQ R13
	JNZ  loop

done:
	VZEROUPPER
	MOVQ n+40(FP), AX
	SUBQ R13, AX
	MOVQ AX, done+80(FP)
	MOVQ BX, oOut+88(FP)
	MOVQ R14, minOut+96(FP)
	MOVQ R15, maxOut+104(FP)
	RET
