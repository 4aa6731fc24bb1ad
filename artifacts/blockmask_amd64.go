package artifacts

import "golang.org/x/sys/cpu"

// haveBlockMasks says whether blockMasks can run here (it needs AVX2).
var haveBlockMasks = cpu.X86.HasAVX2

// blockMasks classifies the 64 bytes at p (see blockmask_amd64.s).
//
//go:noescape
func blockMasks(p *byte) (quote, backslash, open, close uint64)
