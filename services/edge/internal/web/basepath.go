package web

import (
	"errors"
	"net/http"
	"strings"
)

// BasePath checks and normalizes a base path: "" or "/" is none; otherwise
// an absolute path of plain segments, returned without a trailing slash.
func BasePath(p string) (string, error) {
	p = strings.TrimRight(p, "/")
	if p == "" {
		return "", nil
	}
	if !strings.HasPrefix(p, "/") {
		return "", errors.New("must start with /, like /cams")
	}
	for _, seg := range strings.Split(p[1:], "/") {
		if seg == "" || seg == "." || seg == ".." {
			return "", errors.New("must be plain path segments, like /cams or /home/cams")
		}
		for _, r := range seg {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-._~", r)) {
				return "", errors.New("may hold only letters, digits and - . _ ~ between its slashes")
			}
		}
	}
	return p, nil
}

// underBasePath serves next both under the base path (a proxy passing
// the path on as it is) and at the root (a proxy stripping the prefix, and
// the kubelet's probes); the pages link under the base path either way.
// The bare base path redirects to itself with a slash; metrics are only
// at the root.
func (s *Server) underBasePath(next http.Handler) http.Handler {
	base := s.cfg.BasePath
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == base {
			u := base + "/"
			if r.URL.RawQuery != "" {
				u += "?" + r.URL.RawQuery
			}
			http.Redirect(w, r, u, http.StatusMovedPermanently)
			return
		}
		if rest, ok := strings.CutPrefix(r.URL.Path, base+"/"); ok {
			if rest == "metrics" {
				// Scraped at the root, inside the cluster; under the
				// base path is the public side, and metrics name
				// every camera.
				http.NotFound(w, r)
				return
			}
			r.URL.Path = "/" + rest
			r.URL.RawPath = strings.TrimPrefix(r.URL.RawPath, base)
		}
		next.ServeHTTP(w, r)
	})
}
