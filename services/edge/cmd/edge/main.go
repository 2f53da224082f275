// Command edge serves camera streams from capture services to browsers:
// MJPEG streams, the camera pages, a JSON API, health and metrics.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/alecthomas/kong"

	"github.com/camstream/camstream/services/edge/internal/hub"
	"github.com/camstream/camstream/services/edge/internal/metrics"
	"github.com/camstream/camstream/services/edge/internal/status"
	"github.com/camstream/camstream/services/edge/internal/upstream"
	"github.com/camstream/camstream/services/edge/internal/web"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "edge:", err)
		os.Exit(1)
	}
}

// config is the validated command line.
type config struct {
	listen     string
	targets    []string
	authToken  string
	maxViewers int
	logLevel   slog.Level
	grace      time.Duration
	// TLS to capture: on, the CA of the captures' certificates, and the
	// edge's client certificate and key for mutual TLS.
	captureTLS                         bool
	captureCA, captureCert, captureKey string
	// HTTPS: the edge's certificate and key; both empty for plain HTTP.
	tlsCert, tlsKey string
	writeTimeout    time.Duration
	accessFile      string
	basePath        string
}

// flags is the edge's command line; kong reads each flag's environment
// twin (a flag on the command line wins) and writes --help.
type flags struct {
	Listen        string        `default:":8080" env:"EDGE_LISTEN" help:"HTTP address."`
	Capture       string        `default:"localhost:50051" env:"EDGE_CAPTURE" help:"Comma-separated capture gRPC targets; dns:///name:port expands to every address of name."`
	AuthToken     string        `name:"auth-token" env:"EDGE_AUTH_TOKEN" placeholder:"TOKEN" help:"When set, viewing needs this token as Bearer token, Basic password or ?token=."`
	MaxViewers    int           `name:"max-viewers" default:"0" env:"EDGE_MAX_VIEWERS" help:"Most open streams; beyond it new viewers get 503 (0: no limit)."`
	LogLevel      string        `name:"log-level" default:"info" env:"EDGE_LOG_LEVEL" help:"debug, info, warn or error."`
	UpstreamGrace time.Duration `name:"upstream-grace" default:"5s" env:"EDGE_UPSTREAM_GRACE" help:"How long a camera's upstream stays open after its last viewer leaves."`
	CaptureTLS    bool          `name:"capture-tls" env:"EDGE_CAPTURE_TLS" help:"Connect to capture over TLS; implied by any of the three flags below."`
	CaptureCA     string        `name:"capture-ca" env:"EDGE_CAPTURE_CA" placeholder:"FILE" help:"PEM CA certificates that sign capture's certificate; empty: the system's."`
	CaptureCert   string        `name:"capture-cert" env:"EDGE_CAPTURE_CERT" placeholder:"FILE" help:"PEM client certificate presented to capture, for mutual TLS."`
	CaptureKey    string        `name:"capture-key" env:"EDGE_CAPTURE_KEY" placeholder:"FILE" help:"PEM private key of --capture-cert."`
	TLSCert       string        `name:"tls-cert" env:"EDGE_TLS_CERT" placeholder:"FILE" help:"PEM certificate (chain) to serve HTTPS with, HTTP/2 and HTTP/1.1; read again when the file changes."`
	TLSKey        string        `name:"tls-key" env:"EDGE_TLS_KEY" placeholder:"FILE" help:"PEM private key of --tls-cert."`
	BasePath      string        `name:"base-path" env:"EDGE_BASE_PATH" placeholder:"PATH" help:"Path prefix a reverse proxy serves the edge under, like /cams; pages link under it."`
	AccessFile    string        `name:"access-file" env:"EDGE_ACCESS_FILE" placeholder:"FILE" help:"YAML of named tokens (SHA-256 hashes), each with the cameras it may see; read again when it changes."`
	WriteTimeout  time.Duration `name:"write-timeout" default:"10s" env:"EDGE_WRITE_TIMEOUT" help:"A viewer whose write stalls this long is dropped."`
}

// errHelp is what parseFlags returns after printing --help.
var errHelp = errors.New("help requested")

// parseFlags reads the command line and the environment twins of its
// flags, and validates them. It returns errHelp after printing --help to
// stdout.
func parseFlags(args []string, stdout, stderr io.Writer) (config, error) {
	var f flags
	helped := false
	parser, err := kong.New(&f, kong.Name("edge"),
		kong.Description("Serves camera streams from capture services to browsers."),
		kong.Writers(stdout, stderr), kong.Exit(func(int) { helped = true }))
	if err != nil {
		return config{}, err
	}
	if _, err := parser.Parse(args); helped {
		return config{}, errHelp
	} else if err != nil {
		return config{}, fmt.Errorf("%w (edge takes only flags: see edge --help)", err)
	}
	cfg := config{listen: f.Listen, authToken: f.AuthToken, maxViewers: f.MaxViewers, grace: f.UpstreamGrace,
		captureTLS: f.CaptureTLS, captureCA: f.CaptureCA, captureCert: f.CaptureCert, captureKey: f.CaptureKey,
		tlsCert: f.TLSCert, tlsKey: f.TLSKey, writeTimeout: f.WriteTimeout, accessFile: f.AccessFile}
	if cfg.basePath, err = web.BasePath(f.BasePath); err != nil {
		return config{}, fmt.Errorf("--base-path=%q: %w", f.BasePath, err)
	}
	for _, t := range strings.Split(f.Capture, ",") {
		if t = strings.TrimSpace(t); t != "" {
			cfg.targets = append(cfg.targets, t)
		}
	}
	if len(cfg.targets) == 0 {
		return config{}, errors.New("--capture is empty: give at least one capture target, like localhost:50051")
	}
	if cfg.maxViewers < 0 {
		return config{}, fmt.Errorf("--max-viewers=%d: use 0 for no limit or a positive number", cfg.maxViewers)
	}
	if cfg.grace < 0 {
		return config{}, fmt.Errorf("--upstream-grace=%v: must not be negative", cfg.grace)
	}
	if cfg.writeTimeout <= 0 {
		return config{}, fmt.Errorf("--write-timeout=%v: must be above 0, like 10s", cfg.writeTimeout)
	}
	if err := cfg.logLevel.UnmarshalText([]byte(f.LogLevel)); err != nil {
		return config{}, fmt.Errorf("--log-level=%q: use debug, info, warn or error", f.LogLevel)
	}
	return cfg, nil
}

