// Package benchproc holds what the measurement commands (internal/bench*)
// and the fake servers they start (internal/fakebolt/cmd/fakebolt,
// internal/s3fake/cmd/s3fake) share: building a command of the module,
// running a child process and reading its cost, the median and best of
// several runs, generating a dbt artifact pair, and the "ready" line
// handshake between a benchmark and a server process. Linux only: the peak
// RSS comes from /proc.
//
// Peak RSS is the child's VmHWM, polled from /proc/PID/status while it
// runs (with the highest RssAnon and RssFile seen at those polls, to tell
// the memory a process allocates from the pages of its executable the
// kernel maps), and not the ru_maxrss of its rusage: Go starts a child with
// vfork, and on exec Linux carries the parent's peak over as a floor of the
// child's ru_maxrss, so a benchmark that has itself grown (say, by
// generating a large manifest) would be counted in its child's figure.
package benchproc

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/boltfetch/boltfetch/internal/dbtgen"
)

// Measure is the cost of one child process.
type Measure struct {
	// Wall is the time from start to exit.
	Wall time.Duration
	// CPU is user plus system time, from rusage.
	CPU time.Duration
	// PeakRSS is the highest VmHWM (KiB) seen while the child ran.
	PeakRSS int64
	// PeakAnon and PeakFile are the highest RssAnon and RssFile (KiB) seen
	// at the polls: anonymous memory (heap, stacks) and file-backed pages
	// mapped, mostly the executable's. Sampled, so each may miss a peak
	// shorter than [PollInterval]; their sum may exceed PeakRSS, as the
	// two peak at different times.
	PeakAnon, PeakFile int64
	// RusageMaxRSS is rusage's ru_maxrss (KiB), which has the parent's
	// peak as a floor (see the package comment); for comparison only.
	RusageMaxRSS int64
}

// PollInterval is how often [Run] reads the child's VmHWM. Growth in the
// last interval before the child exits is not seen (an exited child's
// /proc entry has no memory figures), so a run should last many intervals.
const PollInterval = 10 * time.Millisecond

// Run runs cmd to its end and returns its cost. Unless set by the caller,
// the child's stdout is discarded and its stderr goes to this process's.
func Run(cmd *exec.Cmd) (Measure, error) {
	if cmd.Stdout == nil {
		cmd.Stdout = io.Discard
	}
	if cmd.Stderr == nil {
		cmd.Stderr = os.Stderr
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return Measure{}, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	status := fmt.Sprintf("/proc/%d/status", cmd.Process.Pid)
	var m Measure
	tick := time.NewTicker(PollInterval)
	defer tick.Stop()
	for {
		st := ReadStatus(status)
		m.PeakRSS = max(m.PeakRSS, st.HWM)
		m.PeakAnon, m.PeakFile = max(m.PeakAnon, st.Anon), max(m.PeakFile, st.File)
		select {
		case err := <-done:
			m.Wall = time.Since(start)
			if err != nil {
				return Measure{}, err
			}
			if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
				m.RusageMaxRSS = ru.Maxrss // KiB on Linux
				m.CPU = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
			}
			return m, nil
		case <-tick.C:
		}
	}
}

// Status is what [Run] reads of a /proc/PID/status file, in KiB.
type Status struct {
	HWM  int64 // VmHWM: peak resident set
	Anon int64 // RssAnon: resident anonymous memory
	File int64 // RssFile: resident file-backed pages
}

// ReadStatus reads the memory lines of a /proc status file; a missing
// file or line reads as 0.
func ReadStatus(path string) Status {
	var st Status
	data, err := os.ReadFile(path)
	if err != nil {
		return st
	}
	for l := range strings.SplitSeq(string(data), "\n") {
		name, rest, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		var dst *int64
		switch name {
		case "VmHWM":
			dst = &st.HWM
		case "RssAnon":
			dst = &st.Anon
		case "RssFile":
			dst = &st.File
		default:
			continue
		}
		fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), dst)
	}
	return st
}

// VmHWM reads the VmHWM line (KiB) of a /proc status file, 0 if absent.
func VmHWM(path string) int64 { return ReadStatus(path).HWM }

// Median is the measure of median wall time (the upper one of an even
// count). ms must not be empty.
func Median(ms []Measure) Measure {
	s := slices.Clone(ms)
	slices.SortFunc(s, func(a, b Measure) int { return int(a.Wall - b.Wall) })
	return s[len(s)/2]
}

// MedianCPU is the median CPU time of ms, which must not be empty.
func MedianCPU(ms []Measure) time.Duration {
	s := make([]time.Duration, len(ms))
	for i, m := range ms {
		s[i] = m.CPU
	}
	slices.Sort(s)
	return s[len(s)/2]
}

