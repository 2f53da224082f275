// Command capture reads cameras (RTSP, HTTP MJPEG, V4L2 devices, video
// files, a built-in test pattern) with OpenCV, encodes each frame to JPEG
// once, and serves the frames over gRPC to any number of subscribers.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/alecthomas/kong"

	"github.com/camstream/camstream/services/capture/internal/camera"
	"github.com/camstream/camstream/services/capture/internal/config"
	"github.com/camstream/camstream/services/capture/internal/metrics"
	"github.com/camstream/camstream/services/capture/internal/reload"
	"github.com/camstream/camstream/services/capture/internal/source"
)

// shutdownTimeout bounds how long calls in flight may take to finish.
const shutdownTimeout = 5 * time.Second

func main() {
	// The heavy work (FFmpeg, libjpeg) runs in C on threads of its own; one
	// P for the Go side spares the scheduler's spinning and polling around
	// those long C calls (see docs/benchmarks.md). $GOMAXPROCS still wins.
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "capture:", err)
		os.Exit(1)
	}
}

// options is the validated command line.
type options struct {
	listen     string
	httpListen string
	configPath string
	shard      config.Shard
	logLevel   slog.Level
	// TLS of the gRPC port: server certificate and key, and the CAs of
	// client certificates (mutual TLS when set). healthListen serves only
	// gRPC health in plaintext, for probes that cannot speak TLS.
	tlsCert, tlsKey, tlsClientCA string
	healthListen                 string
}

// flags is capture's command line; kong reads each flag's environment
// twin (a flag on the command line wins) and writes --help.
type flags struct {
	Listen       string `default:":50051" env:"CAPTURE_LISTEN" help:"gRPC address."`
	HTTPListen   string `name:"http-listen" default:":9090" env:"CAPTURE_HTTP_LISTEN" help:"HTTP address for /metrics, /healthz and /readyz."`
	Config       string `env:"CAPTURE_CONFIG" placeholder:"FILE" help:"YAML camera file, reloaded when it changes and on SIGHUP; without one, $$OPENCV_CAMERA_SOURCE as camera cam1, else the test cameras test1 and test2."`
	Shard        string `env:"CAPTURE_SHARD" placeholder:"I/N" help:"Own only the cameras whose id hashes to shard i of n (i may be a StatefulSet pod name ending in -i)."`
	LogLevel     string `default:"info" env:"CAPTURE_LOG_LEVEL" help:"debug, info, warn or error."`
	TLSCert      string `name:"tls-cert" env:"CAPTURE_TLS_CERT" placeholder:"FILE" help:"PEM certificate (chain) of the gRPC port; with --tls-key, gRPC is served over TLS."`
	TLSKey       string `name:"tls-key" env:"CAPTURE_TLS_KEY" placeholder:"FILE" help:"PEM private key of --tls-cert."`
	TLSClientCA  string `name:"tls-client-ca" env:"CAPTURE_TLS_CLIENT_CA" placeholder:"FILE" help:"PEM CA certificates; when set, gRPC clients must present a certificate signed by one (mutual TLS)."`
	HealthListen string `name:"health-listen" env:"CAPTURE_HEALTH_LISTEN" placeholder:"ADDR" help:"Plaintext address serving only gRPC health, for probes that cannot speak TLS (like the kubelet's)."`
}

// errHelp is what parseFlags returns after printing --help.
var errHelp = errors.New("help requested")

// parseFlags reads the command line and the environment twins of its
// flags, and validates them. It returns errHelp after printing --help to
// stdout.
func parseFlags(args []string, stdout, stderr io.Writer) (options, error) {
	var f flags
	helped := false
	parser, err := kong.New(&f, kong.Name("capture"),
		kong.Description("Reads cameras with OpenCV, encodes each frame to JPEG once and serves the frames over gRPC."),
		kong.Writers(stdout, stderr), kong.Exit(func(int) { helped = true }))
	if err != nil {
		return options{}, err
	}
	if _, err := parser.Parse(args); helped {
		return options{}, errHelp
	} else if err != nil {
		return options{}, fmt.Errorf("%w (capture takes only flags: see capture --help)", err)
	}
	opts := options{listen: f.Listen, httpListen: f.HTTPListen, configPath: f.Config,
		tlsCert: f.TLSCert, tlsKey: f.TLSKey, tlsClientCA: f.TLSClientCA, healthListen: f.HealthListen}
	if opts.shard, err = config.ParseShard(f.Shard); err != nil {
		return options{}, fmt.Errorf("--shard: %w", err)
	}
	if err := opts.logLevel.UnmarshalText([]byte(f.LogLevel)); err != nil {
		return options{}, fmt.Errorf("--log-level=%q: use debug, info, warn or error", f.LogLevel)
	}
	return opts, nil
}

