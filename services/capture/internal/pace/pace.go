// Package pace caps a frame rate: it lets frames through at most fps times a
// second on average, tolerating the jitter of real sources.
package pace

import "time"

// Pacer decides which frames pass. The zero value (or fps <= 0) lets every
// frame through. It is not safe for concurrent use.
type Pacer struct {
	interval time.Duration
	next     time.Time
}

// New returns a pacer for at most fps frames per second; fps <= 0 means no cap.
func New(fps float64) Pacer {
	if fps <= 0 {
		return Pacer{}
	}
	return Pacer{interval: time.Duration(float64(time.Second) / fps)}
}

// Allow reports whether a frame at time t passes. A frame up to a quarter
// interval early still passes, so a 30 fps source capped at 15 gives 15,
// not 10, when its frames arrive a little unevenly.
func (p *Pacer) Allow(t time.Time) bool {
	if p.interval == 0 {
		return true
	}
	if t.Before(p.next.Add(-p.interval / 4)) {
		return false
	}
	p.next = p.next.Add(p.interval)
	if p.next.Before(t.Add(-p.interval)) || p.next.After(t.Add(2*p.interval)) {
		// After a pause (or a clock jump) start over instead of bursting.
		p.next = t.Add(p.interval)
	}
	return true
}
