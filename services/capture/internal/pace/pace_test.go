package pace

import (
	"testing"
	"time"
)

func TestPacer(t *testing.T) {
	tests := []struct {
		name      string
		fps       float64
		sourceFPS float64
		jitter    time.Duration // alternately added and subtracted
		want      int           // frames passed out of 300
	}{
		{"no cap", 0, 30, 0, 300},
		{"cap above source", 60, 30, 0, 300},
		{"cap equal to source", 30, 30, 0, 300},
		{"half", 15, 30, 0, 150},
		{"half with jitter", 15, 30, 4 * time.Millisecond, 150},
		{"two thirds", 20, 30, 0, 200},
		{"one per second", 1, 30, 0, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := New(tt.fps)
			start := time.Unix(1000, 0)
			period := time.Duration(float64(time.Second) / tt.sourceFPS)
			got := 0
			for i := range 300 {
				ts := start.Add(time.Duration(i) * period)
				if i%2 == 1 {
					ts = ts.Add(tt.jitter)
				} else {
					ts = ts.Add(-tt.jitter)
				}
				if p.Allow(ts) {
					got++
				}
			}
			if diff := got - tt.want; diff < -1 || diff > 1 {
				t.Errorf("passed %d of 300 frames at %v fps capped to %v, want %d±1", got, tt.sourceFPS, tt.fps, tt.want)
			}
		})
	}
}

func TestPacerRestartsAfterPause(t *testing.T) {
	p := New(10)
	t0 := time.Unix(1000, 0)
	if !p.Allow(t0) {
		t.Fatal("first frame rejected")
	}
	// A minute without frames must not let the next 600 frames burst through.
	later := t0.Add(time.Minute)
	passed := 0
	for i := range 30 {
		if p.Allow(later.Add(time.Duration(i) * 10 * time.Millisecond)) {
			passed++
		}
	}
	if passed > 4 {
		t.Errorf("after a pause %d of 30 frames in 300 ms passed at 10 fps, want at most 4", passed)
	}
}
