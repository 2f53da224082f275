// Package metrics holds the edge's Prometheus metrics in their own registry.
package metrics

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the edge's metrics, named as in the design.
type Metrics struct {
	registry *prometheus.Registry

	// Viewers is the number of open viewer streams per camera.
	Viewers *prometheus.GaugeVec
	// FramesSent counts frames written to viewers.
	FramesSent *prometheus.CounterVec
	// FramesSkipped counts frames a viewer skipped because it was still
	// writing an older one or capped its rate.
	FramesSkipped *prometheus.CounterVec
	// FrameLatency is the time from capture to the frame written to a viewer.
	FrameLatency prometheus.Histogram
	// Upstreams is the number of open StreamFrames calls per camera.
	Upstreams *prometheus.GaugeVec
	// SizeViewers and SizeUpstreams are Viewers and Upstreams of the
	// smaller sizes, per camera and ladder width (the full size is not
	// repeated here).
	SizeViewers   *prometheus.GaugeVec
	SizeUpstreams *prometheus.GaugeVec
}

// New returns the metrics registered in a new registry with the Go and
// process collectors.
func New() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		Viewers: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "camstream_edge_viewers",
			Help: "Open viewer streams per camera.",
		}, []string{"camera"}),
		FramesSent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "camstream_edge_frames_sent_total",
			Help: "Frames written to viewers.",
		}, []string{"camera"}),
		FramesSkipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "camstream_edge_frames_skipped_total",
			Help: "Frames viewers skipped because they were busy or capped their rate.",
		}, []string{"camera"}),
		FrameLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "camstream_edge_frame_latency_seconds",
			Help:    "Time from a frame's capture to its being written to a viewer.",
			Buckets: []float64{.001, .0025, .005, .01, .015, .025, .05, .1, .25, .5, 1, 2.5},
		}),
		Upstreams: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "camstream_edge_upstreams",
			Help: "Open StreamFrames calls to capture per camera.",
		}, []string{"camera"}),
		SizeViewers: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "camstream_edge_size_viewers",
			Help: "Open viewer streams per camera at a smaller width of the ladder.",
		}, []string{"camera", "width"}),
		SizeUpstreams: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "camstream_edge_size_upstreams",
			Help: "Open StreamFrames calls to capture per camera at a smaller width of the ladder.",
		}, []string{"camera", "width"}),
	}
	m.registry.MustRegister(
		m.Viewers, m.FramesSent, m.FramesSkipped, m.FrameLatency, m.Upstreams, m.SizeViewers, m.SizeUpstreams,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry})
}
