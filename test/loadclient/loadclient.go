// Package loadclient opens many MJPEG viewers against an edge and measures
// what each one gets: frames per second, latency from the capture time in
// X-Timestamp to the part being fully received, skipped sequence numbers and
// bytes. It reads one stream per TCP connection with the edge's own stream
// reader (mjpeg.Reader), which skips parts without allocating, so that one
// process can play a thousand viewers without becoming the bottleneck.
//
// A slow viewer is a slow link, not a reader that pauses: it reads at a
// fixed rate in small chunks through a small socket receive buffer, so the
// bytes queued for it are the server's doing, and the age of each frame is
// measured when the frame has fully arrived.
package loadclient

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"sync"
	"syscall"
	"time"

	"github.com/camstream/camstream/services/edge/mjpeg"
)

// Config says what load to apply.
type Config struct {
	// URL of the MJPEG stream, e.g. http://127.0.0.1:8080/cameras/test1/stream.mjpeg.
	URL string
	// Viewers is the number of concurrent connections.
	Viewers int
	// SlowFraction of the viewers are on a slow link of SlowRate bytes per
	// second (default 50 000: one 50 KB frame a second).
	SlowFraction float64
	SlowRate     int
	// SlowReadBuffer is the socket receive buffer of slow viewers in bytes
	// (the link's own buffer; default 4096, the kernel doubles it).
	SlowReadBuffer int
	// SlowChunk is how many bytes a slow viewer reads at a time (default
	// 1024), so that bytes leave the socket evenly.
	SlowChunk int
	// Warmup is excluded from the figures; Duration is measured.
	Warmup   time.Duration
	Duration time.Duration
	// RampUp spreads the connection starts over this long.
	RampUp time.Duration
	// TLS configures the viewers of an https:// URL, each on a connection
	// of its own over HTTP/2 (HTTP/1.1 when the server offers only that);
	// nil trusts the system's roots.
	TLS *tls.Config
}

// Result is what the viewers saw during the measured window.
type Result struct {
	Viewers, Slow, Failed int
	// FPS of the fast viewers: median and minimum.
	FPSMedian, FPSMin float64
	// FPS of the slow viewers: median.
	SlowFPSMedian float64
	// Latency of the fast viewers' frames (capture → fully received).
	LatencyP50, LatencyP99, LatencyMax time.Duration
	// Age of the slow viewers' frames when fully received, how long each
	// took to cross the link (first byte to last), and how long each waited
	// before its first byte came out of the link (age minus transfer): the
	// server's choice of frame and the bytes queued ahead of it.
	SlowAgeP50, SlowAgeMax                time.Duration
	SlowTransferP50                       time.Duration
	SlowWaitP50, SlowWaitP90, SlowWaitMax time.Duration
	// Skipped is the share of sequence numbers fast viewers did not get.
	Skipped float64
	// BytesPerSec over all viewers.
	BytesPerSec float64
	// Errors holds the first error of each failed viewer (at most 10).
	Errors []string
}

func (r Result) String() string {
	return fmt.Sprintf("viewers=%d slow=%d failed=%d fps_median=%.2f fps_min=%.2f slow_fps=%.2f "+
		"latency_p50=%s latency_p99=%s latency_max=%s slow_age_p50=%s slow_age_max=%s slow_transfer_p50=%s "+
		"slow_wait_p50=%s slow_wait_p90=%s slow_wait_max=%s skipped=%.2f%% MB/s=%.1f",
		r.Viewers, r.Slow, r.Failed, r.FPSMedian, r.FPSMin, r.SlowFPSMedian,
		round(r.LatencyP50), round(r.LatencyP99), round(r.LatencyMax), round(r.SlowAgeP50),
		round(r.SlowAgeMax), round(r.SlowTransferP50), round(r.SlowWaitP50), round(r.SlowWaitP90),
		round(r.SlowWaitMax), 100*r.Skipped, r.BytesPerSec/1e6)
}

func round(d time.Duration) time.Duration {
	return d.Round(10 * time.Microsecond)
}

// Run applies the load and returns the figures. It returns an error only
// when the configuration is unusable; viewers that fail are counted.
func Run(ctx context.Context, cfg Config) (Result, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return Result{}, fmt.Errorf("stream URL %q: want http(s)://host:port/path", cfg.URL)
	}
	if cfg.Viewers <= 0 || cfg.Duration <= 0 {
		return Result{}, errors.New("viewers and duration must be positive")
	}
	if cfg.SlowRate <= 0 {
		cfg.SlowRate = 50_000
	}
	if cfg.SlowReadBuffer <= 0 {
		cfg.SlowReadBuffer = 4096
	}
	if cfg.SlowChunk <= 0 {
		cfg.SlowChunk = 1024
	}
	slowN := int(float64(cfg.Viewers)*cfg.SlowFraction + 0.5)
	start := time.Now().Add(cfg.RampUp + cfg.Warmup)
	end := start.Add(cfg.Duration)
	ctx, cancel := context.WithDeadline(ctx, end)
	defer cancel()

	viewers := make([]*viewer, cfg.Viewers)
	var wg sync.WaitGroup
	for i := range viewers {
		// Spread the slow viewers evenly: exactly slowN of them.
		slow := (i*slowN)%cfg.Viewers < slowN
		v := &viewer{cfg: &cfg, u: u, slow: slow, from: start, to: end}
		viewers[i] = v
		delay := time.Duration(0)
		if cfg.RampUp > 0 {
			delay = cfg.RampUp * time.Duration(i) / time.Duration(cfg.Viewers)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case <-time.After(delay):
			case <-ctx.Done():
				return
			}
			v.run(ctx)
		}()
	}
	wg.Wait()
	return summarize(viewers, cfg.Duration), nil
}

