package backoff

import (
	"testing"
	"time"
)

func TestNextGrowsToCap(t *testing.T) {
	b := &Backoff{Min: 500 * time.Millisecond, Max: 30 * time.Second, Jitter: 0.5, Rand: func() float64 { return 0 }}
	want := []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second,
		16 * time.Second, 30 * time.Second, 30 * time.Second}
	for i, w := range want {
		if got := b.Next(); got != w {
			t.Errorf("delay %d = %v, want %v", i+1, got, w)
		}
	}
	if got := b.Attempts(); got != len(want) {
		t.Errorf("Attempts = %d, want %d", got, len(want))
	}
	b.Reset()
	if got := b.Next(); got != 500*time.Millisecond {
		t.Errorf("first delay after Reset = %v, want 500ms", got)
	}
}

// The default schedule retries at most 2 s apart during the first minute
// of an outage, then backs off to the 30 s cap.
func TestDefaultSchedule(t *testing.T) {
	b := New()
	b.Rand = func() float64 { return 0 } // no jitter: the longest delays
	var total time.Duration
	var got []time.Duration
	for total < 3*time.Minute {
		d := b.Next()
		if total < time.Minute && d > 2*time.Second {
			t.Errorf("delay %v after %v of trying, want at most 2s in the first minute", d, total)
		}
		if d > 30*time.Second {
			t.Errorf("delay %v, want at most 30s", d)
		}
		total += d
		got = append(got, d)
	}
	want := []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 2 * time.Second}
	for i, w := range want {
		if got[i] != w {
			t.Errorf("delay %d = %v, want %v", i+1, got[i], w)
		}
	}
	tail := got[len(got)-3:]
	for _, d := range tail {
		if d != 30*time.Second {
			t.Errorf("late delays %v, want 30s each once the outage is long", tail)
			break
		}
	}
	b.Reset()
	if d := b.Next(); d != 500*time.Millisecond {
		t.Errorf("first delay after Reset = %v, want 500ms", d)
	}
}

func TestJitterStaysInRange(t *testing.T) {
	tests := []struct {
		rand     float64
		min, max time.Duration
	}{
		{0, 8 * time.Second, 8 * time.Second},
		{0.5, 6 * time.Second, 6 * time.Second},
		{0.999, 4 * time.Second, 4010 * time.Millisecond},
	}
	for _, tt := range tests {
		b := &Backoff{Min: time.Second, Max: 30 * time.Second, Jitter: 0.5, Rand: func() float64 { return tt.rand }}
		for range 3 {
			b.Next()
		}
		if got := b.Next(); got < tt.min || got > tt.max {
			t.Errorf("4th delay with rand %v = %v, want in [%v, %v]", tt.rand, got, tt.min, tt.max)
		}
	}
}

func TestDefaultIsRandomAndBounded(t *testing.T) {
	seen := make(map[time.Duration]bool)
	for range 50 {
		b := New()
		for range 20 {
			d := b.Next()
			if d < 250*time.Millisecond || d > 30*time.Second {
				t.Fatalf("delay %v outside [250ms, 30s]", d)
			}
			seen[d] = true
		}
	}
	if len(seen) < 100 {
		t.Errorf("got %d distinct delays out of 1000, want jitter to spread them", len(seen))
	}
}
