//go:build !amd64

package artifacts

// haveBlockMasks is false where there is no vector blockMasks: the skimmer
// then takes its byte loop everywhere.
const haveBlockMasks = false

func blockMasks(p *byte) (quote, backslash, open, close uint64) {
	panic("blockMasks without a vector unit")
}
