// Package metrics exposes capture's Prometheus metrics on its own registry:
// per-camera frame, reconnect, state and subscriber figures read from the
// cameras at scrape time, histograms of encode time and frame size, the
// camera file's reloads, and the Go and process collectors.
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/camstream/camstream/services/capture/internal/camera"
)

// Reload results, the values of the result label.
const (
	ReloadSuccess = "success"
	ReloadError   = "error"
)

// Metrics is capture's registry. It implements camera.Observer and
// reload.Observer.
type Metrics struct {
	reg        *prometheus.Registry
	encode     prometheus.Histogram
	bytes      prometheus.Histogram
	reloads    *prometheus.CounterVec
	lastReload prometheus.Gauge
}

// New returns the metrics of the cameras statuses returns. The cameras
// were loaded just now: that is the first successful load.
func New(statuses func() []camera.Status) *Metrics {
	m := &Metrics{
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "camstream_capture_config_reloads_total",
			Help: "Reloads of the camera file after start-up, by result: success (applied) or error (bad, half-written or missing file: nothing changed).",
		}, []string{"result"}),
		lastReload: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "camstream_capture_config_last_reload_success_timestamp_seconds",
			Help: "Unix time of the last successful load of the camera file, start-up included.",
		}),
		reg: prometheus.NewRegistry(),
		encode: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "camstream_capture_encode_seconds",
			Help:    "Time to resize and JPEG-encode one frame.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 12), // 0.5 ms .. 1 s
		}),
		bytes: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "camstream_capture_frame_bytes",
			Help:    "Size of one encoded JPEG frame.",
			Buckets: prometheus.ExponentialBuckets(4<<10, 2, 11), // 4 KiB .. 4 MiB
		}),
	}
	m.reloads.WithLabelValues(ReloadSuccess)
	m.reloads.WithLabelValues(ReloadError)
	m.lastReload.SetToCurrentTime()
	m.reg.MustRegister(
		m.encode, m.bytes, m.reloads, m.lastReload,
		newCameraCollector(statuses),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// FrameEncoded records one encoded frame.
func (m *Metrics) FrameEncoded(_ string, encode time.Duration, bytes int) {
	m.encode.Observe(encode.Seconds())
	m.bytes.Observe(float64(bytes))
}

// ConfigReloaded records a reload of the camera file at t: applied (ok) or
// refused.
func (m *Metrics) ConfigReloaded(ok bool, t time.Time) {
	if !ok {
		m.reloads.WithLabelValues(ReloadError).Inc()
		return
	}
	m.reloads.WithLabelValues(ReloadSuccess).Inc()
	m.lastReload.Set(float64(t.UnixNano()) / 1e9)
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Registry returns the registry, for tests and extra collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// cameraCollector reads the per-camera metrics from the cameras at scrape
// time, so the capture loop does no metric bookkeeping of its own.
type cameraCollector struct {
	statuses                                    func() []camera.Status
	frames, reconnects, state, subscribers, fps *prometheus.Desc
	sizeFrames, sizeSubscribers, subState       *prometheus.Desc
	passthrough                                 *prometheus.Desc
}

func newCameraCollector(statuses func() []camera.Status) *cameraCollector {
	return &cameraCollector{
		statuses: statuses,
		frames: prometheus.NewDesc("camstream_capture_frames_total",
			"Frames captured and published (encoded, or passed through as the source sent them).", []string{"camera"}, nil),
		reconnects: prometheus.NewDesc("camstream_capture_reconnects_total",
			"Times the camera's source was lost and reopening began.", []string{"camera"}, nil),
		state: prometheus.NewDesc("camstream_capture_camera_state",
			"1 for the camera's current state, 0 for the others.", []string{"camera", "state"}, nil),
		subscribers: prometheus.NewDesc("camstream_capture_subscribers",
			"Open StreamFrames calls for the camera.", []string{"camera"}, nil),
		sizeFrames: prometheus.NewDesc("camstream_capture_size_frames_total",
			"Frames resized and encoded at a smaller width of the ladder, once each for every subscriber of that width.",
			[]string{"camera", "width"}, nil),
		sizeSubscribers: prometheus.NewDesc("camstream_capture_size_subscribers",
			"Open StreamFrames and GetSnapshot calls for the camera at a smaller width.", []string{"camera", "width"}, nil),
		subState: prometheus.NewDesc("camstream_capture_sub_state",
			"1 for the current state of the camera's sub_source stream, 0 for the others; only cameras with a sub_source.",
			[]string{"camera", "state"}, nil),
		fps: prometheus.NewDesc("camstream_capture_camera_fps",
			"Frames per second the camera delivered over the last few seconds.", []string{"camera"}, nil),
		passthrough: prometheus.NewDesc("camstream_capture_camera_passthrough",
			"1 while the camera's frames are its source's own JPEG bytes, forwarded undecoded; 0 while capture encodes them.",
			[]string{"camera"}, nil),
	}
}

func (c *cameraCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.frames
	ch <- c.reconnects
	ch <- c.state
	ch <- c.subscribers
	ch <- c.sizeFrames
	ch <- c.sizeSubscribers
	ch <- c.subState
	ch <- c.fps
	ch <- c.passthrough
}

func (c *cameraCollector) Collect(ch chan<- prometheus.Metric) {
	for _, st := range c.statuses() {
		ch <- prometheus.MustNewConstMetric(c.frames, prometheus.CounterValue, float64(st.Frames), st.ID)
		ch <- prometheus.MustNewConstMetric(c.reconnects, prometheus.CounterValue, float64(st.Reconnects), st.ID)
		c.collectState(ch, c.state, st.ID, st.State)
		if st.Sub != nil {
			c.collectState(ch, c.subState, st.ID, st.Sub.State)
		}
		ch <- prometheus.MustNewConstMetric(c.subscribers, prometheus.GaugeValue, float64(st.Subscribers), st.ID)
		for _, z := range st.Sizes {
			w := strconv.Itoa(z.Width)
			ch <- prometheus.MustNewConstMetric(c.sizeFrames, prometheus.CounterValue, float64(z.Encodes), st.ID, w)
			ch <- prometheus.MustNewConstMetric(c.sizeSubscribers, prometheus.GaugeValue, float64(z.Subscribers), st.ID, w)
		}
		ch <- prometheus.MustNewConstMetric(c.fps, prometheus.GaugeValue, st.FPS, st.ID)
		ch <- prometheus.MustNewConstMetric(c.passthrough, prometheus.GaugeValue, boolValue(st.PassThrough), st.ID)
	}
}

// collectState sends desc for every state: 1 for cur, 0 for the others.
func (c *cameraCollector) collectState(ch chan<- prometheus.Metric, desc *prometheus.Desc, id string, cur camera.State) {
	for _, s := range camera.States() {
		v := 0.0
		if s == cur {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, v, id, s.String())
	}
}

// boolValue is 1 for true, 0 for false.
func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
