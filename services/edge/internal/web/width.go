package web

import (
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/camstream/camstream/services/edge/internal/size"
)

// widthParam parses ?width=N, snapped down to the ladder, writing a 400
// page when it is bad. 0 (no ?width) means the full size.
func (s *Server) widthParam(c *gin.Context) (int, bool) {
	v, set := c.GetQuery("width")
	if !set {
		return 0, true
	}
	w, err := size.Parse(v)
	if err != nil {
		s.fail(c, http.StatusBadRequest, fmt.Sprintf("%v.", err))
		return 0, false
	}
	return w, true
}

// feedKeys returns the feed of each camera at ladder width w: the full
// size for a camera whose own width is not above w, so that every edge
// asks capture for the same few sizes.
func (s *Server) feedKeys(ids []string, w int) []string {
	keys := make([]string, len(ids))
	full := make(map[string]int)
	if w > 0 {
		if cams, err := s.catalog.Cameras(); err == nil {
			for _, c := range cams {
				full[c.GetId()] = int(c.GetWidth())
			}
		}
	}
	for i, id := range ids {
		keys[i] = size.Key(id, size.For(w, full[id]))
	}
	return keys
}
