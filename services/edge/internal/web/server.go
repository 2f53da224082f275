// Package web is the edge's HTTP side: MJPEG streams, the pages, the JSON
// API, health and metrics, on gin with its own middleware.
package web

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/camstream/camstream/services/edge/internal/access"
	"github.com/camstream/camstream/services/edge/internal/catalog"
	"github.com/camstream/camstream/services/edge/internal/hub"
	"github.com/camstream/camstream/services/edge/internal/metrics"
	"github.com/camstream/camstream/services/edge/internal/status"
)

//go:embed templates static
var assets embed.FS

// Config configures the HTTP side.
type Config struct {
	// AuthToken, when set, is needed to view anything but health and
	// metrics, and sees every camera.
	AuthToken string
	// Access, when set, returns the access file's current tokens, each of
	// which sees only its cameras.
	Access func() *access.Table
	// BasePath is the path prefix a reverse proxy serves the edge under,
	// like /cams ("" for none); see BasePath.
	BasePath string
	// MaxViewers caps the open streams of this process; 0 means no cap.
	MaxViewers int
	// WriteTimeout bounds a write to a viewer: a write stalled for this
	// long is abandoned and the viewer dropped; any write is given at least
	// half of it. 0 means 10 s.
	WriteTimeout time.Duration
	// Status, when set, holds the cameras' last minutes for /status.
	Status *status.Recorder
	// ListFPS and GridFPS are the frame rates of the list's thumbnails and
	// the grid's tiles; 0 means 5 and 15.
	ListFPS, GridFPS float64
}

// Server serves the edge's routes.
type Server struct {
	log     *slog.Logger
	cfg     Config
	catalog catalog.Catalog
	hub     *hub.Hub
	metrics *metrics.Metrics
	engine  *gin.Engine
	pages   map[string]*template.Template
	static  fs.FS
	version string // of the static assets, for cache busting

	viewers atomic.Int64 // open streams, for MaxViewers

	// streamCtx ends every stream on Drain; streams tracks the handlers,
	// whose hijacked connections http.Server.Shutdown does not wait for.
	streamCtx   context.Context
	stopStreams context.CancelFunc
	mu          sync.Mutex
	draining    bool
	streams     sync.WaitGroup
}

// New builds the server and its routes.
func New(log *slog.Logger, cfg Config, cameras catalog.Catalog, h *hub.Hub, m *metrics.Metrics) (*Server, error) {
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = 10 * time.Second
	}
	if cfg.ListFPS <= 0 {
		cfg.ListFPS = 5
	}
	if cfg.GridFPS <= 0 {
		cfg.GridFPS = 15
	}
	static, err := fs.Sub(assets, "static")
	if err != nil {
		return nil, fmt.Errorf("static assets: %w", err)
	}
	version, err := assetVersion(static)
	if err != nil {
		return nil, err
	}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	s := &Server{log: log, cfg: cfg, catalog: cameras, hub: h, metrics: m, pages: pages, static: static, version: version}
	s.streamCtx, s.stopStreams = context.WithCancel(context.Background())
	s.engine = s.routes()
	return s, nil
}

// assetVersion hashes the static files, so their URLs change when they do
// and browsers may cache them for good.
func assetVersion(static fs.FS) (string, error) {
	sum := sha256.New()
	err := fs.WalkDir(static, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(static, path)
		if err != nil {
			return err
		}
		fmt.Fprintf(sum, "%s %d\n", path, len(b))
		sum.Write(b)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("static assets: %w", err)
	}
	return hex.EncodeToString(sum.Sum(nil))[:12], nil
}

func (s *Server) routes() *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	e.HandleMethodNotAllowed = true
	// gin's trailing-slash redirects know nothing of a base path: under
	// one, such a path is simply not found.
	e.RedirectTrailingSlash = s.cfg.BasePath == ""
	_ = e.SetTrustedProxies(nil) // the client is the peer, not a header
	e.Use(s.recovery, s.accessLog, securityHeaders, s.limitRequest)

	e.GET("/healthz", func(c *gin.Context) { c.String(http.StatusOK, "ok\n") })
	e.GET("/readyz", s.readyz)
	e.GET("/metrics", gin.WrapH(s.metrics.Handler()))
	e.GET("/static/*file", s.staticFile)
	e.HEAD("/static/*file", s.staticFile)

	view := e.Group("/", s.auth)
	view.GET("/", s.listPage)
	view.GET("/grid", s.gridPage)
	view.GET("/cameras/:id", s.cameraPage)
	view.GET("/cameras/:id/stream.mjpeg", s.cameraStream)
	view.GET("/cameras/:id/snapshot.jpg", s.snapshot)
	view.GET("/streams.mjpeg", s.multiStream)
	view.GET("/api/cameras", s.apiCameras)
	view.GET("/status", s.statusPage)
	view.GET("/api/status", s.apiStatus)
	view.GET("/cam", s.seedPage)
	view.GET("/video_feed", s.seedStream)

	e.NoRoute(func(c *gin.Context) { s.fail(c, http.StatusNotFound, "There is no page at this address.") })
	e.NoMethod(func(c *gin.Context) { s.fail(c, http.StatusMethodNotAllowed, "This address only answers GET.") })
	return e
}

// Handler is the server's http.Handler.
func (s *Server) Handler() http.Handler {
	if s.cfg.BasePath == "" {
		return s.engine
	}
	return s.underBasePath(s.engine)
}

// Drain turns readiness off and ends every stream; new streams are refused.
func (s *Server) Drain() {
	s.mu.Lock()
	s.draining = true
	s.mu.Unlock()
	s.stopStreams()
}

// Wait waits for the stream handlers to return after Drain.
func (s *Server) Wait() { s.streams.Wait() }

// beginStream registers a stream handler; false while draining.
func (s *Server) beginStream() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.draining {
		return false
	}
	s.streams.Add(1)
	return true
}

func (s *Server) isDraining() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.draining
}

func (s *Server) readyz(c *gin.Context) {
	switch {
	case s.isDraining():
		c.String(http.StatusServiceUnavailable, "shutting down\n")
	case !s.catalog.Ready():
		c.String(http.StatusServiceUnavailable, "no capture service answers\n")
	default:
		c.String(http.StatusOK, "ready\n")
	}
}

func (s *Server) staticFile(c *gin.Context) {
	if c.Query("v") == s.version {
		c.Header("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		c.Header("Cache-Control", "no-cache")
	}
	c.FileFromFS(c.Param("file"), http.FS(s.static))
}
