#include "textflag.h"

// The bytes blockMasks compares with, each to be broadcast to 32 lanes.
DATA blockBytes<>+0(SB)/1, $0x22 // '"'
DATA blockBytes<>+1(SB)/1, $0x5c // '\\'
DATA blockBytes<>+2(SB)/1, $0x20 // the bit that maps '[' ']' onto '{' '}'
DATA blockBytes<>+3(SB)/1, $0x7b // '{'
DATA blockBytes<>+4(SB)/1, $0x7d // '}'
GLOBL blockBytes<>(SB), RODATA|NOPTR, $8

// func blockMasks(p *byte) (quote, backslash, open, close uint64)
//
// The 64 bytes at p, classified: bit k of each mask is set when byte k is
// a '"', a '\\', a '{' or '[', a '}' or ']'. ('[' and ']' differ from '{'
// and '}' only by bit 0x20, and no other byte maps onto them when that bit
// is set, so one comparison finds both.) Only VEX-encoded instructions, so
// that no SSE/AVX transition is paid.
TEXT ·blockMasks(SB), NOSPLIT, $0-40
	MOVQ p+0(FP), SI
	VMOVDQU (SI), Y0
	VMOVDQU 32(SI), Y1

	VPBROADCASTB blockBytes<>+0(SB), Y2
	VPCMPEQB Y0, Y2, Y3
	VPCMPEQB Y1, Y2, Y4
	VPMOVMSKB Y3, AX
	VPMOVMSKB Y4, BX
	SHLQ $32, BX
	ORQ BX, AX
	MOVQ AX, quote+8(FP)

	VPBROADCASTB blockBytes<>+1(SB), Y2
	VPCMPEQB Y0, Y2, Y3
	VPCMPEQB Y1, Y2, Y4
	VPMOVMSKB Y3, AX
	VPMOVMSKB Y4, BX
	SHLQ $32, BX
	ORQ BX, AX
	MOVQ AX, backslash+16(FP)

	VPBROADCASTB blockBytes<>+2(SB), Y2
	VPOR Y0, Y2, Y0
	VPOR Y1, Y2, Y1

	VPBROADCASTB blockBytes<>+3(SB), Y2
	VPCMPEQB Y0, Y2, Y3
	VPCMPEQB Y1, Y2, Y4
	VPMOVMSKB Y3, AX
	VPMOVMSKB Y4, BX
	SHLQ $32, BX
	ORQ BX, AX
	MOVQ AX, open+24(FP)

	VPBROADCASTB blockBytes<>+4(SB), Y2
	VPCMPEQB Y0, Y2, Y3
	VPCMPEQB Y1, Y2, Y4
	VPMOVMSKB Y3, AX
	VPMOVMSKB Y4, BX
	SHLQ $32, BX
	ORQ BX, AX
	MOVQ AX, close+32(FP)

	VZEROUPPER
	RET
