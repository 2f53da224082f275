// Package backoff spaces out attempts to reopen a lost camera: exponential
// delays with random jitter, kept short during the first minute of an
// outage, capped, reset after a good stretch.
package backoff

import (
	"math/rand/v2"
	"time"
)

// Backoff computes successive retry delays. It is not safe for concurrent
// use; each capture loop owns one.
//
// The delays double from Min. While the delays handed out since the last
// Reset add up to less than FastFor, they are capped at FastMax, so a
// camera back after a short outage is reopened within about FastMax; after
// that they keep doubling from FastMax up to Max, so a camera that stays
// away is not hammered.
type Backoff struct {
	// Min is the first delay, Max the cap.
	Min, Max time.Duration
	// FastMax caps the delays during the first FastFor of trying; zero
	// values mean no such phase.
	FastMax, FastFor time.Duration
	// Jitter is the fraction of each delay that is random: a delay d
	// becomes a uniform value in [d*(1-Jitter), d].
	Jitter float64
	// Rand returns a value in [0, 1); nil uses math/rand/v2.
	Rand func() float64

	attempt int
	slow    int           // attempts after the fast phase
	waited  time.Duration // sum of the delays (before jitter) since Reset
}

// New returns the delays capture uses: 0.5 s, 1 s, then 2 s until a
// minute of trying has passed, then 4 s, 8 s, 16 s and 30 s from then on;
// each up to half shorter at random so that cameras that failed together
// do not retry in lockstep.
func New() *Backoff {
	return &Backoff{
		Min: 500 * time.Millisecond, Max: 30 * time.Second,
		FastMax: 2 * time.Second, FastFor: time.Minute,
		Jitter: 0.5,
	}
}

// Next returns the delay before the next attempt and counts the attempt.
func (b *Backoff) Next() time.Duration {
	var d time.Duration
	if b.FastMax > 0 && b.waited >= b.FastFor {
		d = double(b.FastMax, b.slow+1, b.Max)
		b.slow++
	} else {
		d = double(b.Min, b.attempt, b.Max)
		if b.FastMax > 0 {
			d = min(d, b.FastMax)
		}
	}
	b.attempt++
	b.waited += d
	r := b.Rand
	if r == nil {
		r = rand.Float64
	}
	return d - time.Duration(b.Jitter*r()*float64(d))
}

// double returns d doubled n times, at most limit.
func double(d time.Duration, n int, limit time.Duration) time.Duration {
	for i := 0; i < n && d < limit; i++ {
		d *= 2
	}
	return min(d, limit)
}

// Attempts returns how many delays Next has handed out since the last Reset.
func (b *Backoff) Attempts() int { return b.attempt }

// Reset starts again from Min, after the source has worked for a while.
func (b *Backoff) Reset() { b.attempt, b.slow, b.waited = 0, 0, 0 }