// run serves until ctx ends, then shuts down gracefully: readiness off,
// streams ended, in-flight requests finished.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseFlags(args, stdout, stderr)
	if errors.Is(err, errHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: cfg.logLevel}))

	tlsConfig, err := captureTLS(cfg.captureTLS, cfg.captureCA, cfg.captureCert, cfg.captureKey)
	if err != nil {
		return err
	}
	webCfg, serveTLS, err := webConfig(log, cfg)
	if err != nil {
		return err
	}
	m := metrics.New()
	m.MaxViewers.Set(float64(cfg.maxViewers))
	pool, err := upstream.New(log.With("component", "upstream"), upstream.Config{Targets: cfg.targets, TLS: tlsConfig, Metrics: m})
	if err != nil {
		return err
	}
	defer pool.Close()
	frames := hub.New(log.With("component", "hub"), pool.Stream, cfg.grace)
	defer frames.Close()
	recorder := status.New(m, pool)
	webCfg.Status = recorder
	srv, err := web.New(log.With("component", "web"), webCfg, pool, frames, m)
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", cfg.listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.listen, err)
	}
	httpServer := newHTTPServer(srv.Handler(), log)
	httpServer.TLSConfig = serveTLS

	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	var wg sync.WaitGroup
	wg.Go(func() { pool.Run(runCtx) })
	wg.Go(func() { recorder.Run(runCtx) })
	serveErr, scheme := serve(&wg, httpServer, ln)
	logListening(log, cfg, ln.Addr(), scheme, tlsConfig != nil)

	err = stopWhenDone(ctx, log, serveErr, srv, httpServer)
	stopRun()
	wg.Wait()
	log.Info("edge stopped")
	return err
}

// stopWhenDone waits until ctx ends or the server fails, then shuts the
// server down: readiness off, streams ended, requests finished.
func stopWhenDone(ctx context.Context, log *slog.Logger, serveErr <-chan error, srv *web.Server, httpServer *http.Server) error {
	var err error
	select {
	case <-ctx.Done():
	case err = <-serveErr:
		err = fmt.Errorf("serve: %w", err)
	}
	log.Info("edge shutting down")
	if serr := shutdown(srv, httpServer); serr != nil && err == nil {
		err = serr
	}
	return err
}

// logListening says where the edge serves and how.
func logListening(log *slog.Logger, cfg config, addr net.Addr, scheme string, captureTLS bool) {
	log.Info("edge listening", "addr", addr.String(), "url", scheme+"://"+displayAddr(addr)+cfg.basePath+"/", "capture", cfg.targets,
		"capture_tls", captureTLS, "capture_mutual_tls", cfg.captureCert != "", "auth", cfg.authToken != "", "access_file", cfg.accessFile)
}

// webConfig is the configuration of the edge's HTTP side: the web
// server's, and its TLS (nil for plain HTTP).
func webConfig(log *slog.Logger, cfg config) (web.Config, *tls.Config, error) {
	serveTLS, err := servingTLS(log.With("component", "tls"), cfg.tlsCert, cfg.tlsKey)
	if err != nil {
		return web.Config{}, nil, err
	}
	webCfg := web.Config{AuthToken: cfg.authToken, MaxViewers: cfg.maxViewers, WriteTimeout: cfg.writeTimeout, BasePath: cfg.basePath}
	if webCfg.Access, err = accessTable(log.With("component", "access"), cfg.accessFile); err != nil {
		return web.Config{}, nil, err
	}
	return webCfg, serveTLS, nil
}

// newHTTPServer is the edge's http.Server around handler.
func newHTTPServer(handler http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		// Request line and headers: plenty for a browser, and a bound for
		// anyone sending more (431). The query alone is capped lower.
		MaxHeaderBytes: 16 << 10,
		IdleTimeout:    2 * time.Minute,
		Protocols:      protocols(),
		ErrorLog:       slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		// No WriteTimeout: streams are long; each write has its own deadline.
	}
}

// serve serves on ln in a goroutine of wg, over TLS when the server has a
// TLS configuration; it returns where Serve's error goes and the scheme.
func serve(wg *sync.WaitGroup, httpServer *http.Server, ln net.Listener) (<-chan error, string) {
	serveErr := make(chan error, 1)
	if httpServer.TLSConfig != nil {
		wg.Go(func() { serveErr <- httpServer.ServeTLS(ln, "", "") })
		return serveErr, "https"
	}
	wg.Go(func() { serveErr <- httpServer.Serve(ln) })
	return serveErr, "http"
}

// shutdown turns readiness off and ends the streams, then lets other
// requests finish for a few seconds: the edge exits well within a pod's
// 5 s of grace.
func shutdown(srv *web.Server, httpServer *http.Server) error {
	srv.Drain()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	err := httpServer.Shutdown(ctx)
	srv.Wait()
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// displayAddr makes a listening address something to paste in a browser.
func displayAddr(addr net.Addr) string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok || tcp.IP.IsUnspecified() {
		port := ""
		if ok {
			port = strconv.Itoa(tcp.Port)
		}
		return "localhost:" + port
	}
	return tcp.String()
}
