//go:build race

package artifacts

// raceEnabled is true under the race detector, which multiplies memory and
// time: TestGrowth does not measure there.
const raceEnabled = true
