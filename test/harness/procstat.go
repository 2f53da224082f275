package harness

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, 100 on every Linux this runs on.
const clockTicks = 100

// CPUTimes returns the user and the system CPU time a process has used so
// far.
func CPUTimes(pid int) (user, sys time.Duration, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, err
	}
	// Fields after the command name, which is in parentheses and may contain spaces.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 13 {
		return 0, 0, fmt.Errorf("short /proc/%d/stat", pid)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	return time.Duration(utime) * time.Second / clockTicks, time.Duration(stime) * time.Second / clockTicks, nil
}

// RSS returns a process's resident set size in bytes.
func RSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}

// CPUMeter measures the share of one core a process uses between Start
// and Percent, to the nanosecond: from each thread's scheduler run time
// (/proc/PID/task/TID/schedstat) rather than /proc/PID/stat's 10 ms ticks,
// which over a 10 s window of a process using 13 % of a core is an error of
// up to 0.8 %. A thread that exits before Percent loses its time since
// Start; threads that start after Start count from zero.
type CPUMeter struct {
	pid     int
	threads map[string]time.Duration
	start   time.Time
}

// StartCPU begins measuring pid.
func StartCPU(pid int) (*CPUMeter, error) {
	threads, err := threadTimes(pid)
	if err != nil {
		return nil, err
	}
	return &CPUMeter{pid: pid, threads: threads, start: time.Now()}, nil
}

// Percent returns the CPU used since StartCPU as a percentage of one core.
func (m *CPUMeter) Percent() (float64, error) {
	threads, err := threadTimes(m.pid)
	if err != nil {
		return 0, err
	}
	elapsed := time.Since(m.start)
	var cpu time.Duration
	for tid, t := range threads {
		cpu += t - m.threads[tid]
	}
	return 100 * cpu.Seconds() / elapsed.Seconds(), nil
}

// threadTimes returns the run time of each of pid's threads so far.
func threadTimes(pid int) (map[string]time.Duration, error) {
	dir := fmt.Sprintf("/proc/%d/task", pid)
	tids, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	times := make(map[string]time.Duration, len(tids))
	for _, tid := range tids {
		b, err := os.ReadFile(dir + "/" + tid.Name() + "/schedstat")
		if err != nil {
			continue // the thread has exited
		}
		f := strings.Fields(string(b))
		if len(f) == 0 {
			return nil, fmt.Errorf("empty %s/%s/schedstat", dir, tid.Name())
		}
		ns, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("parse %s/%s/schedstat: %w", dir, tid.Name(), err)
		}
		times[tid.Name()] = time.Duration(ns)
	}
	if len(times) == 0 {
		return nil, fmt.Errorf("process %d has no threads left", pid)
	}
	return times, nil
}