type viewer struct {
	cfg      *Config
	u        *url.URL
	slow     bool
	from, to time.Time

	frames   int
	bytes    int64
	firstSeq uint64
	lastSeq  uint64
	lat      []time.Duration // latency (fast) or age (slow) at full receipt
	transfer []time.Duration // slow: first byte to last byte of each part
	err      error
}

func (v *viewer) run(ctx context.Context) {
	d := net.Dialer{}
	if v.slow {
		size := v.cfg.SlowReadBuffer
		d.Control = func(_, _ string, c syscall.RawConn) error {
			var serr error
			err := c.Control(func(fd uintptr) {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, size)
			})
			if err != nil {
				return err
			}
			return serr
		}
	}
	var body io.ReadCloser
	var err error
	if v.u.Scheme == "https" {
		body, err = openTLS(ctx, &d, v.u, v.cfg.TLS)
	} else {
		body, err = openPlain(ctx, &d, v.u)
	}
	if err != nil {
		v.err = err
		return
	}
	defer body.Close()
	stop := context.AfterFunc(ctx, func() { body.Close() })
	defer stop()
	var r *bufio.Reader
	if v.slow {
		r = bufio.NewReaderSize(&linkReader{r: body, rate: float64(v.cfg.SlowRate), chunk: v.cfg.SlowChunk, start: time.Now()}, v.cfg.SlowChunk)
	} else {
		r = bufio.NewReaderSize(body, 64<<10)
	}
	parts := mjpeg.NewReader(r)
	for {
		begin := time.Now()
		p, err := parts.Skip()
		if err != nil {
			if ctx.Err() == nil {
				v.err = err
			}
			return
		}
		now := time.Now()
		if now.After(v.from) && now.Before(v.to) {
			if v.frames == 0 {
				v.firstSeq = p.Seq
			}
			v.frames++
			v.lastSeq = p.Seq
			v.bytes += int64(p.Length)
			v.lat = append(v.lat, now.Sub(p.CapturedAt))
			if v.slow {
				v.transfer = append(v.transfer, now.Sub(begin))
			}
		}
	}
}

func summarize(vs []*viewer, window time.Duration) Result {
	var res Result
	var fast, slow []float64
	var lat, age, transfer, wait []time.Duration
	var got, want uint64
	var total int64
	for _, v := range vs {
		res.Viewers++
		if v.err != nil {
			res.Failed++
			if len(res.Errors) < 10 {
				res.Errors = append(res.Errors, v.err.Error())
			}
			continue
		}
		total += v.bytes
		fps := float64(v.frames) / window.Seconds()
		if v.slow {
			res.Slow++
			slow = append(slow, fps)
			age = append(age, v.lat...)
			transfer = append(transfer, v.transfer...)
			for i, a := range v.lat {
				wait = append(wait, a-v.transfer[i])
			}
			continue
		}
		fast = append(fast, fps)
		lat = append(lat, v.lat...)
		if v.frames > 1 {
			got += uint64(v.frames - 1)
			want += v.lastSeq - v.firstSeq
		}
	}
	res.FPSMedian, res.FPSMin = median(fast), minimum(fast)
	res.SlowFPSMedian = median(slow)
	res.LatencyP50, res.LatencyP99, res.LatencyMax = quantile(lat, 0.5), quantile(lat, 0.99), quantile(lat, 1)
	res.SlowAgeP50, res.SlowAgeMax = quantile(age, 0.5), quantile(age, 1)
	res.SlowTransferP50 = quantile(transfer, 0.5)
	res.SlowWaitP50, res.SlowWaitP90, res.SlowWaitMax = quantile(wait, 0.5), quantile(wait, 0.9), quantile(wait, 1)
	if want > 0 {
		res.Skipped = 1 - float64(got)/float64(want)
	}
	res.BytesPerSec = float64(total) / window.Seconds()
	return res
}

// FirstFrame opens one stream and returns how long it took from the
// request (connection included) until its first part had fully arrived.
func FirstFrame(ctx context.Context, streamURL string) (time.Duration, error) {
	u, err := url.Parse(streamURL)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return 0, fmt.Errorf("stream URL %q: want http://host:port/path", streamURL)
	}
	start := time.Now()
	var d net.Dialer
	body, err := openPlain(ctx, &d, u)
	if err != nil {
		return 0, err
	}
	defer body.Close()
	stop := context.AfterFunc(ctx, func() { body.Close() })
	defer stop()
	parts := mjpeg.NewReader(bufio.NewReaderSize(body, 64<<10))
	if _, err := parts.Skip(); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}