// Best is the least wall time of ms, which must not be empty.
func Best(ms []Measure) time.Duration {
	b := ms[0].Wall
	for _, m := range ms {
		b = min(b, m.Wall)
	}
	return b
}

// Paired compares two series measured alternately (a[i] just before
// b[i]): the median of the differences b[i]-a[i] in CPU and in wall time,
// and in how many pairs b took less CPU. On a shared machine whose load
// drifts during a run, the paired differences are steadier than the
// difference of the two medians, as each pair ran under about the same
// load. a and b must have the same, non-zero length.
func Paired(a, b []Measure) (cpu, wall time.Duration, lessCPU int) {
	dc, dw := make([]time.Duration, len(a)), make([]time.Duration, len(a))
	for i := range a {
		dc[i], dw[i] = b[i].CPU-a[i].CPU, b[i].Wall-a[i].Wall
		if dc[i] < 0 {
			lessCPU++
		}
	}
	slices.Sort(dc)
	slices.Sort(dw)
	return dc[len(dc)/2], dw[len(dw)/2], lessCPU
}

// MaxPeakRSS is the highest PeakRSS (KiB) of ms.
func MaxPeakRSS(ms []Measure) int64 {
	var r int64
	for _, m := range ms {
		r = max(r, m.PeakRSS)
	}
	return r
}

// MaxPeakSplit is the highest PeakAnon and the highest PeakFile (KiB) of
// ms.
func MaxPeakSplit(ms []Measure) (anon, file int64) {
	for _, m := range ms {
		anon, file = max(anon, m.PeakAnon), max(file, m.PeakFile)
	}
	return anon, file
}

// LoadAvg is the content of /proc/loadavg, trimmed, or "" if unreadable.
func LoadAvg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	return strings.TrimSpace(string(b))
}

// Build runs `go build -o out pkg`, its output going to stderr.
func Build(out, pkg string) error {
	build := exec.Command("go", "build", "-o", out, pkg)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("build %s: %w", pkg, err)
	}
	return nil
}

// EnsurePair writes a generated manifest and run_results (dbtgen.Write
// with spec) to the two paths unless both files already exist. generated
// says whether it wrote them, and truth is then what dbtgen planned.
func EnsurePair(manifest, runResults string, spec dbtgen.Spec) (truth dbtgen.Truth, generated bool, err error) {
	_, e1 := os.Stat(manifest)
	_, e2 := os.Stat(runResults)
	if e1 == nil && e2 == nil {
		return truth, false, nil
	}
	mf, err := os.Create(manifest)
	if err != nil {
		return truth, false, err
	}
	rf, err := os.Create(runResults)
	if err != nil {
		mf.Close()
		return truth, false, err
	}
	mw, rw := bufio.NewWriterSize(mf, 1<<20), bufio.NewWriterSize(rf, 1<<20)
	truth, err = dbtgen.Write(mw, rw, spec)
	return truth, true, errors.Join(err, mw.Flush(), rw.Flush(), mf.Close(), rf.Close())
}

// PairMB is the size of the manifest and of the run_results, in MB (1e6
// bytes), as the benchmarks print them.
func PairMB(manifest, runResults string) (m, r float64, err error) {
	mi, err := os.Stat(manifest)
	if err != nil {
		return 0, 0, err
	}
	ri, err := os.Stat(runResults)
	if err != nil {
		return 0, 0, err
	}
	return float64(mi.Size()) / 1e6, float64(ri.Size()) / 1e6, nil
}

// Ready prints the handshake line a server process writes on stdout once
// it serves: "ready" and the fields, separated by spaces.
func Ready(fields ...string) {
	fmt.Println(strings.Join(append([]string{"ready"}, fields...), " "))
}

// WaitStop blocks until this process is sent SIGINT or SIGTERM, or its
// stdin is closed (as when the benchmark that started it exits).
func WaitStop() {
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(stop)
	eof := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		close(eof)
	}()
	select {
	case <-stop:
	case <-eof:
	}
}

// Server is a server process started by [StartServer].
type Server struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
}

// StartServer starts cmd, a server process that answers with [Ready], and
// returns it with the fields of its ready line. name words the error when
// the server exits or says something else first.
func StartServer(name string, cmd *exec.Cmd) (*Server, []string, error) {
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, nil, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, nil, err
	}
	s := &Server{cmd: cmd, stdin: stdin}
	line, err := bufio.NewReader(out).ReadString('\n')
	f := strings.Fields(line)
	if err != nil || len(f) == 0 || f[0] != "ready" {
		s.Stop()
		return nil, nil, fmt.Errorf("%s did not start: %q %v", name, line, err)
	}
	return s, f[1:], nil
}

// Stop asks the server to stop (SIGTERM, and its stdin closed) and waits
// for it to exit.
func (s *Server) Stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	_ = s.stdin.Close()
	_ = s.cmd.Wait()
}
