package web

import (
	"crypto/sha256"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
)

// recovery turns a panic into a 500 page and a log line; the client never
// sees a stack trace.
func (s *Server) recovery(c *gin.Context) {
	defer func() {
		v := recover()
		if v == nil {
			return
		}
		if v == http.ErrAbortHandler {
			c.Abort()
			return
		}
		s.log.Error("panic serving request", "method", c.Request.Method, "path", c.Request.URL.Path, "panic", v, "stack", string(debug.Stack()))
		if !c.Writer.Written() {
			s.fail(c, http.StatusInternalServerError, "Something went wrong on our side.")
		}
		c.Abort()
	}()
	c.Next()
}

// accessLog logs every request once it is done: its path without the query
// (which may carry the auth token), status, size and duration. Probes and
// scrapes log at debug level.
func (s *Server) accessLog(c *gin.Context) {
	start := time.Now()
	c.Next()
	level := slog.LevelInfo
	switch c.Request.URL.Path {
	case "/healthz", "/readyz", "/metrics":
		level = slog.LevelDebug
	}
	s.log.Log(c.Request.Context(), level, "http request",
		"method", c.Request.Method,
		"path", c.Request.URL.Path,
		"status", c.Writer.Status(),
		"bytes", max(c.Writer.Size(), 0),
		"duration", time.Since(start).Round(time.Microsecond).String(),
		"remote", c.Request.RemoteAddr,
	)
}

// MaxQueryBytes caps a request's query string; the edge's http.Server
// caps the request line and headers as a whole (MaxHeaderBytes).
const MaxQueryBytes = 4 << 10

// limitRequest refuses a query longer than MaxQueryBytes before any
// handler parses it.
func (s *Server) limitRequest(c *gin.Context) {
	if len(c.Request.URL.RawQuery) > MaxQueryBytes {
		s.fail(c, http.StatusRequestURITooLong, "This address is too long.")
		return
	}
	c.Next()
}

// contentSecurityPolicy allows only the page's own scripts, styles and
// images (and blob: images, which the live tiles are made of).
const contentSecurityPolicy = "default-src 'none'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'; " +
	"connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

func securityHeaders(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	c.Next()
}

// auth lets a request through when no token is configured, or when it
// carries the token as a Bearer token, a Basic password (any user name) or
// the token query parameter (for <img> tags and shared links).
func (s *Server) auth(c *gin.Context) {
	if s.cfg.AuthToken == "" || s.authorized(c.Request) {
		c.Next()
		return
	}
	c.Header("WWW-Authenticate", `Basic realm="camstream", charset="UTF-8"`)
	s.fail(c, http.StatusUnauthorized, "This camstream needs a token: sign in with any user name and the token as password, or add ?token=… to the address.")
}

func (s *Server) authorized(r *http.Request) bool {
	if t := r.URL.Query().Get("token"); t != "" {
		return s.tokenMatches(t)
	}
	h := r.Header.Get("Authorization")
	if t, ok := strings.CutPrefix(h, "Bearer "); ok {
		return s.tokenMatches(strings.TrimSpace(t))
	}
	if _, password, ok := r.BasicAuth(); ok {
		return s.tokenMatches(password)
	}
	return false
}

// tokenMatches compares in constant time; hashing first also hides the
// token's length.
func (s *Server) tokenMatches(got string) bool {
	a := sha256.Sum256([]byte(got))
	b := sha256.Sum256([]byte(s.cfg.AuthToken))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}
