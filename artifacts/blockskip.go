package artifacts

import (
	"math/bits"
)

// blockSkip is the skimmer's fast path through nested values. From buf[i],
// which is outside any string, at bracket depth depth, it reads whole
// blocks of 64 bytes, classified by blockMasks, and tracks strings (with
// their escapes) and brackets a block at a time: a block that cannot bring
// the depth down to target costs a few word operations, whatever it holds.
//
// It returns where the depth came down to target (just past that closing
// bracket, done true), or else the last block boundary it reached outside a
// string, with the depth there (possibly i itself: no progress), for the
// byte loop to go on from. It reads only whole blocks inside buf, so the
// byte loop handles the tail and the refills.
//
// On valid JSON it finds what the byte loop finds. (On invalid JSON they
// may differ where a backslash stands outside a string: neither validates
// what it skips.)
func blockSkip(buf []byte, i, depth, target int) (pos, newDepth int, done bool) {
	safe, safeDepth := i, depth
	var st blockState
	for ; i+64 <= len(buf); i += 64 {
		_, _, open, close := st.classify(&buf[i])
		if close != 0 && depth-bits.OnesCount64(close) <= target {
			for all := open | close; all != 0; all &= all - 1 {
				b := uint(bits.TrailingZeros64(all))
				if open&(1<<b) != 0 {
					depth++
					continue
				}
				if depth--; depth == target {
					return i + int(b) + 1, depth, true
				}
			}
		} else {
			depth += bits.OnesCount64(open) - bits.OnesCount64(close)
		}
		if st.outside() {
			safe, safeDepth = i+64, depth
		}
	}
	return safe, safeDepth, false
}

// blockState is what classifying a run of blocks carries from one block to
// the next: whether the next block starts inside a string, and whether
// its first byte is escaped (each 0 or 1).
type blockState struct{ inString, escape uint64 }

// classify classifies the 64 bytes at p, the block after the last one
// classified: quote has the quotes that delimit strings (escaped ones
// removed); in the bytes inside strings, opening quotes included (a prefix
// XOR of the quotes, flipped when the block starts inside a string); open
// and close the brackets outside strings.
func (st *blockState) classify(p *byte) (quote, in, open, close uint64) {
	quote, backslash, open, close := blockMasks(p)
	if backslash != 0 || st.escape != 0 {
		var escaped uint64
		escaped, st.escape = escapedBits(backslash, st.escape)
		quote &^= escaped
	}
	in = quote
	in ^= in << 1
	in ^= in << 2
	in ^= in << 4
	in ^= in << 8
	in ^= in << 16
	in ^= in << 32
	in ^= -st.inString
	st.inString = in >> 63
	return quote, in, open &^ in, close &^ in
}

// outside says whether the next block starts outside any string (and not
// escaped): a place the byte loop can take over.
func (st *blockState) outside() bool { return st.inString == 0 && st.escape == 0 }

// escapedBits returns the bits of the bytes that a backslash escapes, in a
// block whose backslashes are backslash; carry (0 or 1) says that the
// block's first byte is escaped by the previous block, and carryOut the
// same of the next block's first byte. A backslash escapes the byte after
// it, unless it is escaped itself.
func escapedBits(backslash, carry uint64) (escaped, carryOut uint64) {
	escaped = carry
	m := backslash &^ carry
	for m != 0 {
		b := uint(bits.TrailingZeros64(m))
		m &= m - 1
		if b == 63 {
			carryOut = 1
			break
		}
		escaped |= 1 << (b + 1)
		m &^= 1 << (b + 1)
	}
	return escaped, carryOut
}

// Why blockMembers stopped.
const (
	stopBoundary = iota // at a block boundary outside strings (or at i: no progress)
	stopName            // just past the closing quote of a string naming member k
	stopEnd             // just past the bracket that closed the object
)

// blockMembers is blockSkip for the members of a node: from buf[i], outside
// any string, at depth (1: among the members of the object the skimmer
// reads, or deeper inside one of their values), it reads whole blocks of
// 64 bytes and stops at the first string on depth 1 whose content names
// nodeMembers[k] (stopName, just past its closing quote: the caller checks
// that a colon follows), or where the object closes (stopEnd, just past its
// bracket, depth 0). Otherwise it returns the last block boundary it
// reached outside a string, with the depth there, for the byte loop.
//
// The byte loop looks at each string on depth 1 in turn; here the strings
// come from the masks' quote bits, so a block of short members costs a few
// word operations per member, and a long string a few per 64 bytes. On
// valid JSON it stops where the byte loop would act.
func blockMembers(buf []byte, i, depth int) (pos, newDepth, k, stop int) {
	safe, safeDepth := i, depth
	var st blockState
	name := -1 // the opening quote of the string open at the end of the last block
	for ; i+64 <= len(buf); i += 64 {
		quote, in, open, close := st.classify(&buf[i])
		if depth > 1 && (close == 0 || depth-bits.OnesCount64(close) > 1) {
			// Deep inside a value all block long (no string on depth 1 can
			// be open: depth only changes outside strings).
			depth += bits.OnesCount64(open) - bits.OnesCount64(close)
		} else {
			// The block's brackets cut it into runs at one depth each; on
			// depth 1, each closing quote ends a string whose opening quote is
			// the last one before it (in this block, or name's).
			opening, closing := quote&in, quote&^in
			var done uint64 // bits of the runs already looked at
			for br := open | close; ; br &= br - 1 {
				b, run := 64, ^uint64(0)
				if br != 0 {
					b = bits.TrailingZeros64(br)
					run = 1<<b - 1
				}
				if depth == 1 {
					for cq := closing & run &^ done; cq != 0; cq &= cq - 1 {
						q := bits.TrailingZeros64(cq)
						start := name
						if o := opening & (1<<q - 1); o != 0 {
							start = i + 63 - bits.LeadingZeros64(o)
						}
						if isMemberLen(i + q - start - 1) {
							if k := memberIndex(buf[start+1 : i+q]); k >= 0 {
								return i + q + 1, 1, k, stopName
							}
						}
					}
				}
				if br == 0 {
					break
				}
				done = run
				if open&(1<<b) != 0 {
					depth++
				} else if depth--; depth == 0 {
					return i + b + 1, 0, -1, stopEnd
				}
			}
			if st.inString != 0 && opening != 0 {
				name = i + 63 - bits.LeadingZeros64(opening)
			}
		}
		if st.outside() {
			safe, safeDepth = i+64, depth
		}
	}
	return safe, safeDepth, -1, stopBoundary
}