// run loads the cameras, serves until ctx ends, then shuts down: readiness
// off, streams ended, sources closed. Invalid configuration or a busy port
// returns an error before anything starts.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	opts, err := parseFlags(args, stdout, stderr)
	if errors.Is(err, errHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: opts.logLevel}))
	warnTimeZone(log, getenv("TZ"))

	all, err := config.Load(opts.configPath, config.Env{Getenv: getenv})
	if err != nil {
		return err
	}
	cams := opts.shard.Filter(all)
	creds, err := serverCredentials(opts.tlsCert, opts.tlsKey, opts.tlsClientCA)
	if err != nil {
		return err
	}

	lns, err := listen(opts)
	if err != nil {
		return err
	}
	defer lns.close()
	if err := setFFmpegEnv(getenv); err != nil {
		return err
	}

	var set *camera.Set
	m := metrics.New(func() []camera.Status { return set.Statuses() })
	set = camera.NewSet(cams, camera.Options{Logger: log, Observer: m})
	srvs := newServers(opts, creds, set, m, log)

	camCtx, stopCams := context.WithCancel(context.Background())
	defer stopCams()
	var wg sync.WaitGroup
	wg.Go(func() { set.Run(camCtx) })
	defer startReloader(camCtx, &wg, opts, getenv, log, m, set)()
	serveErr := srvs.serve(&wg, lns)
	logStart(log, opts, lns, creds != nil, cams, len(all))

	select {
	case <-ctx.Done():
	case err = <-serveErr:
	}
	log.Info("capture shutting down")
	if serr := srvs.shutdown(); serr != nil && err == nil {
		err = serr
	}
	stopCams()
	wg.Wait()
	log.Info("capture stopped")
	return err
}

// newReloader reloads the camera file into set, keeping the cameras of
// this shard.
func newReloader(opts options, getenv func(string) string, log *slog.Logger, m *metrics.Metrics, set *camera.Set) *reload.Reloader {
	return reload.New(reload.Options{Path: opts.configPath, Getenv: getenv, Logger: log, Observer: m,
		Apply: func(all []config.Camera) camera.Changes { return set.Apply(opts.shard.Filter(all)) }})
}

// listeners are capture's: gRPC, HTTP, and the optional health port.
type listeners struct {
	grpc, http, health net.Listener
}

// listen opens the listeners opts name; an error names the flag.
func listen(opts options) (listeners, error) {
	var lns listeners
	var err error
	if lns.grpc, err = net.Listen("tcp", opts.listen); err != nil {
		return lns, fmt.Errorf("--listen: %w", err)
	}
	if lns.http, err = net.Listen("tcp", opts.httpListen); err != nil {
		lns.close()
		return lns, fmt.Errorf("--http-listen: %w", err)
	}
	if opts.healthListen != "" {
		if lns.health, err = net.Listen("tcp", opts.healthListen); err != nil {
			lns.close()
			return lns, fmt.Errorf("--health-listen: %w", err)
		}
	}
	return lns, nil
}

func (l listeners) close() {
	for _, ln := range []net.Listener{l.grpc, l.http, l.health} {
		if ln != nil {
			_ = ln.Close()
		}
	}
}

// logStart logs the cameras and where capture listens.
func logStart(log *slog.Logger, opts options, lns listeners, tls bool, cams []config.Camera, configured int) {
	ids := make([]string, len(cams))
	for i, c := range cams {
		ids[i] = c.ID
		log.Info("camera configured", "camera", c.ID, "name", c.Name, "source", c.Source, "sub_source", c.SubSource,
			"fps", c.FPS, "width", c.Width, "quality", c.Quality, "on_demand", c.OnDemand)
	}
	log.Info("capture listening", "grpc", lns.grpc.Addr().String(), "http", lns.http.Addr().String(),
		"tls", tls, "mutual_tls", opts.tlsClientCA != "", "health", addrOf(lns.health),
		"shard", opts.shard.String(), "cameras", ids, "configured", configured)
	if len(cams) == 0 {
		log.Warn("this shard owns none of the configured cameras", "shard", opts.shard.String(), "configured", configured)
	}
}

// addrOf is ln's address, or "" without a listener.
func addrOf(ln net.Listener) string {
	if ln == nil {
		return ""
	}
	return ln.Addr().String()
}

// setFFmpegEnv sets capture's FFmpeg options for OpenCV, which reads them
// when it opens the first stream.
func setFFmpegEnv(getenv func(string) string) error {
	for _, v := range source.FFmpegEnv(getenv) {
		if err := os.Setenv(v.Name, v.Value); err != nil {
			return fmt.Errorf("set %s: %w", v.Name, err)
		}
	}
	return nil
}

// startReloader runs a reloader, when capture has a camera file, until
// ctx ends: it reloads the file when it changes and on SIGHUP. The
// returned func stops SIGHUP's delivery.
func startReloader(ctx context.Context, wg *sync.WaitGroup, opts options, getenv func(string) string,
	log *slog.Logger, m *metrics.Metrics, set *camera.Set) func() {
	if opts.configPath == "" {
		return func() {}
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	r := newReloader(opts, getenv, log, m, set)
	wg.Go(func() { r.Run(ctx, hup) })
	return func() { signal.Stop(hup) }
}

// warnTimeZone logs a warning when tz, the TZ variable, names no time
// zone: Go then keeps UTC, and overlays would print UTC times without a
// word.
func warnTimeZone(log *slog.Logger, tz string) {
	name := strings.TrimPrefix(tz, ":")
	if name == "" || strings.HasPrefix(name, "/") {
		return // unset, or a file path: the C library's forms Go reads itself
	}
	if _, err := time.LoadLocation(name); err != nil {
		log.Warn("TZ names no known time zone: times (overlays, logs) are UTC", "TZ", tz, "error", err)
	}
}
