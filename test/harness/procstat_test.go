package harness

import (
	"os"
	"testing"
	"time"
)

func TestCPUAndRSSOfThisProcess(t *testing.T) {
	m, err := StartCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// Burn one core for 300 ms: the meter must see most of it (the
	// machine may lend the core to others for a while).
	deadline := time.Now().Add(300 * time.Millisecond)
	x := 0
	for time.Now().Before(deadline) {
		x++
	}
	pct, err := m.Percent()
	if err != nil {
		t.Fatal(err)
	}
	if pct < 30 || pct > 200 {
		t.Errorf("cpu = %.1f%% of a core after a busy loop (%d), want in [30, 200]", pct, x)
	}
	rss, err := RSS(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if rss < 1<<20 {
		t.Errorf("rss = %d bytes, want at least 1 MiB for a Go test binary", rss)
	}
}
