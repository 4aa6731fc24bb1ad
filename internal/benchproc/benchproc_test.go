package benchproc

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

func TestRunMeasuresTheChild(t *testing.T) {
	m, err := Run(exec.Command("sleep", "0.2"))
	if err != nil {
		t.Fatal(err)
	}
	if m.Wall < 200*time.Millisecond {
		t.Errorf("wall %v, want >= 200ms", m.Wall)
	}
	if m.PeakRSS <= 0 || m.PeakAnon <= 0 || m.PeakFile <= 0 {
		t.Errorf("peak RSS %d KiB (anonymous %d, file-backed %d), want all > 0", m.PeakRSS, m.PeakAnon, m.PeakFile)
	}
	if _, err := Run(exec.Command("false")); err == nil {
		t.Error("a failing child reported no error")
	}
}

func TestVmHWM(t *testing.T) {
	p := filepath.Join(t.TempDir(), "status")
	if err := os.WriteFile(p, []byte("Name:\tx\nVmPeak:\t 9 kB\nVmHWM:\t    1234 kB\nVmRSS:\t 7 kB\nRssAnon:\t     456 kB\nRssFile:\t  778 kB\nRssShmem:\t 1 kB\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := VmHWM(p); got != 1234 {
		t.Errorf("VmHWM = %d, want 1234", got)
	}
	if got, want := ReadStatus(p), (Status{HWM: 1234, Anon: 456, File: 778}); got != want {
		t.Errorf("ReadStatus = %+v, want %+v", got, want)
	}
	if got := ReadStatus(filepath.Join(t.TempDir(), "absent")); got != (Status{}) {
		t.Errorf("ReadStatus of a missing file = %+v, want zeros", got)
	}
}

func TestStatistics(t *testing.T) {
	ms := []Measure{
		{Wall: 3 * time.Second, CPU: 1 * time.Second, PeakRSS: 10, PeakAnon: 4, PeakFile: 9},
		{Wall: 1 * time.Second, CPU: 5 * time.Second, PeakRSS: 30, PeakAnon: 7, PeakFile: 2},
		{Wall: 2 * time.Second, CPU: 2 * time.Second, PeakRSS: 20, PeakAnon: 5, PeakFile: 3},
	}
	if got := Median(ms).Wall; got != 2*time.Second {
		t.Errorf("Median wall = %v", got)
	}
	if got := MedianCPU(ms); got != 2*time.Second {
		t.Errorf("MedianCPU = %v", got)
	}
	if got := Best(ms); got != time.Second {
		t.Errorf("Best = %v", got)
	}
	if got := MaxPeakRSS(ms); got != 30 {
		t.Errorf("MaxPeakRSS = %d", got)
	}
	if anon, file := MaxPeakSplit(ms); anon != 7 || file != 9 {
		t.Errorf("MaxPeakSplit = %d, %d, want 7, 9", anon, file)
	}
	if ms[0].Wall != 3*time.Second {
		t.Error("Median reordered its argument")
	}
}

func TestPaired(t *testing.T) {
	a := []Measure{{CPU: 10, Wall: 100}, {CPU: 20, Wall: 100}, {CPU: 30, Wall: 100}}
	b := []Measure{{CPU: 8, Wall: 90}, {CPU: 21, Wall: 130}, {CPU: 25, Wall: 95}}
	cpu, wall, less := Paired(a, b)
	if cpu != -2 || wall != -5 || less != 2 {
		t.Errorf("Paired = %v, %v, %d; want -2, -5, 2", cpu, wall, less)
	}
}
