#include "textflag.h"

// The bytes blockMasks compares with, each broadcast to 32 lanes.
DATA blockBytes<>+0(SB)/1, $0x22 // '"'
DATA blockBytes<>+1(SB)/1, $0x5c // '\\'
DATA blockBytes<>+2(SB)/1, $0x20 // the bit that maps '[' ']' onto '{' '}'
DATA blockBytes<>+3(SB)/1, $0x7b // '{'
DATA blockBytes<>+4(SB)/1, $0x7d // '}'
GLOBL blockBytes<>(SB), RODATA|NOPTR, $8

// MASK stores at out the 64-bit mask of the bytes of Y0:Y1 equal to the
// byte at blockBytes<>+k.
#define MASK(k, out) \
	VPBROADCASTB blockBytes<>+k(SB), Y2 \
	VPCMPEQB     Y0, Y2, Y3             \
	VPCMPEQB     Y1, Y2, Y4             \
	VPMOVMSKB    Y3, AX                 \
	VPMOVMSKB    Y4, BX                 \
	SHLQ         $32, BX                \
	ORQ          BX, AX                 \
	MOVQ         AX, out

// func blockMasks(p *byte) (quote, backslash, open, close uint64)
//
// The 64 bytes at p, classified: bit k of each mask is set when byte k is
// a '"', a '\\', a '{' or '[', a '}' or ']'. ('[' and ']' differ from '{'
// and '}' only by bit 0x20, and no other byte maps onto them when that bit
// is set, so one comparison finds both.) Only VEX-encoded instructions, so
// that no SSE/AVX transition is paid.
TEXT ·blockMasks(SB), NOSPLIT, $0-40
	MOVQ    p+0(FP), SI
	VMOVDQU (SI), Y0
	VMOVDQU 32(SI), Y1
	MASK(0, quote+8(FP))
	MASK(1, backslash+16(FP))
	VPBROADCASTB blockBytes<>+2(SB), Y2
	VPOR         Y0, Y2, Y0
	VPOR         Y1, Y2, Y1
	MASK(3, open+24(FP))
	MASK(4, close+32(FP))
	VZEROUPPER
	RET
