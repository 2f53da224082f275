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

	"github.com/camstream/camstream/services/edge/internal/access"
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

// grantKey is where auth leaves the request's access.Grant.
const grantKey = "camstream.grant"

// authOn reports whether viewing needs a token.
func (s *Server) authOn() bool { return s.cfg.AuthToken != "" || s.cfg.Access != nil }

// auth lets a request through when no token is configured, or when it
// carries a known token as a Bearer token, a Basic password (any user name)
// or the token query parameter (for <img> tags and shared links), and
// records which cameras it may see. A wrong token is logged, never the
// token itself.
func (s *Server) auth(c *gin.Context) {
	if !s.authOn() {
		c.Set(grantKey, access.All)
		c.Next()
		return
	}
	tok, via := requestToken(c.Request)
	if tok != "" {
		if g, ok := s.grantOf(tok); ok {
			c.Set(grantKey, g)
			c.Next()
			return
		}
		s.log.Warn("wrong token", "via", via, "method", c.Request.Method, "path", c.Request.URL.Path, "remote", c.Request.RemoteAddr)
	}
	c.Header("WWW-Authenticate", `Basic realm="camstream", charset="UTF-8"`)
	s.fail(c, http.StatusUnauthorized, "This camstream needs a token: sign in with any user name and the token as password, or add ?token=… to the address.")
}

// requestToken is the token a request carries and how: "query", "bearer"
// or "basic"; "" when it carries none.
func requestToken(r *http.Request) (tok, via string) {
	if t := r.URL.Query().Get("token"); t != "" {
		return t, "query"
	}
	if t, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return strings.TrimSpace(t), "bearer"
	}
	if _, password, ok := r.BasicAuth(); ok {
		return password, "basic"
	}
	return "", ""
}

// grantOf is what a token may see: every camera for --auth-token, its own
// cameras for a token of the access file.
func (s *Server) grantOf(tok string) (access.Grant, bool) {
	if s.cfg.AuthToken != "" && s.tokenMatches(tok) {
		return access.All, true
	}
	if s.cfg.Access != nil {
		return s.cfg.Access().Lookup(tok)
	}
	return access.Grant{}, false
}

// grant is the request's grant, as auth left it; without one, nothing.
func grant(c *gin.Context) access.Grant {
	g, _ := c.Get(grantKey)
	v, _ := g.(access.Grant)
	return v
}

// tokenMatches compares in constant time; hashing first also hides the
// token's length.
func (s *Server) tokenMatches(got string) bool {
	a := sha256.Sum256([]byte(got))
	b := sha256.Sum256([]byte(s.cfg.AuthToken))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}
