package harness

import (
	"math"
	"os"
	"syscall"
	"testing"
	"time"
)

// processCPU is this process's user+system time from getrusage, which the
// kernel keeps to the nanosecond like the meter's schedstat.
func processCPU(t *testing.T) time.Duration {
	t.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// The meter agrees with getrusage over a window in which this process
// burns 200 ms of CPU, however busy the machine is (the window lasts as
// long as that takes).
func TestCPUAndRSSOfThisProcess(t *testing.T) {
	m, err := StartCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	start, cpu0 := time.Now(), processCPU(t)
	x := 0
	for processCPU(t)-cpu0 < 200*time.Millisecond && time.Since(start) < 20*time.Second {
		for range 100000 {
			x++
		}
	}
	want := 100 * (processCPU(t) - cpu0).Seconds() / time.Since(start).Seconds()
	pct, err := m.Percent()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("meter %.1f%%, getrusage %.1f%% of a core (%d iterations)", pct, want, x)
	if want < 1 {
		t.Fatalf("getrusage saw %.1f%% of a core after a busy loop: the loop did not run", want)
	}
	if math.Abs(pct-want) > 2+0.05*want {
		t.Errorf("meter says %.1f%% of a core, getrusage %.1f%%: want them within 2 points + 5 %%", pct, want)
	}
	rss, err := RSS(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if rss < 1<<20 {
		t.Errorf("rss = %d bytes, want at least 1 MiB for a Go test binary", rss)
	}
}
