//go:build !race

package pull_test

// raceScale is 1 without the race detector: TestBackfill2500 walks 2,500
// runs in pages of 1,000.
const raceScale = 1
