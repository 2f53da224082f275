package viewer

import (
	"context"
	"time"
)

// pacer holds a viewer to at most one frame per interval.
type pacer struct {
	interval time.Duration
	due      time.Time
	timer    *time.Timer
}

func newPacer(interval time.Duration) *pacer {
	p := &pacer{interval: interval}
	if interval > 0 {
		p.timer = time.NewTimer(time.Hour)
		p.timer.Stop()
	}
	return p
}

// wait returns when the next frame is due.
func (p *pacer) wait(ctx context.Context) error {
	if p.interval <= 0 {
		return nil
	}
	now := time.Now()
	if p.due.IsZero() {
		p.due = now // the first frame went out just now
	}
	p.due = p.due.Add(p.interval)
	if p.due.Before(now) {
		p.due = now // late: do not burst to catch up
		return nil
	}
	p.timer.Reset(p.due.Sub(now))
	select {
	case <-p.timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p *pacer) stop() {
	if p.timer != nil {
		p.timer.Stop()
	}
}
