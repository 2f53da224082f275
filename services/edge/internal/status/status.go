// Package status keeps the last minutes of every camera on this edge at
// one-second resolution, for the status page's charts: the source's frame
// rate, the viewers, the bytes sent and the capture→viewer latency. It
// samples the edge's own metrics once a second, so the viewer path does
// no extra bookkeeping for it.
package status

import (
	"context"
	"math"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	camstreamv1 "github.com/camstream/camstream/gen/camstream/v1"
	"github.com/camstream/camstream/services/edge/internal/metrics"
)

// Window is how much history a camera keeps, one sample a second.
const Window = 5 * time.Minute

// Cameras lists the cameras to sample (a catalog.Catalog does).
type Cameras interface {
	Cameras() ([]*camstreamv1.Camera, error)
}

// Sample is one second of one camera.
type Sample struct {
	Time        time.Time
	FPS         float64 // the source's, as capture measures it
	Viewers     float64 // open streams on this edge
	BytesPerSec float64 // sent to viewers
	P50, P99    float64 // capture→viewer latency in ms; NaN: nothing sent
}

// Recorder samples the cameras once a second into a ring per camera.
type Recorder struct {
	m       *metrics.Metrics
	cameras Cameras
	size    int

	mu   sync.Mutex
	cams map[string]*ring
}

type ring struct {
	samples []Sample // oldest first once full; see History
	next    int
	prev    counters
}

// counters are a camera's cumulative metrics at one sample.
type counters struct {
	ok      bool
	bytes   float64
	latency *histogram // nil before its first observation
}

// New returns a Recorder of the cameras the list names, read from m.
func New(m *metrics.Metrics, cameras Cameras) *Recorder {
	return &Recorder{m: m, cameras: cameras, size: int(Window / time.Second), cams: make(map[string]*ring)}
}

// Run samples once a second until ctx ends.
func (r *Recorder) Run(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			r.Sample(now)
		}
	}
}

// Sample records one sample of every listed camera at now; cameras no
// longer listed are forgotten.
func (r *Recorder) Sample(now time.Time) {
	cams, err := r.cameras.Cameras()
	if err != nil {
		return // no capture answers: keep what we have
	}
	viewers := gauges(r.m.Viewers)
	bytes := gauges(r.m.BytesSent)
	latency := histograms(r.m.FrameLatency)

	r.mu.Lock()
	defer r.mu.Unlock()
	listed := make(map[string]bool, len(cams))
	for _, c := range cams {
		id := c.GetId()
		listed[id] = true
		rg := r.cams[id]
		if rg == nil {
			rg = &ring{}
			r.cams[id] = rg
		}
		cur := counters{ok: true, bytes: bytes[id], latency: latency[id]}
		s := Sample{Time: now, Viewers: viewers[id], P50: math.NaN(), P99: math.NaN()}
		if c.GetState() == camstreamv1.CameraState_CAMERA_STATE_STREAMING {
			s.FPS = c.GetFps() // else the last measurement, stale
		}
		if rg.prev.ok {
			s.BytesPerSec = max(cur.bytes-rg.prev.bytes, 0)
			if d := delta(cur.latency, rg.prev.latency); d != nil {
				s.P50 = 1000 * quantile(0.5, d, cur.latency.bounds)
				s.P99 = 1000 * quantile(0.99, d, cur.latency.bounds)
			}
		}
		rg.prev = cur
		rg.add(s, r.size)
	}
	for id := range r.cams {
		if !listed[id] {
			delete(r.cams, id)
		}
	}
}

func (rg *ring) add(s Sample, size int) {
	if len(rg.samples) < size {
		rg.samples = append(rg.samples, s)
		return
	}
	rg.samples[rg.next] = s
	rg.next = (rg.next + 1) % size
}

// History returns a camera's samples, oldest first.
func (r *Recorder) History(id string) []Sample {
	r.mu.Lock()
	defer r.mu.Unlock()
	rg := r.cams[id]
	if rg == nil {
		return nil
	}
	out := make([]Sample, 0, len(rg.samples))
	out = append(out, rg.samples[rg.next:]...)
	return append(out, rg.samples[:rg.next]...)
}

// gauges reads a per-camera gauge or counter vector: camera → value.
func gauges(c prometheus.Collector) map[string]float64 {
	out := make(map[string]float64)
	each(c, func(camera string, m *dto.Metric) {
		switch {
		case m.Gauge != nil:
			out[camera] = m.Gauge.GetValue()
		case m.Counter != nil:
			out[camera] = m.Counter.GetValue()
		}
	})
	return out
}

type histogram struct {
	counts []uint64
	bounds []float64
}

// histograms reads a per-camera histogram vector: camera → cumulative
// bucket counts and their upper bounds.
func histograms(c prometheus.Collector) map[string]*histogram {
	out := make(map[string]*histogram)
	each(c, func(camera string, m *dto.Metric) {
		if m.Histogram == nil {
			return
		}
		h := &histogram{}
		for _, b := range m.Histogram.Bucket {
			h.counts = append(h.counts, b.GetCumulativeCount())
			h.bounds = append(h.bounds, b.GetUpperBound())
		}
		h.counts = append(h.counts, m.Histogram.GetSampleCount()) // +Inf
		h.bounds = append(h.bounds, math.Inf(1))
		out[camera] = h
	})
	return out
}

// each calls f with every series of a collector and its camera label.
func each(c prometheus.Collector, f func(camera string, m *dto.Metric)) {
	ch := make(chan prometheus.Metric, 16)
	go func() {
		c.Collect(ch)
		close(ch)
	}()
	for pm := range ch {
		var m dto.Metric
		if pm.Write(&m) != nil {
			continue
		}
		for _, l := range m.Label {
			if l.GetName() == "camera" {
				f(l.GetValue(), &m)
			}
		}
	}
}

// delta is the cumulative bucket counts of cur minus those of prev (prev
// nil: the histogram is new, all zeros); nil when nothing was observed
// between them.
func delta(curH, prevH *histogram) []uint64 {
	if curH == nil {
		return nil
	}
	cur, prev := curH.counts, make([]uint64, len(curH.counts))
	if prevH != nil {
		prev = prevH.counts
	}
	if len(cur) == 0 || len(cur) != len(prev) || cur[len(cur)-1] <= prev[len(prev)-1] {
		return nil
	}
	d := make([]uint64, len(cur))
	for i := range cur {
		if cur[i] < prev[i] {
			return nil
		}
		d[i] = cur[i] - prev[i]
	}
	return d
}

// quantile estimates the q-quantile from cumulative bucket counts, by
// linear interpolation within the bucket it falls in, as Prometheus's
// histogram_quantile does; in the +Inf bucket it is the highest bound.
func quantile(q float64, cum []uint64, bounds []float64) float64 {
	total := float64(cum[len(cum)-1])
	rank := q * total
	lower, below := 0.0, 0.0
	for i, c := range cum {
		if float64(c) >= rank {
			if math.IsInf(bounds[i], 1) {
				return lower
			}
			in := float64(c) - below
			if in == 0 {
				return bounds[i]
			}
			return lower + (bounds[i]-lower)*(rank-below)/in
		}
		lower, below = bounds[i], float64(c)
	}
	return lower
}
