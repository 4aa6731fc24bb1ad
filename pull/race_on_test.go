//go:build race

package pull_test

// raceScale shrinks TestBackfill2500 under the race detector (about 10×
// slower there) to a tenth: the same three pages, with pages of 100.
const raceScale = 10
