// Package backoff spaces out attempts to reopen a lost camera: exponential
// delays with random jitter, capped, reset after a good stretch.
package backoff

import (
	"math/rand/v2"
	"time"
)

// Backoff computes successive retry delays. It is not safe for concurrent
// use; each capture loop owns one.
type Backoff struct {
	// Min is the first delay, Max the cap.
	Min, Max time.Duration
	// Jitter is the fraction of each delay that is random: a delay d
	// becomes a uniform value in [d*(1-Jitter), d].
	Jitter float64
	// Rand returns a value in [0, 1); nil uses math/rand/v2.
	Rand func() float64

	attempt int
}

// New returns the delays capture uses: 0.5 s, 1 s, 2 s, ... up to 30 s,
// each up to half shorter at random so that cameras that failed together
// do not retry in lockstep.
func New() *Backoff {
	return &Backoff{Min: 500 * time.Millisecond, Max: 30 * time.Second, Jitter: 0.5}
}

// Next returns the delay before the next attempt and counts the attempt.
func (b *Backoff) Next() time.Duration {
	d := b.Min
	for i := 0; i < b.attempt && d < b.Max; i++ {
		d *= 2
	}
	d = min(d, b.Max)
	b.attempt++
	r := b.Rand
	if r == nil {
		r = rand.Float64
	}
	return d - time.Duration(b.Jitter*r()*float64(d))
}

// Attempts returns how many delays Next has handed out since the last Reset.
func (b *Backoff) Attempts() int { return b.attempt }

// Reset starts again from Min, after the source has worked for a while.
func (b *Backoff) Reset() { b.attempt = 0 }
