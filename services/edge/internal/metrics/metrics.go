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
	// BytesSent counts the bytes of the parts written to viewers.
	BytesSent *prometheus.CounterVec
	// FramesSkipped counts frames a viewer skipped because it was still
	// writing an older one or capped its rate.
	FramesSkipped *prometheus.CounterVec
	// FrameLatency is the time from capture to the frame written to a
	// viewer, per camera.
	FrameLatency *prometheus.HistogramVec
	// Upstreams is the number of open StreamFrames calls per camera.
	Upstreams *prometheus.GaugeVec
	// SizeViewers and SizeUpstreams are Viewers and Upstreams of the
	// smaller sizes, per camera and ladder width (the full size is not
	// repeated here).
	SizeViewers   *prometheus.GaugeVec
	SizeUpstreams *prometheus.GaugeVec
	// CaptureUp is 1 per capture address that answered the last
	// ListCameras poll, 0 per one that did not.
	CaptureUp *prometheus.GaugeVec
	// MaxViewers is the configured cap of open streams (0: none), so that
	// an alert can compare the viewers with it.
	MaxViewers prometheus.Gauge
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
		BytesSent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "camstream_edge_bytes_sent_total",
			Help: "Bytes of MJPEG parts written to viewers.",
		}, []string{"camera"}),
		FramesSkipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "camstream_edge_frames_skipped_total",
			Help: "Frames viewers skipped because they were busy or capped their rate.",
		}, []string{"camera"}),
		FrameLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "camstream_edge_frame_latency_seconds",
			Help:    "Time from a frame's capture to its being written to a viewer.",
			Buckets: []float64{.001, .0025, .005, .01, .015, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"camera"}),
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
		CaptureUp: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "camstream_edge_capture_up",
			Help: "1 if the capture at this address answered the last ListCameras poll, else 0.",
		}, []string{"capture"}),
		MaxViewers: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "camstream_edge_max_viewers",
			Help: "The most open streams this edge takes (--max-viewers); 0 means no limit.",
		}),
	}
	m.registry.MustRegister(
		m.Viewers, m.FramesSent, m.BytesSent, m.FramesSkipped, m.FrameLatency, m.Upstreams,
		m.CaptureUp, m.MaxViewers, m.SizeViewers, m.SizeUpstreams,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry})
}
